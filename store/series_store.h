// DESIGN
// The series store keeps what detectors need, not a general TSDB: for each series, its values at every scrape over
// a short full-resolution window, and one value per coarse step over the longest window any rule needs, so that
// increase and rate over any window are two lookups.
//
// Series belong to a group (a scrape target, a replay source, a query): every commit of a group appends one point
// to every series of the group, present or "no value", so the points line up with the group's timeline and a
// series stores no timestamps of its own. Values are held in ValueRings (a byte or two a point for counters).
//
// Counters are stored reset-adjusted, as Prometheus's rate() sees them: a decrease is a reset and the increase
// across it counts from zero; the stored value keeps climbing, so any increase is new minus old. A histogram resets
// as a whole: when any of its series decreases, all of them are treated as reset. A histogram whose bucket layout
// changes starts a new generation with its own start time, so detectors never mix layouts. A series absent from
// its group's scrapes for longer than the staleness period is dropped.
//
// The store is owned by the lifecycle thread (or by a replay run): no locking. Stages hand it values (SeriesDesc,
// StagedSample batches) and read back plain values.
#pragma once

#include <cstdint>
#include <deque>
#include <functional>
#include <memory>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "store/hash_index.h"
#include "store/symbols.h"
#include "store/value_ring.h"

namespace hotspotd::store {

using GroupId = std::uint32_t;
using SeriesId = std::uint32_t;
using HistogramId = std::uint32_t;
inline constexpr std::uint32_t kNoId = 0xFFFFFFFFu;

struct StoreConfig {
  Duration full_resolution = std::chrono::minutes(15);  // every scrape kept this far back
  Duration retention = std::chrono::hours(1);           // one point per coarse_step kept this far back
  Duration coarse_step = std::chrono::minutes(1);
  Duration staleness = std::chrono::minutes(5);  // absent this long: dropped (Prometheus' lookback delta)
  // At most this many series held at once (0: no limit); a new series past it is not created (resolve() returns
  // an invalid ref) and counted in seriesLimited(), while the series already held go on.
  std::size_t max_series = 0;
};

// A handle to a series that stays safe after the series is dropped and its slot reused.
struct SeriesRef {
  SeriesId id = kNoId;
  std::uint32_t generation = 0;
};

enum class SeriesRole : std::uint8_t { gauge, counter, bucket, sum, count };

using LabelPairs = std::vector<std::pair<std::string_view, std::string_view>>;

// What the store needs to know to create a series.
struct SeriesDesc {
  std::string_view name;  // full sample name (`http_request_duration_seconds_bucket`)
  LabelPairs labels;      // all labels but the name, target labels included, any order
  SeriesRole role = SeriesRole::gauge;
  std::string_view histogram;  // for bucket/sum/count of a histogram: the family name, else empty
  double bound = 0;            // for buckets: the `le` bound
};

struct StagedSample {
  SeriesRef ref;
  double value;
};

struct Point {
  std::int64_t t_ms;
  double value;
};

struct HistogramView {
  HistogramId id;
  GroupId group;
  std::string_view name;
  LabelPairs labels;  // without le
  std::span<const double> bounds;
  std::span<const SeriesId> buckets;
  SeriesId sum;
  SeriesId count;
  std::int64_t layout_since_ms;
  std::uint32_t generation;
};

// An OpenMetrics exemplar: one real observation behind a sample, usually with its trace id.
struct Exemplar {
  std::vector<std::pair<std::string, std::string>> labels;  // trace_id, span_id, ...
  double value = 0;                                          // the observed value (a latency, for buckets)
  std::int64_t t_ms = 0;                                     // its own timestamp, else when it was first scraped
};

struct CommitStats {
  std::size_t appended = 0;
  std::size_t duplicates = 0;  // a series twice in one batch: the later value is dropped
  std::size_t stale_dropped = 0;
  std::size_t resets = 0;
};

class SeriesStore {
 public:
  explicit SeriesStore(StoreConfig config = {});
  ~SeriesStore();

  GroupId addGroup(std::string name);
  // Drops the group and all its series.
  void removeGroup(GroupId group);

  // Finds or creates a series of `group`. A series that would pass config().max_series is not created: the ref
  // returned is not valid() (its samples are then skipped by commit()).
  SeriesRef resolve(GroupId group, const SeriesDesc& desc);
  // A dropped series' generation moves on at once, so a match means the slot still holds that series.
  bool valid(SeriesRef ref) const { return ref.id < generations_.size() && generations_[ref.id] == ref.generation; }
  // The histogram a series belongs to and whether it is the +Inf bucket.
  HistogramId histogramOf(SeriesRef ref) const;
  bool isInfBucket(SeriesRef ref) const;

  // Appends one scrape of `group` taken at `t_ms`. Series of the group not in the batch get a "no value" point.
  CommitStats commit(GroupId group, std::int64_t t_ms, std::span<const StagedSample> batch);

