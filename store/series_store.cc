#include "store/series_store.h"

#include <algorithm>
#include <atomic>
#include <cmath>
#include <limits>
#include <memory>

namespace hotspotd::store {

// Timestamps of a group's points in one tier; seq numbers every point the tier ever held.
struct SeriesStore::Timeline {
  std::deque<std::int64_t> ts;
  std::uint32_t base_seq = 0;  // seq of ts.front()
  std::uint32_t nextSeq() const { return base_seq + static_cast<std::uint32_t>(ts.size()); }
  std::int64_t at(std::uint32_t seq) const { return ts[seq - base_seq]; }
};

struct SeriesStore::Series {
  std::unique_ptr<std::uint32_t[]> labels;  // (name, value) symbol pairs, sorted by label name
  double bound = 0;
  double offset = 0;  // reset adjustment: stored value = raw value + offset
  std::int64_t last_seen_ms = 0;
  ValueRing ring[2];
  std::uint32_t start_seq[2] = {0, 0};  // timeline seq of each ring's first point
  std::uint32_t staged_commit = 0;      // the group commit that last staged a value for this series
  std::uint32_t staged_index = 0;       // where in that commit's batch
  std::uint32_t name = 0;
  GroupId group = kNoId;  // kNoId: a free slot
  SeriesId next_same = kNoId;
  HistogramId histogram = kNoId;
  std::uint32_t name_pos = 0;  // where in by_name_[name]
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
  std::uint32_t seen_commit = 0;
  std::uint32_t reset_commit = 0;
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
  std::uint32_t commits = 0;
  std::vector<SeriesId> members;
  std::int64_t last_ms = std::numeric_limits<std::int64_t>::min();
  std::int64_t last_coarse_bucket = std::numeric_limits<std::int64_t>::min();
};

namespace {

// Store versions from one counter for the whole process: a version seen on one store never comes up on another.
std::uint64_t nextVersion() {
  static std::atomic<std::uint64_t> last{0};
  return last.fetch_add(1, std::memory_order_relaxed) + 1;
}

bool isCumulative(SeriesRole role) {
  return role != SeriesRole::gauge;
}

}  // namespace

SeriesStore::SeriesStore(StoreConfig config)
    : config_(config), histograms_version_(nextVersion()), series_version_(nextVersion()) {}

SeriesStore::Series& SeriesStore::at(SeriesId id) {
  return chunks_[id >> kChunkBits][id & ((1u << kChunkBits) - 1)];
}
const SeriesStore::Series& SeriesStore::at(SeriesId id) const {
  return chunks_[id >> kChunkBits][id & ((1u << kChunkBits) - 1)];
}
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
  for (SeriesId id = first; id != kNoId; id = at(id).next_same) {
    const Series& s = at(id);
    if (s.group != group || symbols_.str(s.name) != desc.name || s.label_count != sorted.size()) continue;
    bool same = true;
    for (std::size_t i = 0; i < sorted.size() && same; ++i) {
      same = symbols_.str(s.labels[2 * i]) == sorted[i].first && symbols_.str(s.labels[2 * i + 1]) == sorted[i].second;
    }
    if (same) return SeriesRef{id, generations_[id]};
  }

