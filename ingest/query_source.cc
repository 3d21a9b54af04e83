#include "ingest/query_source.h"

#include <algorithm>
#include <chrono>

#include <fmt/format.h>

#include "core/log.h"
#include "core/http_client.h"
#include "ingest/shard.h"

namespace hotspotd::ingest {
namespace {

// Points per series a query asks for at most: Prometheus refuses more than 11,000, and smaller answers bound what
// a first round holds at once (a 3-day burn-rate window at 1m is three queries; an answer is read as it streams,
// at 16 bytes a point, and fed before the next is asked for).
constexpr std::int64_t kMaxPointsPerQuery = 1'440;
// Answers are capped while they arrive; a first round of a large fleet at a fine step can be big.
constexpr std::size_t kMaxAnswerBytes = std::size_t{512} << 20;

std::int64_t floorTo(std::int64_t t, std::int64_t step) {
  const std::int64_t r = t % step;
  return r < 0 ? t - r - step : t - r;
}

std::string queryKey(const SelectorQuery& q) {
  return fmt::format("{}\n{}", static_cast<int>(q.kind), q.promql);
}

}  // namespace

SourceMetrics::SourceMetrics(prometheus::Registry& registry)
    : queries(prometheus::BuildCounter()
                  .Name("hotspotd_source_queries_total")
                  .Help("Queries sent to query sources, by source and result (success, warnings, bad_query, "
                        "rate_limited, unavailable, bad_answer, timeout, error).")
                  .Register(registry)),
      duration(prometheus::BuildHistogram()
                   .Name("hotspotd_source_query_duration_seconds")
                   .Help("Time from sending a query to a source to having its answer, by source.")
                   .Register(registry)),
      bytes(prometheus::BuildCounter()
                .Name("hotspotd_source_fetched_bytes_total")
                .Help("Bytes of query answers received from a source, as sent (compressed if it compressed).")
                .Register(registry)),
      points(prometheus::BuildCounter()
                 .Name("hotspotd_source_fetched_points_total")
                 .Help("Points in query answers received from a source.")
                 .Register(registry)),
      degraded(prometheus::BuildGauge()
                   .Name("hotspotd_source_degraded")
                   .Help("1 while the latest round of queries to a source left rules without data fit to judge "
                         "(failed, rate-limited or partial answers); those rules' endpoints are not judged.")
                   .Register(registry)) {}

QuerySource::QuerySource(boost::asio::io_context& io, SourceConfig config, store::StoreConfig store_config,
                         SourceMetrics* metrics)
    : io_(io), config_(std::move(config)), store_(store_config), metrics_(metrics) {
  if (metrics_) {
    for (const char* result :
         {"success", "warnings", "bad_query", "rate_limited", "unavailable", "bad_answer", "timeout", "error"}) {
      metrics_->queries.Add({{"source", config_.name}, {"result", result}});
    }
    metrics_->bytes.Add({{"source", config_.name}});
    metrics_->points.Add({{"source", config_.name}});
    metrics_->degraded.Add({{"source", config_.name}});
  }
}

void QuerySource::setReaders(const std::vector<SourceReader>& readers) {
  std::map<std::string, std::shared_ptr<Query>> next;
  reader_queries_.clear();
  for (const SourceReader& reader : readers) {
    auto& keys = reader_queries_[reader.name];
    for (const SelectorQuery& sq : reader.queries) {
      const std::string key = queryKey(sq);
      keys.push_back(key);
      auto& q = next[key];
      if (!q) {
        if (auto old = queries_.find(key); old != queries_.end()) {
          q = old->second;
          q->history = Duration{0};
        } else {
          q = std::make_shared<Query>();
          q->key = key;
          q->selector = sq;
          if (auto parsed = parseSelector(sq.promql)) q->matcher = std::move(*parsed);
          q->group = store_.addGroup(sq.promql);
        }
        q->by = reader.by;
        q->by_all = reader.by_all;
        q->ignore = reader.ignore;
      } else if (config_.shard.count > 1 && (q->by != reader.by || q->by_all != reader.by_all)) {
        log::warn(
            "Rules of a sharded source read one selector with different endpoint labels; the shard splits "
            "it by the first rule's",
            {{"source", config_.name}, {"rule", reader.name}, {"selector", sq.promql}});
      }
      q->history = std::max(q->history, reader.history);
    }
  }
  for (const auto& [key, q] : queries_) {
    if (!next.count(key)) store_.removeGroup(q->group);
  }
  queries_ = std::move(next);
}

std::vector<QuerySource::Chunk> QuerySource::plan(const Query& q, std::int64_t end_ms) const {
  const std::int64_t step = std::max<std::int64_t>(config_.step.count(), 1000);
  const std::int64_t coarse = std::max(step, floorTo(store_.config().coarse_step.count(), step));
  // Whatever the rules read back to, and the staleness before it (a series' last point before the window).
  const std::int64_t oldest = end_ms - q.history.count() - store_.config().staleness.count();
  std::int64_t start = q.fetched_ms >= 0 ? std::max(q.fetched_ms + step, oldest) : oldest;
  std::vector<Chunk> out;
  auto add = [&](std::int64_t from, std::int64_t to, std::int64_t s) {
    // Aligned to the step, so that every round (and a backtest) asks for the same instants.
    from = floorTo(from + s - 1 - origin_ms_, s) + origin_ms_;
    while (from <= to) {
      const std::int64_t last = std::min(to, from + (kMaxPointsPerQuery - 1) * s);
      out.push_back({from, last, Duration(s)});
      from = last + s;
    }
  };
  const std::int64_t fine_from = end_ms - store_.config().full_resolution.count();
  if (start < fine_from) {
    add(start, fine_from - 1, coarse);
    start = fine_from;
  }
  add(start, end_ms, step);
  return out;
}

bool QuerySource::keep(const Query& q, const RangeSeries& series) const {
  if (queries_.size() > 1) {
    std::string_view name;
    LabelView labels;
    for (const auto& [k, v] : series.labels) {
      if (k == "__name__") {
        name = v;
      } else {
        labels.emplace_back(k, v);
      }
    }
    for (const auto& [key, p] : queries_) {
      if (key >= q.key) break;  // the first query matching a series feeds it
      if (p->matcher.matches(name, labels)) return false;
    }
  }
  if (config_.shard.count <= 1) return true;
  std::vector<std::string_view> values;
  if (!q.by_all) {
    for (const auto& name : q.by) {
      const auto it =
          std::find_if(series.labels.begin(), series.labels.end(), [&](const auto& l) { return l.first == name; });
      values.push_back(it == series.labels.end() ? std::string_view() : std::string_view(it->second));
    }
  } else {
    auto labels = series.labels;  // by every label: in name order, as the endpoint lists them
    std::sort(labels.begin(), labels.end());
    for (const auto& [k, v] : labels) {
      if (std::find(q.ignore.begin(), q.ignore.end(), k) == q.ignore.end()) values.push_back(v);
    }
    return ownedBy(config_.shard, values);  // before `labels`, which the values point into, goes away
  }
  return ownedBy(config_.shard, values);
}

bool QuerySource::current(const Query& q) const {
  const auto it = queries_.find(q.key);
  return it != queries_.end() && it->second.get() == &q;
}

void QuerySource::count(std::string_view result) {
  if (metrics_) metrics_->queries.Add({{"source", config_.name}, {"result", std::string(result)}}).Increment();
}

bool QuerySource::update(std::int64_t t_ms, std::function<void(const RoundStats&)> done) {
  if (running_ > 0) return false;
  stats_ = {};
  done_ = std::move(done);
  const std::int64_t step = std::max<std::int64_t>(config_.step.count(), 1000);
  // The newest step a round asks for lags `query_offset` behind t_ms, for sources that take time to ingest.
  const std::int64_t end = floorTo(t_ms - config_.query_offset.count() - origin_ms_, step) + origin_ms_;
  stats_.end_ms = end;
  std::vector<std::pair<std::string, std::string>> headers;
  std::string problem;
  if (nowUnixMs() < not_before_ms_) {  // Retry-After is wall-clock time, whatever t_ms says
    problem = rate_limited_;
  } else if (auto h = sourceHeaders(config_); !h) {
    problem = fmt::format("cannot read the source's credentials: {}", h.error().message);
  } else {
    headers = std::move(*h);
  }
  running_ = 1;  // held until every query started, so an answer arriving early cannot end the round
  for (auto& [key, q] : queries_) {
    if (!problem.empty()) {
      q->problem = problem;
      continue;
    }
    q->problem.clear();
    auto chunks = plan(*q, end);
    if (chunks.empty()) continue;
    ++running_;
    runChunks(q, std::move(chunks), 0, headers);
  }
  finishQuery();
  return true;
}

void QuerySource::runChunks(std::shared_ptr<Query> q, std::vector<Chunk> chunks, std::size_t next,
                            std::vector<std::pair<std::string, std::string>> headers) {
  if (next == chunks.size() || !current(*q)) {
    finishQuery();
    return;
  }
  const Chunk chunk = chunks[next];
  RangeQuery rq;
  rq.promql = q->selector.promql;
  rq.start_ms = chunk.start_ms;
  rq.end_ms = chunk.end_ms;
  rq.step = chunk.step;
  rq.timeout = config_.timeout;
  FetchRequest req;
  req.scheme = config_.scheme;
  req.host = config_.host;
  req.port = config_.port;
  req.target = queryRangeTarget(config_.base_path, rq);
  req.headers = headers;
  req.headers.emplace_back("Accept-Encoding", "gzip");
  req.headers.emplace_back("User-Agent", "hotspotd");
  req.timeout = config_.timeout;
  req.max_body_bytes = kMaxAnswerBytes;
  req.tls_ca_file = config_.tls_ca_file;
  req.tls_insecure_skip_verify = config_.tls_insecure_skip_verify;
  ++stats_.queries;
  const auto sent = std::chrono::steady_clock::now();
  fetch(
      io_, std::move(req),
      [this, q, chunks = std::move(chunks), next, headers = std::move(headers),
       sent](tl::expected<FetchResponse, FetchError> r) mutable {
        if (metrics_) {
          metrics_->duration
              .Add({{"source", config_.name}},
                   prometheus::Histogram::BucketBoundaries{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30})
              .Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - sent).count());
        }
        auto failed = [&](std::string_view result, std::string problem) {
          count(result);
          q->problem = std::move(problem);
          ++stats_.failed;
          finishQuery();
        };
        if (!r) {
          const bool timeout = r.error().kind == FetchError::Kind::timeout;
          failed(timeout ? "timeout" : "error",
                 fmt::format("{}: {}", timeout ? "query timed out" : "query failed", r.error().message));
          return;
        }
        stats_.bytes += r->wire_bytes;
        if (metrics_) metrics_->bytes.Add({{"source", config_.name}}).Increment(static_cast<double>(r->wire_bytes));
        const std::string body = std::move(r->body);  // decompressed by the client, within kMaxAnswerBytes
        auto answer = readRangeAnswer(r->status, r->retry_after, body);
        if (!answer) {
          const auto& e = answer.error();
          if (e.kind == QueryError::Kind::rate_limited) {
            const Duration wait = e.retry_after.value_or(config_.step);
            not_before_ms_ = nowUnixMs() + wait.count();
            rate_limited_ =
                fmt::format("rate limited by the source (429); asking again after {}", formatDuration(wait));
            failed("rate_limited", rate_limited_);
            return;
          }
          failed(kindName(e.kind), fmt::format("query refused: {}", e.message));
          return;
        }
        stats_.points += answer->points;
        if (metrics_) metrics_->points.Add({{"source", config_.name}}).Increment(static_cast<double>(answer->points));
        if (!answer->warnings.empty()) {
          std::string text;
          for (const auto& w : answer->warnings) text += (text.empty() ? "" : "; ") + w;
          failed("warnings", fmt::format("partial answer (the source warned: {})", text));
          return;
        }
        count("success");
        if (!current(*q)) {  // a reload dropped the query (and its store group) while it was asked
          finishQuery();
          return;
        }
        const FedAnswer fed{q->selector.kind, &*answer};
        const auto fs = feedAnswers(store_, q->group, std::span(&fed, 1),
                                            [this, &q](const RangeSeries& s) { return keep(*q, s); });
        stats_.appended += fs.appended;
        q->fetched_ms = chunks[next].end_ms;
        runChunks(q, std::move(chunks), next + 1, std::move(headers));
      });
}