  // Reads. Values of counters are reset-adjusted.
  // The newest point at or before t, at most `lookback` older than t.
  std::optional<Point> pointAt(SeriesId series, std::int64_t t_ms, Duration lookback) const;
  // pointAt for several times in one walk: `times` in descending order; out[i] is the point for times[i].
  void pointsAt(SeriesId series, std::span<const std::int64_t> times, Duration lookback,
                std::span<std::optional<Point>> out) const;
  // The present points newer than `after_ms`, newest first, appended to `out`, from the full-resolution tier (the
  // coarse one only for a series without full-resolution points); `newest_ms` becomes the newest timeline time
  // walked (present or not). For callers that keep the recent points of a series and read only what is new at
  // each evaluation.
  void pointsSince(SeriesId series, std::int64_t after_ms, std::vector<Point>& out, std::int64_t& newest_ms) const;
  // The oldest point in [from, to], if any.
  std::optional<Point> firstPointIn(SeriesId series, std::int64_t from_ms, std::int64_t to_ms) const;
  // Increase between the points at (t - window) and t; nothing if either is missing.
  std::optional<double> increase(SeriesId series, std::int64_t t_ms, Duration window) const;
  std::string_view name(SeriesId series) const;
  LabelPairs labels(SeriesId series) const;

  // The newest exemplar of a series (OpenMetrics exposes at most one per sample). An exemplar scraped again
  // unchanged keeps the time it was first seen. Dropped with its series.
  void setExemplar(SeriesRef ref, Exemplar exemplar);
  const Exemplar* exemplar(SeriesId series) const;
  std::optional<std::int64_t> lastScrapeMs(GroupId group) const;

  // Prefetch hints for scans over many series (the detectors), each stage once the previous one is in cache: a
  // histogram's record, then its layout (bounds and bucket ids); a series' record, then its newest points. Only
  // hints: no effect on results.
  void prefetchHistogram(HistogramId id) const;
  void prefetchLayout(HistogramId id) const;
  void prefetchSeries(SeriesId id) const;
  void prefetchNewest(SeriesId id) const;

  void forEachHistogram(const std::function<void(const HistogramView&)>& f) const;
  // A histogram's layout without its labels (cheap: no allocation).
  struct Layout {
    std::span<const double> bounds;
    std::span<const SeriesId> buckets;
    std::int64_t layout_since_ms;
  };
  std::optional<Layout> layout(HistogramId id) const;
  // Changes whenever a histogram appears, goes, or changes layout: detectors cache their grouping until then. As
  // seriesVersion(), never 0 and never the same for two stores.
  std::uint64_t histogramsVersion() const { return histograms_version_; }
  void forEachSeries(const std::function<void(SeriesId, std::string_view name, const LabelPairs&)>& f) const;
  // forEachSeries over the series named `name` only (a selector that pins its metric name): the others are not
  // visited.
  void forEachSeriesNamed(std::string_view name,
                          const std::function<void(SeriesId, std::string_view name, const LabelPairs&)>& f) const;
  // Changes whenever a series appears or goes: detectors cache the series their selectors match until then. Never 0,
  // and never the same for two stores (versions come from one process-wide counter).
  std::uint64_t seriesVersion() const { return series_version_; }
  std::optional<HistogramView> histogram(HistogramId id) const;

  std::size_t seriesCount() const { return live_series_; }
  // New series refused because the store held max_series, since it was created.
  std::uint64_t seriesLimited() const { return series_limited_; }
  // Distinct strings (names, label names and values) the series and histograms held refer to.
  std::size_t symbolCount() const { return symbols_.size(); }
  std::size_t histogramCount() const { return live_histograms_; }
  // Heap bytes held by series, histograms, groups and symbols (hotspotd_store_memory_bytes; a walk over every
  // series, so once per evaluation, not per sample).
  std::size_t memoryBytes() const;
  const StoreConfig& config() const { return config_; }

 private:
  struct Series;
  struct Histogram;
  struct Group;
  struct Timeline;

  std::uint64_t identityHash(std::string_view name, LabelPairs& sorted) const;
  std::uint64_t seriesHash(const Series& s) const;
  HistogramId resolveHistogram(GroupId group, const SeriesDesc& desc, const LabelPairs& sorted);
  void dropSeries(SeriesId id);
  void releaseSymbols(std::uint32_t name, const std::uint32_t* labels, std::size_t label_count);
  void rebuildLayout(Histogram& h, std::int64_t t_ms);
  const Timeline* timelineFor(const Series& s, std::int64_t t_ms, int& tier) const;
  // Visits the points of `id` from the newest back, in the tier that holds time `near_ms`: f(ts, present, value)
  // returns false to stop.
  template <typename F>
  void walkBack(SeriesId id, std::int64_t near_ms, F&& f) const;

  StoreConfig config_;
  SymbolTable symbols_;
  // Series live in fixed chunks (no 2x slack of a growing vector); generations_ is dense so that valid() stays
  // in cache on the per-sample path.
  static constexpr std::uint32_t kChunkBits = 12;
  Series& at(SeriesId id);
  const Series& at(SeriesId id) const;
  std::vector<std::unique_ptr<Series[]>> chunks_;
  std::vector<std::uint32_t> generations_;
  std::vector<SeriesId> free_series_;
  std::vector<HistogramId> touched_histograms_;
  HashIndex series_index_;  // identity hash -> first series; collisions chain through Series::next_same
  std::unordered_map<SeriesId, Exemplar> exemplars_;  // only series that have one
  std::vector<Histogram> histograms_;
  std::vector<HistogramId> free_histograms_;
  HashIndex histogram_index_;
  // Metric name symbol -> its series, any order (Series::name_pos is a series' place in its list).
  std::unordered_map<std::uint32_t, std::vector<SeriesId>> by_name_;
  std::vector<Group> groups_;
  std::uint64_t histograms_version_ = 0;
  std::uint64_t series_version_ = 0;
  std::size_t live_series_ = 0;
  std::size_t live_histograms_ = 0;
  std::uint64_t series_limited_ = 0;
  mutable std::string hash_buf_;
};

}  // namespace hotspotd::store
