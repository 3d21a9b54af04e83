// A query source at work: the series of the rules that name a [[sources]] entry, fetched from its Prometheus
// query API into a series store of its own, which the rules' detectors judge as they judge scraped series.
//
// Queries: each distinct raw selector of those rules (a histogram's _bucket/_count/_sum series, the counters of a
// burn-rate SLI, a gauge) is one query_range, aligned to the source's step. The first round of a query reaches
// back as far as the rules using it read (their history plus the store's staleness): what lies beyond the store's
// full_resolution at the store's coarse step, the rest at the source's step, split so that no query asks for more
// than 1,440 points per series (Prometheus refuses over 11,000; smaller answers bound memory). Later rounds ask only for the steps since the last one fed:
// never the whole window again. A query that fell further behind than its history starts over at its history.
//
// Degraded data: a round whose answer for a query failed (timeout, connection, 4xx/5xx), was rate limited (429:
// no query to the source before its Retry-After), or came with warnings (partial data) feeds nothing of that query
// and leaves its position where it was, so the next round asks again and nothing is lost; the rules reading that
// query are "degraded" for the round: their endpoints are not judged (an incident neither fires nor resolves on
// missing data), and say why.
//
// Overlapping selectors (a burn-rate SLI's errors and total, say) are asked for separately, but a series is fed by
// one query only, the first in a fixed order whose selector matches it, so that no series is counted twice.
//
// Sharding: with `shard = "i/n"`, a series is fed only if the hashmod of its endpoint labels' values (the rule's
// `by` labels) is i, as Prometheus' hashmod relabelling computes it.
//
// Lifecycle thread only: fetches are asynchronous on its io_context (fetch), answers are fed there.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "core/selector.h"
#include "ingest/query_api.h"
#include "ingest/query_feed.h"
#include "ingest/source_config.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

// The metrics every source reports into, registered once.
struct SourceMetrics {
  explicit SourceMetrics(prometheus::Registry& registry);
  prometheus::Family<prometheus::Counter>& queries;     // {source, result}
  prometheus::Family<prometheus::Histogram>& duration;  // {source}
  prometheus::Family<prometheus::Counter>& bytes;       // {source}
  prometheus::Family<prometheus::Counter>& points;      // {source}
  prometheus::Family<prometheus::Gauge>& degraded;      // {source}
};

// A selector as a source is asked for it.
struct SelectorQuery {
  std::string promql;
  SelectorKind kind = SelectorKind::gauge;
};

// What one reader of a source (a rule) takes from it: its selectors, one query each; how its endpoints are told
// apart (for a shard's hash); and how far back it reads. A plain value: the source knows nothing of rules.
struct SourceReader {
  std::string name;  // the rule's name: degraded() is asked by it
  std::vector<SelectorQuery> queries;
  std::vector<std::string> by;  // the endpoint labels, in order; empty with by_all
  bool by_all = false;
  std::vector<std::string> ignore;  // with by_all: the labels that are not the endpoint's
  Duration history{0};
};

class QuerySource {
 public:
  // What a round did, for tests, the bench and the log.
  struct RoundStats {
    std::int64_t end_ms = 0;  // the step the round reached (t_ms less query_offset, aligned): the data's "now"
    std::size_t queries = 0;  // HTTP requests sent
    std::size_t bytes = 0;    // answer bodies, as received
    std::size_t points = 0;   // points in the answers
    std::size_t appended = 0;
    std::size_t failed = 0;  // queries of the round that failed, were rate limited or came with warnings
  };

  // `metrics` may be null (replay).
  QuerySource(boost::asio::io_context& io, SourceConfig config, store::StoreConfig store_config,
              SourceMetrics* metrics);

  const SourceConfig& config() const { return config_; }
  // The readers (rules) taking their series from this source. Queries no reader needs are dropped with their
  // series; new ones start with a full first round.
  void setReaders(const std::vector<SourceReader>& readers);

  // One round of queries up to t_ms: `done` runs on the io_context once every query has been answered, failed or
  // timed out. A round asked for while one is running is not started (done is not called).
  bool update(std::int64_t t_ms, std::function<void(const RoundStats&)> done);
  // Steps are at origin + k * step (default: multiples of the step since the epoch, as caches of query results
  // align them); a backtest aligns them with its first evaluation, so it sees the points a recording has.
  void setOrigin(std::int64_t origin_ms) { origin_ms_ = origin_ms; }
  bool busy() const { return running_ > 0; }
  // What the latest round did (the one running, while busy()).
  const RoundStats& lastRound() const { return stats_; }

  // Why the reader's series are not fit to judge after the latest round; empty if they are.
  std::string degraded(const std::string& reader) const;
  const store::SeriesStore& store() const { return store_; }

 private:
  struct Query {
    std::string key;
    SelectorQuery selector;
    Selector matcher;             // the selector itself, to tell which query a series belongs to
    std::vector<std::string> by;  // endpoint labels for the shard's hash
    bool by_all = false;
    std::vector<std::string> ignore;  // with by_all: labels that are not the endpoint's
    Duration history{0};
    store::GroupId group = 0;
    std::int64_t fetched_ms = -1;  // the last step fed, -1 before the first round
    std::string problem;           // the latest round's, empty if it went well
  };
  struct Chunk {
    std::int64_t start_ms, end_ms;
    Duration step;
  };

  std::vector<Chunk> plan(const Query& q, std::int64_t end_ms) const;
  void runChunks(std::shared_ptr<Query> q, std::vector<Chunk> chunks, std::size_t next,
                 std::vector<std::pair<std::string, std::string>> headers);
  void finishQuery();
  bool keep(const Query& q, const RangeSeries& series) const;
  void count(std::string_view result);
  bool current(const Query& q) const;

  boost::asio::io_context& io_;
  SourceConfig config_;
  store::SeriesStore store_;
  SourceMetrics* metrics_;
  std::map<std::string, std::shared_ptr<Query>> queries_;         // by promql and kind
  std::map<std::string, std::vector<std::string>> reader_queries_;  // reader name -> query keys
  std::int64_t origin_ms_ = 0;
  std::int64_t not_before_ms_ = 0;  // a 429's Retry-After
  std::string rate_limited_;
  std::size_t running_ = 0;
  RoundStats stats_;
  std::function<void(const RoundStats&)> done_;
  bool was_degraded_ = false;
};

}  // namespace hotspotd::ingest