  if (config_.max_series > 0 && live_series_ >= config_.max_series) {
    ++series_limited_;
    return SeriesRef{};
  }
  SeriesId id;
  if (!free_series_.empty()) {
    id = free_series_.back();
    free_series_.pop_back();
  } else {
    id = static_cast<SeriesId>(generations_.size());
    if ((id >> kChunkBits) >= chunks_.size()) chunks_.push_back(std::make_unique<Series[]>(1u << kChunkBits));
    generations_.push_back(1);
  }
  Series& s = at(id);
  Group& g = groups_[group];
  const std::uint32_t generation = generations_[id];
  s = Series{};
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
  std::vector<SeriesId>& named = by_name_[s.name];
  s.name_pos = static_cast<std::uint32_t>(named.size());
  named.push_back(id);
  g.members.push_back(id);
  ++live_series_;
  series_version_ = nextVersion();
  if (!desc.histogram.empty()) {
    const HistogramId hid = resolveHistogram(group, desc, sorted);
    Histogram& hist = histograms_[hid];
    at(id).histogram = hid;
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
  histograms_version_ = nextVersion();
  return id;
}

std::uint64_t SeriesStore::seriesHash(const Series& s) const {
  LabelPairs pairs;
  for (std::size_t i = 0; i < s.label_count; ++i) {
    pairs.emplace_back(symbols_.str(s.labels[2 * i]), symbols_.str(s.labels[2 * i + 1]));
  }
  return identityHash(symbols_.str(s.name), pairs) ^ (static_cast<std::uint64_t>(s.group) * 0x9E3779B97F4A7C15ULL);
}

HistogramId SeriesStore::histogramOf(SeriesRef ref) const {
  return valid(ref) ? at(ref.id).histogram : kNoId;
}

bool SeriesStore::isInfBucket(SeriesRef ref) const {
  if (!valid(ref)) return false;
  const Series& s = at(ref.id);
  return s.role == SeriesRole::bucket && std::isinf(s.bound) && s.bound > 0;
}

void SeriesStore::prefetchSeries(SeriesId id) const {
  if (id < generations_.size()) __builtin_prefetch(&at(id));
}

void SeriesStore::prefetchNewest(SeriesId id) const {
  if (id < generations_.size()) at(id).ring[0].prefetchNewest();
}

void SeriesStore::prefetchHistogram(HistogramId id) const {
  if (id < histograms_.size()) __builtin_prefetch(&histograms_[id]);
}

void SeriesStore::prefetchLayout(HistogramId id) const {
  if (id >= histograms_.size()) return;
  const Histogram& h = histograms_[id];
  __builtin_prefetch(h.bounds.data());
  __builtin_prefetch(h.buckets.data());
}

void SeriesStore::setExemplar(SeriesRef ref, Exemplar exemplar) {
  if (!valid(ref)) return;
  auto [it, added] = exemplars_.try_emplace(ref.id, std::move(exemplar));
  if (added) return;
  Exemplar& have = it->second;
  if (have.labels == exemplar.labels && have.value == exemplar.value && exemplar.t_ms >= have.t_ms) return;
  have = std::move(exemplar);
}

const Exemplar* SeriesStore::exemplar(SeriesId series) const {
  auto it = exemplars_.find(series);
  return it == exemplars_.end() ? nullptr : &it->second;
}

void SeriesStore::dropSeries(SeriesId id) {
  Series& s = at(id);
  if (s.group == kNoId) return;
  exemplars_.erase(id);
  // Unlink from the identity chain.
  const std::uint64_t hash = seriesHash(s);
  const std::uint32_t head = series_index_.find(hash);
  if (head == id) {
    if (s.next_same == kNoId) {
      series_index_.erase(hash);
    } else {
      series_index_.put(hash, s.next_same);
    }
  } else {
    for (SeriesId p = head; p != kNoId; p = at(p).next_same) {
      if (at(p).next_same == id) {
        at(p).next_same = s.next_same;
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
      releaseSymbols(h.name, h.labels.get(), h.label_count);
      h = Histogram{};
      free_histograms_.push_back(hid);
      --live_histograms_;
      histograms_version_ = nextVersion();
    } else {
      // The layout lost a bucket: the next commit starts a new generation.
      h.bounds.clear();
    }
  }
  // Out of its name's list: the last one takes its place.
  if (auto named = by_name_.find(s.name); named != by_name_.end()) {
    std::vector<SeriesId>& ids = named->second;
    at(ids.back()).name_pos = s.name_pos;
    ids[s.name_pos] = ids.back();
    ids.pop_back();
    if (ids.empty()) by_name_.erase(named);
  }
  releaseSymbols(s.name, s.labels.get(), s.label_count);
  s = Series{};
  ++generations_[id];
  free_series_.push_back(id);
  --live_series_;
  series_version_ = nextVersion();
}

void SeriesStore::releaseSymbols(std::uint32_t name, const std::uint32_t* labels, std::size_t label_count) {
  symbols_.release(name);
  for (std::size_t i = 0; i < 2 * label_count; ++i) symbols_.release(labels[i]);
}

void SeriesStore::rebuildLayout(Histogram& h, std::int64_t t_ms) {
  for (SeriesId b : h.buckets) at(b).in_layout = false;
  h.buckets.clear();
  for (SeriesId m : h.members) {
    const Series& s = at(m);
    if (s.role == SeriesRole::bucket && s.staged_commit == h.seen_commit) h.buckets.push_back(m);
  }
  std::sort(h.buckets.begin(), h.buckets.end(), [&](SeriesId a, SeriesId b) { return at(a).bound < at(b).bound; });
  h.bounds.clear();
  for (SeriesId b : h.buckets) {
    h.bounds.push_back(at(b).bound);
    at(b).in_layout = true;
  }
  ++h.generation;
  h.layout_since_ms = t_ms;
  histograms_version_ = nextVersion();
}

CommitStats SeriesStore::commit(GroupId group, std::int64_t t_ms, std::span<const StagedSample> batch) {
  CommitStats stats;
  Group& g = groups_[group];
  const std::uint32_t commit_no = ++g.commits;

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

  // Pass over the batch: drop duplicates, note where each value is, find resets and the histograms touched.
  touched_histograms_.clear();
  bool histogram_reset = false;
  for (std::uint32_t i = 0; i < batch.size(); ++i) {
    const StagedSample& sample = batch[i];
    if (!valid(sample.ref)) continue;
    Series& s = at(sample.ref.id);
    if (s.group != group) continue;
    if (s.staged_commit == commit_no) {
      ++stats.duplicates;
      continue;
    }
    s.staged_commit = commit_no;
    s.staged_index = i;
    if (s.histogram != kNoId) {
      Histogram& h = histograms_[s.histogram];
      if (h.seen_commit != commit_no) {
        h.seen_commit = commit_no;
        h.seen_buckets = 0;
        h.seen_outside_layout = false;
        touched_histograms_.push_back(s.histogram);
      }
      if (s.role == SeriesRole::bucket) {
        ++h.seen_buckets;
        h.seen_outside_layout |= !s.in_layout;
      }
    }
    if (isCumulative(s.role)) {
      // A decrease of what would be stored, not of the raw value recovered from it: stored - offset need not give
      // a non-integer raw value (a _sum) back exactly, and an idle series would read as reset at every scrape.
      const auto last = s.ring[0].lastValue();
      if (last && sample.value + s.offset < *last) {
        if (s.histogram != kNoId) {
          histograms_[s.histogram].reset_commit = commit_no;
          histogram_reset = true;
        } else {
          s.offset = *last;  // the stored value keeps climbing from where it was
          ++stats.resets;
        }
      }
    }
  }
  // A histogram resets as a whole: every member continues from its last stored value.
  if (histogram_reset) {
    for (HistogramId hid : touched_histograms_) {
      Histogram& h = histograms_[hid];
      if (h.reset_commit != commit_no) continue;
      ++stats.resets;
      for (SeriesId m : h.members) {
        Series& ms = at(m);
        if (auto last = ms.ring[0].lastValue()) ms.offset = *last;
      }
    }
  }

  // Pass over the members: a value or "no value" for each, stale ones dropped, rings trimmed to the timeline.
  for (std::size_t i = 0; i < g.members.size();) {
    const SeriesId id = g.members[i];
    Series& s = at(id);
    if (s.staged_commit == commit_no) {
      const double raw = batch[s.staged_index].value;
      const double stored = isCumulative(s.role) ? raw + s.offset : raw;
      s.ring[0].append(stored);
      if (coarse) s.ring[1].append(stored);
      s.last_seen_ms = t_ms;
      ++stats.appended;
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
    for (int k = 0; k < 2; ++k) {
      const Timeline& tl = g.tl[k];
      if (s.start_seq[k] < tl.base_seq) {
        const std::uint32_t drop = std::min<std::uint32_t>(tl.base_seq - s.start_seq[k], s.ring[k].count());
        for (std::uint32_t d = 0; d < drop; ++d) s.ring[k].dropFront();
        s.start_seq[k] = tl.base_seq;
      }
    }
    ++i;
  }

  // Layout: a histogram whose buckets this commit differ from its layout starts a new generation.
  for (HistogramId hid : touched_histograms_) {
    Histogram& h = histograms_[hid];
    if (h.group == kNoId || h.seen_commit != commit_no) continue;
    if (h.seen_outside_layout || h.seen_buckets != h.buckets.size() || h.bounds.size() != h.buckets.size()) {
      rebuildLayout(h, t_ms);
    }
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

template <typename F>
void SeriesStore::walkBack(SeriesId id, std::int64_t near_ms, F&& f) const {
  if (id >= generations_.size() || at(id).group == kNoId) return;
  const Series& s = at(id);
  int tier = 0;
  const Timeline* tl = timelineFor(s, near_ms, tier);
  const std::uint32_t start = s.start_seq[tier];
  s.ring[tier].forEachBackward([&](std::uint32_t index, bool present, double value) {
    const std::uint32_t seq = start + index;
    if (seq < tl->base_seq || seq >= tl->nextSeq()) return seq >= tl->nextSeq();  // outside the timeline
    return f(tl->at(seq), present, value);
  });
}

std::optional<Point> SeriesStore::pointAt(SeriesId id, std::int64_t t_ms, Duration lookback) const {
  std::optional<Point> out;
  walkBack(id, t_ms, [&](std::int64_t ts, bool present, double value) {
    if (ts > t_ms) return true;
    if (t_ms - ts > lookback.count()) return false;
    if (!present) return true;
    out = Point{ts, value};
    return false;
  });
  return out;
}

void SeriesStore::pointsAt(SeriesId id, std::span<const std::int64_t> times, Duration lookback,
                           std::span<std::optional<Point>> out) const {
  for (auto& o : out) o.reset();
  if (times.empty()) return;
  std::size_t i = 0;  // the next time to answer; times descend, and so do the points walked
  walkBack(id, times.back(), [&](std::int64_t ts, bool present, double value) {
    while (i < times.size()) {
      if (ts > times[i]) return true;          // this point is newer than times[i]
      if (times[i] - ts > lookback.count()) {  // too old for times[i]: leave it empty
        ++i;
        continue;
      }
      if (!present) return true;
      out[i++] = Point{ts, value};
    }
    return false;
  });
}

void SeriesStore::pointsSince(SeriesId id, std::int64_t after_ms, std::vector<Point>& out,
                              std::int64_t& newest_ms) const {
  if (id >= generations_.size() || at(id).group == kNoId) return;
  const Series& s = at(id);
  // The full-resolution tier when it has the series: recent points at every scrape, never the coarse tier's one
  // a minute (a caller that keeps points must not mix the two).
  const int tier = s.ring[0].count() > 0 && !groups_[s.group].tl[0].ts.empty() ? 0 : 1;
  const Timeline* tl = &groups_[s.group].tl[tier];
  const std::uint32_t start = s.start_seq[tier];
  bool first = true;
  s.ring[tier].forEachBackward([&](std::uint32_t index, bool present, double value) {
    const std::uint32_t seq = start + index;
    if (seq >= tl->nextSeq()) return true;
    if (seq < tl->base_seq) return false;
    const std::int64_t ts = tl->at(seq);
    if (ts <= after_ms) return false;
    if (first) newest_ms = std::max(newest_ms, ts);
    first = false;
    if (present) out.push_back(Point{ts, value});
    return true;
  });
}

std::optional<Point> SeriesStore::firstPointIn(SeriesId id, std::int64_t from_ms, std::int64_t to_ms) const {
  std::optional<Point> out;
  walkBack(id, from_ms, [&](std::int64_t ts, bool present, double value) {
    if (ts < from_ms) return false;
    if (present && ts <= to_ms) out = Point{ts, value};
    return true;
  });
  return out;
}

std::optional<double> SeriesStore::increase(SeriesId id, std::int64_t t_ms, Duration window) const {
  const auto now = pointAt(id, t_ms, config_.staleness);
  const auto then = pointAt(id, t_ms - window.count(), config_.staleness);
  if (!now || !then) return std::nullopt;
  return now->value - then->value;
}

std::string_view SeriesStore::name(SeriesId id) const {
  return symbols_.str(at(id).name);
}

LabelPairs SeriesStore::labels(SeriesId id) const {
  const Series& s = at(id);
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
  HistogramView v{id,    h.group, symbols_.str(h.name), {},          h.bounds, h.buckets,
                  h.sum, h.count, h.layout_since_ms,    h.generation};
  for (std::size_t i = 0; i < h.label_count; ++i) {
    v.labels.emplace_back(symbols_.str(h.labels[2 * i]), symbols_.str(h.labels[2 * i + 1]));
  }
  return v;
}

std::optional<SeriesStore::Layout> SeriesStore::layout(HistogramId id) const {
  if (id >= histograms_.size() || histograms_[id].group == kNoId) return std::nullopt;
  const Histogram& h = histograms_[id];
  return Layout{h.bounds, h.buckets, h.layout_since_ms};
}

void SeriesStore::forEachHistogram(const std::function<void(const HistogramView&)>& f) const {
  for (HistogramId id = 0; id < histograms_.size(); ++id) {
    if (auto v = histogram(id)) f(*v);
  }
}

void SeriesStore::forEachSeries(const std::function<void(SeriesId, std::string_view, const LabelPairs&)>& f) const {
  for (SeriesId id = 0; id < generations_.size(); ++id) {
    if (at(id).group == kNoId) continue;
    f(id, symbols_.str(at(id).name), labels(id));
  }
}

void SeriesStore::forEachSeriesNamed(
    std::string_view name, const std::function<void(SeriesId, std::string_view, const LabelPairs&)>& f) const {
  const std::uint32_t symbol = symbols_.find(name);
  if (symbol == HashIndex::kNone) return;
  const auto named = by_name_.find(symbol);
  if (named == by_name_.end()) return;
  for (SeriesId id : named->second) f(id, name, labels(id));
}

std::size_t SeriesStore::memoryBytes() const {
  constexpr std::size_t kMallocOverhead = 16;
  std::size_t bytes = chunks_.size() * (sizeof(Series) << kChunkBits) +
                      (generations_.capacity() + free_series_.capacity()) * sizeof(std::uint32_t);
  for (SeriesId id = 0; id < generations_.size(); ++id) {
    const Series& s = at(id);
    if (s.group == kNoId) continue;
    bytes += 2 * s.label_count * sizeof(std::uint32_t) + kMallocOverhead;
    for (const ValueRing& r : s.ring) bytes += r.heapBytes() + (r.heapBytes() ? kMallocOverhead : 0);
  }
  for (const auto& [id, x] : exemplars_) {
    bytes += sizeof(std::pair<SeriesId, Exemplar>) + 2 * kMallocOverhead + x.labels.capacity() * 64;
  }
  for (const Histogram& h : histograms_) {
    bytes += sizeof(Histogram) + 2 * h.label_count * sizeof(std::uint32_t) + h.bounds.capacity() * sizeof(double) +
             (h.buckets.capacity() + h.members.capacity()) * sizeof(SeriesId) + 4 * kMallocOverhead;
  }
  for (const Group& g : groups_) {
    bytes += sizeof(Group) + g.members.capacity() * sizeof(SeriesId) +
             (g.tl[0].ts.size() + g.tl[1].ts.size()) * sizeof(std::int64_t);
  }
  for (const auto& [name, ids] : by_name_) {
    bytes += sizeof(std::pair<const std::uint32_t, std::vector<SeriesId>>) + 2 * kMallocOverhead + sizeof(void*) +
             ids.capacity() * sizeof(SeriesId);
  }
  return bytes + series_index_.heapBytes() + histogram_index_.heapBytes() + symbols_.heapBytes();
}

}  // namespace hotspotd::store