void QuerySource::finishQuery() {
  if (running_ == 0 || --running_ > 0) return;
  const bool degraded =
      std::any_of(queries_.begin(), queries_.end(), [](const auto& q) { return !q.second->problem.empty(); });
  if (metrics_) metrics_->degraded.Add({{"source", config_.name}}).Set(degraded ? 1 : 0);
  if (degraded != was_degraded_) {
    if (degraded) {
      std::string why;
      for (const auto& [key, q] : queries_) {
        if (!q->problem.empty()) {
          why = q->problem;
          break;
        }
      }
      log::warn("Query source degraded: its rules' endpoints are not judged until it answers in full",
                {{"source", config_.name}, {"reason", why}});
    } else {
      log::info("Query source answers in full again", {{"source", config_.name}});
    }
    was_degraded_ = degraded;
  }
  if (auto done = std::move(done_)) {
    done_ = nullptr;
    done(stats_);
  }
}

std::string QuerySource::degraded(const std::string& reader) const {
  const auto keys = reader_queries_.find(reader);
  if (keys == reader_queries_.end()) return "the rule's source has not been asked yet";
  for (const auto& key : keys->second) {
    const auto q = queries_.find(key);
    if (q == queries_.end()) continue;
    if (!q->second->problem.empty()) return "source degraded: " + q->second->problem;
    if (q->second->fetched_ms < 0) return "source degraded: no answer yet";
  }
  return {};
}

}  // namespace hotspotd::ingest
