#include "store/series_store.h"

#include <algorithm>
#include <cmath>
#include <limits>
#include <memory>

namespace hotspotd::store {

// Timestamps of a group's points in one tier; seq numbers every point the tier ever held.
struct SeriesStore::Timeline {
  std::deque<std::int64_t> ts;
  std::uint64_t base_seq = 0;  // seq of ts.front()
  std::uint64_t nextSeq() const { return base_seq + ts.size(); }
  std::int64_t at(std::uint64_t seq) const { return ts[seq - base_seq]; }
};

struct SeriesStore::Series {
  std::uint64_t hash = 0;
  std::unique_ptr<std::uint32_t[]> labels;  // (name, value) symbol pairs, sorted by label name
  double bound = 0;
  double offset = 0;  // reset adjustment: stored value = raw value + offset
  std::int64_t last_seen_ms = 0;
  std::uint64_t staged_commit = 0;
  std::uint64_t start_seq[2] = {0, 0};
  ValueRing ring[2];
  std::uint32_t name = 0;
  GroupId group = kNoId;  // kNoId: a free slot
  std::uint32_t generation = 0;
  SeriesId next_same = kNoId;
  HistogramId histogram = kNoId;
  SeriesRole role = SeriesRole::gauge;
  std::uint8_t label_count = 0;
  bool in_layout = false;
};

struct SeriesStore::Histogram {
  std::uint64_t hash = 0;
  std::unique_ptr<std::uint32_t[]> labels;
  std::vector<double> bounds;
  std::vector<SeriesId> buckets;
  std::vector<SeriesId> members;
  std::int64_t layout_since_ms = 0;
  std::uint64_t seen_commit = 0;
  std::uint64_t reset_commit = 0;
  GroupId group = kNoId;
  std::uint32_t name = 0;
  std::uint32_t generation = 0;
  SeriesId sum = kNoId;
  SeriesId count = kNoId;
  HistogramId next_same = kNoId;
  std::uint32_t seen_buckets = 0;
  std::uint8_t label_count = 0;
  bool seen_outside_layout = false;
};

struct SeriesStore::Group {
  std::string name;
  bool alive = true;
  Timeline tl[2];
  std::uint64_t commits = 0;
  std::vector<SeriesId> members;
  std::int64_t last_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t last_coarse_bucket = std::numeric_limits<std::int64_t>::min();
};

namespace {

bool isCumulative(SeriesRole role) { return role != SeriesRole::gauge; }

}  // namespace

SeriesStore::SeriesStore(StoreConfig config) : config_(config) {}
SeriesStore::~SeriesStore() = default;

GroupId SeriesStore::addGroup(std::string name) {
  for (GroupId g = 0; g < groups_.size(); ++g) {
    if (!groups_[g].alive) {
      groups_[g] = Group{};
      groups_[g].name = std::move(name);
      return g;
    }
  }
  groups_.emplace_back();
  groups_.back().name = std::move(name);
  return static_cast<GroupId>(groups_.size() - 1);
}

void SeriesStore::removeGroup(GroupId group) {
  Group& g = groups_[group];
  const auto members = std::move(g.members);
  for (SeriesId id : members) dropSeries(id);
  g = Group{};
  g.alive = false;
}

std::uint64_t SeriesStore::identityHash(std::string_view name, LabelPairs& sorted) const {
  std::sort(sorted.begin(), sorted.end());
  hash_buf_.clear();
  hash_buf_.append(name);
  for (const auto& [n, v] : sorted) {
    hash_buf_ += '\xff';
    hash_buf_.append(n);
    hash_buf_ += '\xfe';
    hash_buf_.append(v);
  }
  return std::hash<std::string_view>{}(hash_buf_);
}

SeriesRef SeriesStore::resolve(GroupId group, const SeriesDesc& desc) {
  LabelPairs sorted = desc.labels;
  const std::uint64_t h = identityHash(desc.name, sorted) ^ (static_cast<std::uint64_t>(group) * 0x9E3779B97F4A7C15ULL);
  const std::uint32_t first = series_index_.find(h);
  for (SeriesId id = first; id != kNoId; id = series_[id].next_same) {
    const Series& s = series_[id];
    if (s.group != group || symbols_.str(s.name) != desc.name || s.label_count != sorted.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < sorted.size() && same; ++i) {
      same = symbols_.str(s.labels[2 * i]) == sorted[i].first && symbols_.str(s.labels[2 * i + 1]) == sorted[i].second;
    }
    if (same) return SeriesRef{id, s.generation};
  }

  SeriesId id;
  if (!free_series_.empty()) {
    id = free_series_.back();
    free_series_.pop_back();
  } else {
    id = static_cast<SeriesId>(series_.size());
    series_.emplace_back();
  }
  Series& s = series_[id];
  Group& g = groups_[group];
  const std::uint32_t generation = s.generation + 1;
  s = Series{};
  s.generation = generation;
  s.hash = h;
  s.group = group;
  s.name = symbols_.intern(desc.name);
  s.role = desc.role;
  s.bound = desc.bound;
  s.label_count = static_cast<std::uint8_t>(std::min<std::size_t>(sorted.size(), 255));
  s.labels = std::make_unique<std::uint32_t[]>(2 * s.label_count);
  for (std::size_t i = 0; i < s.label_count; ++i) {
    s.labels[2 * i] = symbols_.intern(sorted[i].first);
    s.labels[2 * i + 1] = symbols_.intern(sorted[i].second);
  }
  s.start_seq[0] = g.tl[0].nextSeq();
  s.start_seq[1] = g.tl[1].nextSeq();
  s.last_seen_ms = g.last_ms == std::numeric_limits<std::int64_t>::min() ? 0 : g.last_ms;
  s.next_same = first;
  series_index_.put(h, id);
  g.members.push_back(id);
  ++live_series_;
  if (!desc.histogram.empty()) {
    const HistogramId hid = resolveHistogram(group, desc, sorted);
    Histogram& hist = histograms_[hid];
    series_[id].histogram = hid;
    hist.members.push_back(id);
    if (desc.role == SeriesRole::sum) hist.sum = id;
    if (desc.role == SeriesRole::count) hist.count = id;
  }
  return SeriesRef{id, generation};
}

HistogramId SeriesStore::resolveHistogram(GroupId group, const SeriesDesc& desc, const LabelPairs& sorted) {
  LabelPairs without_le;
  without_le.reserve(sorted.size());
  for (const auto& l : sorted) {
    if (l.first != "le") without_le.push_back(l);
  }
  const std::uint64_t h =
      identityHash(desc.histogram, without_le) ^ (static_cast<std::uint64_t>(group) * 0xC2B2AE3D27D4EB4FULL);
  const HistogramId first = histogram_index_.find(h);
  for (HistogramId id = first; id != kNoId; id = histograms_[id].next_same) {
    const Histogram& x = histograms_[id];
    if (x.group != group || symbols_.str(x.name) != desc.histogram || x.label_count != without_le.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < without_le.size() && same; ++i) {
      same = symbols_.str(x.labels[2 * i]) == without_le[i].first &&
             symbols_.str(x.labels[2 * i + 1]) == without_le[i].second;
    }
    if (same) return id;
  }
  HistogramId id;
  if (!free_histograms_.empty()) {
    id = free_histograms_.back();
    free_histograms_.pop_back();
  } else {
    id = static_cast<HistogramId>(histograms_.size());
    histograms_.emplace_back();
  }
  Histogram& x = histograms_[id];
  x = Histogram{};
  x.hash = h;
  x.group = group;
  x.name = symbols_.intern(desc.histogram);
  x.label_count = static_cast<std::uint8_t>(std::min<std::size_t>(without_le.size(), 255));
  x.labels = std::make_unique<std::uint32_t[]>(2 * x.label_count);
  for (std::size_t i = 0; i < x.label_count; ++i) {
    x.labels[2 * i] = symbols_.intern(without_le[i].first);
    x.labels[2 * i + 1] = symbols_.intern(without_le[i].second);
  }
  x.next_same = first;
  histogram_index_.put(h, id);
  ++live_histograms_;
  return id;
}

bool SeriesStore::valid(SeriesRef ref) const {
  return ref.id < series_.size() && series_[ref.id].group != kNoId && series_[ref.id].generation == ref.generation;
}

HistogramId SeriesStore::histogramOf(SeriesRef ref) const { return valid(ref) ? series_[ref.id].histogram : kNoId; }

bool SeriesStore::isInfBucket(SeriesRef ref) const {
  if (!valid(ref)) return false;
  const Series& s = series_[ref.id];
  return s.role == SeriesRole::bucket && std::isinf(s.bound) && s.bound > 0;
}

void SeriesStore::dropSeries(SeriesId id) {
  Series& s = series_[id];
  if (s.group == kNoId) return;
  // Unlink from the identity chain.
  const std::uint32_t head = series_index_.find(s.hash);
  if (head == id) {
    if (s.next_same == kNoId) {
      series_index_.erase(s.hash);
    } else {
      series_index_.put(s.hash, s.next_same);
    }
  } else {
    for (SeriesId p = head; p != kNoId; p = series_[p].next_same) {
      if (series_[p].next_same == id) {
        series_[p].next_same = s.next_same;
        break;
      }
    }
  }
  if (s.histogram != kNoId) {
    Histogram& h = histograms_[s.histogram];
    std::erase(h.members, id);
    std::erase(h.buckets, id);
    if (h.sum == id) h.sum = kNoId;
    if (h.count == id) h.count = kNoId;
    if (h.members.empty()) {
      const HistogramId hid = s.histogram;
      const std::uint32_t hhead = histogram_index_.find(h.hash);
      if (hhead == hid) {
        if (h.next_same == kNoId) {
          histogram_index_.erase(h.hash);
        } else {
          histogram_index_.put(h.hash, h.next_same);
        }
      } else {
        for (HistogramId p = hhead; p != kNoId; p = histograms_[p].next_same) {
          if (histograms_[p].next_same == hid) {
            histograms_[p].next_same = h.next_same;
            break;
          }
        }
      }
      h = Histogram{};
      free_histograms_.push_back(hid);
      --live_histograms_;
    } else {
      // The layout lost a bucket: the next commit starts a new generation.
      h.bounds.clear();
    }
  }
  const std::uint32_t generation = s.generation;
  s = Series{};
  s.generation = generation;
  free_series_.push_back(id);
  --live_series_;
}

void SeriesStore::rebuildLayout(Histogram& h, std::int64_t t_ms) {
  for (SeriesId b : h.buckets) series_[b].in_layout = false;
  h.buckets.clear();
  for (SeriesId m : h.members) {
    const Series& s = series_[m];
    if (s.role == SeriesRole::bucket && s.staged_commit == h.seen_commit) h.buckets.push_back(m);
  }
  std::sort(h.buckets.begin(), h.buckets.end(),
            [&](SeriesId a, SeriesId b) { return series_[a].bound < series_[b].bound; });
  h.bounds.clear();
  for (SeriesId b : h.buckets) {
    h.bounds.push_back(series_[b].bound);
    series_[b].in_layout = true;
  }
  ++h.generation;
  h.layout_since_ms = t_ms;
}

CommitStats SeriesStore::commit(GroupId group, std::int64_t t_ms, std::span<const StagedSample> batch) {
  CommitStats stats;
  Group& g = groups_[group];
  const std::uint64_t commit_no = ++g.commits;

  // The timeline first: this commit's point in tier 0, and in tier 1 when it opens a new coarse step.
  const std::int64_t step = std::max<std::int64_t>(1, config_.coarse_step.count());
  const std::int64_t bucket = t_ms >= 0 ? t_ms / step : (t_ms - step + 1) / step;
  const bool coarse = bucket != g.last_coarse_bucket;
  g.tl[0].ts.push_back(t_ms);
  if (coarse) {
    g.tl[1].ts.push_back(t_ms);
    g.last_coarse_bucket = bucket;
  }
  g.last_ms = t_ms;
  const std::int64_t keep[2] = {t_ms - config_.full_resolution.count(), t_ms - config_.retention.count()};
  for (int k = 0; k < 2; ++k) {
    Timeline& tl = g.tl[k];
    while (tl.ts.size() > 1 && tl.ts.front() < keep[k]) {
      tl.ts.pop_front();
      ++tl.base_seq;
    }
  }

  // Stage: drop duplicates, find resets. A histogram resets as a whole.
  for (const StagedSample& sample : batch) {
    if (!valid(sample.ref)) continue;
    Series& s = series_[sample.ref.id];
    if (s.group != group) continue;
    if (s.staged_commit == commit_no) {
      ++stats.duplicates;
      continue;
    }
    s.staged_commit = commit_no;
    if (s.histogram != kNoId) {
      Histogram& h = histograms_[s.histogram];
      if (h.seen_commit != commit_no) {
        h.seen_commit = commit_no;
        h.seen_buckets = 0;
        h.seen_outside_layout = false;
      }
      if (s.role == SeriesRole::bucket) {
        ++h.seen_buckets;
        h.seen_outside_layout |= !s.in_layout;
      }
    }
    if (isCumulative(s.role)) {
      const auto last = s.ring[0].lastValue();
      if (last && sample.value < *last - s.offset) {
        if (s.histogram != kNoId) {
          histograms_[s.histogram].reset_commit = commit_no;
        } else {
          s.offset = *last;
          ++stats.resets;
        }
      }
    }
  }
  // Whole-histogram resets: every member continues from its last stored value.
  for (const StagedSample& sample : batch) {
    if (!valid(sample.ref)) continue;
    Series& s = series_[sample.ref.id];
    if (s.histogram == kNoId) continue;
    Histogram& h = histograms_[s.histogram];
    if (h.reset_commit != commit_no) continue;
    h.reset_commit = 0;  // once per histogram
    ++stats.resets;
    for (SeriesId m : h.members) {
      Series& ms = series_[m];
      if (auto last = ms.ring[0].lastValue()) ms.offset = *last;
    }
  }

  // Append values, then "no value" for members not in the batch; trim both rings to the timeline.
  auto trim = [&](Series& s) {
    for (int k = 0; k < 2; ++k) {
      const Timeline& tl = g.tl[k];
      if (s.start_seq[k] < tl.base_seq) {
        const std::uint64_t drop = std::min<std::uint64_t>(tl.base_seq - s.start_seq[k], s.ring[k].count());
        for (std::uint64_t i = 0; i < drop; ++i) s.ring[k].dropFront();
        s.start_seq[k] = tl.base_seq;
      }
    }
  };
  for (const StagedSample& sample : batch) {
    if (!valid(sample.ref)) continue;
    Series& s = series_[sample.ref.id];
    if (s.group != group || s.staged_commit != commit_no || s.last_seen_ms == t_ms + 1) continue;
    const double stored = isCumulative(s.role) ? sample.value + s.offset : sample.value;
    s.ring[0].append(stored);
    if (coarse) s.ring[1].append(stored);
    s.last_seen_ms = t_ms + 1;  // marks "appended in this commit"; set to t_ms below
    ++stats.appended;
  }
  for (std::size_t i = 0; i < g.members.size();) {
    const SeriesId id = g.members[i];
    Series& s = series_[id];
    if (s.last_seen_ms == t_ms + 1) {
      s.last_seen_ms = t_ms;
    } else {
      if (t_ms - s.last_seen_ms > config_.staleness.count()) {
        g.members[i] = g.members.back();
        g.members.pop_back();
        dropSeries(id);
        ++stats.stale_dropped;
        continue;
      }
      s.ring[0].appendMissing();
      if (coarse) s.ring[1].appendMissing();
    }
    trim(s);
    ++i;
  }

  // Layout: a histogram whose buckets this commit differ from its layout starts a new generation.
  for (const StagedSample& sample : batch) {
    if (!valid(sample.ref)) continue;
    const Series& s = series_[sample.ref.id];
    if (s.histogram == kNoId || s.role != SeriesRole::bucket) continue;
    Histogram& h = histograms_[s.histogram];
    if (h.seen_commit != commit_no) continue;
    if (h.seen_outside_layout || h.seen_buckets != h.buckets.size() || h.bounds.size() != h.buckets.size()) {
      rebuildLayout(h, t_ms);
    }
    h.seen_buckets = static_cast<std::uint32_t>(h.buckets.size());  // checked once per commit
    h.seen_outside_layout = false;
  }
  return stats;
}

const SeriesStore::Timeline* SeriesStore::timelineFor(const Series& s, std::int64_t t_ms, int& tier) const {
  const Group& g = groups_[s.group];
  if (!g.tl[0].ts.empty() && t_ms >= g.tl[0].ts.front() && s.ring[0].count() > 0) {
    tier = 0;
    return &g.tl[0];
  }
  tier = 1;
  return &g.tl[1];
}

std::optional<Point> SeriesStore::pointAt(SeriesId id, std::int64_t t_ms, Duration lookback) const {
  if (id >= series_.size() || series_[id].group == kNoId) return std::nullopt;
  const Series& s = series_[id];
  int tier = 0;
  const Timeline* tl = timelineFor(s, t_ms, tier);
  std::optional<Point> out;
  const std::uint64_t start = s.start_seq[tier];
  s.ring[tier].forEachBackward([&](std::uint32_t index, bool present, double value) {
    const std::uint64_t seq = start + index;
    if (seq < tl->base_seq || seq >= tl->nextSeq()) return seq >= tl->nextSeq();
    const std::int64_t ts = tl->at(seq);
    if (ts > t_ms) return true;
    if (t_ms - ts > lookback.count()) return false;
    if (!present) return true;
    out = Point{ts, value};
    return false;
  });
  return out;
}

std::optional<double> SeriesStore::increase(SeriesId id, std::int64_t t_ms, Duration window) const {
  const auto now = pointAt(id, t_ms, config_.staleness);
  const auto then = pointAt(id, t_ms - window.count(), config_.staleness);
  if (!now || !then) return std::nullopt;
  return now->value - then->value;
}

std::string_view SeriesStore::name(SeriesId id) const { return symbols_.str(series_[id].name); }

LabelPairs SeriesStore::labels(SeriesId id) const {
  const Series& s = series_[id];
  LabelPairs out;
  out.reserve(s.label_count);
  for (std::size_t i = 0; i < s.label_count; ++i) {
    out.emplace_back(symbols_.str(s.labels[2 * i]), symbols_.str(s.labels[2 * i + 1]));
  }
  return out;
}

std::optional<std::int64_t> SeriesStore::lastScrapeMs(GroupId group) const {
  if (group >= groups_.size() || groups_[group].tl[0].ts.empty()) return std::nullopt;
  return groups_[group].tl[0].ts.back();
}

std::optional<HistogramView> SeriesStore::histogram(HistogramId id) const {
  if (id >= histograms_.size() || histograms_[id].group == kNoId) return std::nullopt;
  const Histogram& h = histograms_[id];
  HistogramView v{id, h.group, symbols_.str(h.name), {}, h.bounds, h.buckets, h.sum, h.count, h.layout_since_ms,
                  h.generation};
  for (std::size_t i = 0; i < h.label_count; ++i) {
    v.labels.emplace_back(symbols_.str(h.labels[2 * i]), symbols_.str(h.labels[2 * i + 1]));
  }
  return v;
}

void SeriesStore::forEachHistogram(const std::function<void(const HistogramView&)>& f) const {
  for (HistogramId id = 0; id < histograms_.size(); ++id) {
    if (auto v = histogram(id)) f(*v);
  }
}

std::size_t SeriesStore::memoryBytes() const {
  constexpr std::size_t kMallocOverhead = 16;
  std::size_t bytes = series_.capacity() * sizeof(Series) + free_series_.capacity() * sizeof(SeriesId);
  for (const Series& s : series_) {
    if (s.group == kNoId) continue;
    bytes += 2 * s.label_count * sizeof(std::uint32_t) + kMallocOverhead;
    for (const ValueRing& r : s.ring) bytes += r.heapBytes() + (r.heapBytes() ? kMallocOverhead : 0);
  }
  for (const Histogram& h : histograms_) {
    bytes += sizeof(Histogram) + 2 * h.label_count * sizeof(std::uint32_t) + h.bounds.capacity() * sizeof(double) +
             (h.buckets.capacity() + h.members.capacity()) * sizeof(SeriesId) + 4 * kMallocOverhead;
  }
  for (const Group& g : groups_) {
    bytes += sizeof(Group) + g.members.capacity() * sizeof(SeriesId) +
             (g.tl[0].ts.size() + g.tl[1].ts.size()) * sizeof(std::int64_t);
  }
  return bytes + series_index_.heapBytes() + histogram_index_.heapBytes() + symbols_.heapBytes();
}

}  // namespace hotspotd::store
