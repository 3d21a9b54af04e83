#include "ingest/scrape_manager.h"

#include <algorithm>
#include <functional>

#include <fmt/format.h>
#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>

#include "core/hash.h"
#include "core/log.h"
#include "ingest/file_sd.h"
#include "core/gzip.h"
#include "core/http_client.h"
#include "ingest/target_ingester.h"

namespace hotspotd::ingest {
namespace {

// What Prometheus sends: OpenMetrics preferred, the 0.0.4 text format as the fallback.
constexpr std::string_view kAccept =
    "application/openmetrics-text;version=1.0.0,application/openmetrics-text;version=0.0.1;q=0.75,"
    "text/plain;version=0.0.4;q=0.5,*/*;q=0.1";

using Labels = std::vector<std::pair<std::string, std::string>>;

std::pair<std::string, std::string> splitHostPort(const std::string& address) {
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    return {address.substr(1, close - 1), address.substr(close + 2)};
  }
  const auto colon = address.rfind(':');
  return {address.substr(0, colon), address.substr(colon + 1)};
}

std::string fetchReason(FetchError::Kind kind) {
  switch (kind) {
    case FetchError::Kind::timeout: return "timeout";
    case FetchError::Kind::connection: return "connection";
    case FetchError::Kind::tls: return "tls";
    case FetchError::Kind::body_size_limit: return "body_size_limit";
    case FetchError::Kind::protocol: return "protocol";
    case FetchError::Kind::decompress: return "decompress";
    case FetchError::Kind::cancelled: return "cancelled";
  }
  return "connection";
}

}  // namespace

struct ScrapeManager::Metrics {
  explicit Metrics(prometheus::Registry& r)
      : up(prometheus::BuildGauge()
               .Name("hotspotd_scrape_target_up")
               .Help("1 if the last scrape of the target succeeded, 0 if it failed.")
               .Register(r)),
        duration(prometheus::BuildGauge()
                     .Name("hotspotd_scrape_duration_seconds")
                     .Help("Duration of the last scrape of the target.")
                     .Register(r)),
        samples(prometheus::BuildGauge()
                    .Name("hotspotd_scrape_samples_scraped")
                    .Help("Samples in the last successful scrape of the target.")
                    .Register(r)),
        scrapes(
            prometheus::BuildCounter().Name("hotspotd_scrapes_total").Help("Scrapes attempted, by job.").Register(r)),
        failures(prometheus::BuildCounter()
                     .Name("hotspotd_scrape_failures_total")
                     .Help("Scrapes that failed, by job and reason.")
                     .Register(r)),
        targets(prometheus::BuildGauge()
                    .Name("hotspotd_scrape_targets")
                    .Help("Targets configured or discovered, by job.")
                    .Register(r)),
        store_series(prometheus::BuildGauge()
                         .Name("hotspotd_store_series")
                         .Help("Series held in the series store.")
                         .Register(r)
                         .Add({})),
        store_histograms(prometheus::BuildGauge()
                             .Name("hotspotd_store_histograms")
                             .Help("Histograms (label sets with their buckets) held in the series store.")
                             .Register(r)
                             .Add({})),
        store_bytes(prometheus::BuildGauge()
                        .Name("hotspotd_store_memory_bytes")
                        .Help("Heap bytes held by the series store (series, points, histograms, interned label "
                              "strings, indexes) and the scrape targets' series caches.")
                        .Register(r)
                        .Add({})),
        store_refused(prometheus::BuildCounter()
                          .Name("hotspotd_store_series_refused_total")
                          .Help("New series not stored because the store held [store] max_series series.")
                          .Register(r)
                          .Add({})),
        store_limit(prometheus::BuildGauge()
                        .Name("hotspotd_store_series_limit")
                        .Help("The most series the store holds ([store] max_series; 0: no limit).")
                        .Register(r)
                        .Add({})) {}

  prometheus::Family<prometheus::Gauge>& up;
  prometheus::Family<prometheus::Gauge>& duration;
  prometheus::Family<prometheus::Gauge>& samples;
  prometheus::Family<prometheus::Counter>& scrapes;
  prometheus::Family<prometheus::Counter>& failures;
  prometheus::Family<prometheus::Gauge>& targets;
  prometheus::Gauge& store_series;
  prometheus::Gauge& store_histograms;
  prometheus::Gauge& store_bytes;
  prometheus::Counter& store_refused;
  prometheus::Gauge& store_limit;
};

struct ScrapeManager::Target {
  Target(boost::asio::io_context& io, Clock& clock) : timer(clock.timer(io, TimerOrder::ingest)) {}
  std::string key;
  std::string address;
  std::string scheme;
  std::string path;
  Labels labels;
  ScrapeConfig settings;
  store::GroupId group = store::kNoId;
  std::unique_ptr<TargetIngester> ingester;
  std::unique_ptr<Timer> timer;
  std::int64_t next_ms = 0;
  bool in_flight = false;
  std::shared_ptr<bool> alive = std::make_shared<bool>(true);
  TargetStatus status;
  prometheus::Gauge* up = nullptr;
  prometheus::Gauge* duration = nullptr;
  prometheus::Gauge* samples = nullptr;
};

struct ScrapeManager::Job {
  Job(boost::asio::io_context& io, Clock& clock) : sd_timer(clock.timer(io, TimerOrder::ingest)) {}
  ScrapeConfig config;
  std::unique_ptr<FileSd> file_sd;
  std::unique_ptr<Timer> sd_timer;
  std::map<std::string, std::unique_ptr<Target>> targets;
};

ScrapeManager::ScrapeManager(boost::asio::io_context& io, Clock& clock, store::SeriesStore& store,
                             prometheus::Registry& registry)
    : io_(io),
      clock_(clock),
      store_(store),
      metrics_(std::make_unique<Metrics>(registry)),
      store_timer_(clock.timer(io, TimerOrder::ingest)) {}

ScrapeManager::~ScrapeManager() {
  stop();
}

void ScrapeManager::stop() {
  if (stopped_) return;
  stopped_ = true;
  store_timer_->cancel();
  for (auto& [name, job] : jobs_) {
    job->sd_timer->cancel();
    for (auto& [key, t] : job->targets) {
      *t->alive = false;
      t->timer->cancel();
    }
  }
}

void ScrapeManager::apply(const std::vector<ScrapeConfig>& configs) {
  for (auto it = jobs_.begin(); it != jobs_.end();) {
    const bool kept =
        std::any_of(configs.begin(), configs.end(), [&](const ScrapeConfig& c) { return c.job == it->first; });
    if (kept) {
      ++it;
      continue;
    }
    it->second->config.targets.clear();
    it->second->config.file_sd.clear();
    it->second->file_sd.reset();
    reconcile(*it->second);
    it->second->sd_timer->cancel();
    metrics_->targets.Remove(&metrics_->targets.Add({{"job", it->first}}));
    log::info("Scrape job removed", {{"job", it->first}});
    it = jobs_.erase(it);
  }
  for (const ScrapeConfig& c : configs) {
    auto& slot = jobs_[c.job];
    if (!slot) slot = std::make_unique<Job>(io_, clock_);
    Job& job = *slot;
    const bool sd_changed = job.config.file_sd != c.file_sd || !job.file_sd;
    job.config = c;
    if (sd_changed) {
      job.file_sd = c.file_sd.empty() ? nullptr : std::make_unique<FileSd>(c.file_sd);
    }
    if (job.file_sd) {
      std::vector<std::string> errors;
      job.file_sd->refresh(errors);
      for (const auto& e : errors) log::error("Cannot use a file_sd file", {{"job", c.job}, {"error", e}});
    }
    reconcile(job);
    job.sd_timer->cancel();
    if (job.file_sd) scheduleFileSd(job);
  }
  publish();
  if (!store_metrics_started_ && !stopped_) {
    store_metrics_started_ = true;
    scheduleStoreMetrics();
  }
}

void ScrapeManager::scheduleStoreMetrics() {
  // The memory figure walks every series: every 10 s, not at every scrape.
  clock_.after(*store_timer_, std::chrono::seconds(10), [this] {
    if (stopped_) return;
    refreshStoreMetrics();
    scheduleStoreMetrics();
  });
}

void ScrapeManager::refreshStoreMetrics() {
  metrics_->store_series.Set(static_cast<double>(store_.seriesCount()));
  metrics_->store_limit.Set(static_cast<double>(store_.config().max_series));
  metrics_->store_histograms.Set(static_cast<double>(store_.histogramCount()));
  std::size_t bytes = store_.memoryBytes();
  for (const auto& [name, job] : jobs_) {
    for (const auto& [key, t] : job->targets) bytes += t->ingester ? t->ingester->cacheBytes() : 0;
  }
  metrics_->store_bytes.Set(static_cast<double>(bytes));
  // Query sources resolve series in the same store: the refusals of both are counted here.
  const std::uint64_t refused = store_.seriesLimited();
  if (refused > refused_counted_) metrics_->store_refused.Increment(static_cast<double>(refused - refused_counted_));
  refused_counted_ = refused;
}

void ScrapeManager::scheduleFileSd(Job& job) {
  clock_.after(*job.sd_timer, job.config.file_sd_refresh, [this, &job] {
    if (stopped_ || !job.file_sd) return;
    std::vector<std::string> errors;
    const bool changed = job.file_sd->refresh(errors);
    for (const auto& e : errors) log::error("Cannot use a file_sd file", {{"job", job.config.job}, {"error", e}});
    if (changed) {
      reconcile(job);
      publish();
    }
    scheduleFileSd(job);
  });
}

void ScrapeManager::reconcile(Job& job) {
  struct Desired {
    std::string address, scheme, path;
    Labels labels;
  };
  std::map<std::string, Desired> desired;
  auto add = [&](const std::string& address, const Labels& extra) {
    Desired d{address, job.config.scheme, job.config.path, {}};
    std::map<std::string, std::string> labels(job.config.labels.begin(), job.config.labels.end());
    for (const auto& [k, v] : extra) {
      if (k == "__scheme__") {
        d.scheme = v;
      } else if (k == "__metrics_path__") {
        d.path = v;
      } else if (!k.starts_with("__")) {
        labels[k] = v;
      }
    }
    labels["job"] = job.config.job;
    labels["instance"] = address;
    d.labels.assign(labels.begin(), labels.end());
    std::string key = fmt::format("{}|{}://{}{}", job.config.job, d.scheme, address, d.path);
    for (const auto& [k, v] : d.labels) key += fmt::format("|{}={}", k, v);
    desired.emplace(std::move(key), std::move(d));
  };
  for (const auto& t : job.config.targets) add(t, {});
  if (job.file_sd) {
    for (const auto& g : job.file_sd->groups()) {
      for (const auto& t : g.targets) add(t, g.labels);
    }
  }

  for (auto it = job.targets.begin(); it != job.targets.end();) {
    if (desired.count(it->first)) {
      ++it;
      continue;
    }
    Target& t = *it->second;
    *t.alive = false;
    t.timer->cancel();
    store_.removeGroup(t.group);
    metrics_->up.Remove(t.up);
    metrics_->duration.Remove(t.duration);
    metrics_->samples.Remove(t.samples);
    log::info("Scrape target removed", {{"job", job.config.job}, {"target", t.status.url}});
    it = job.targets.erase(it);
  }
  for (auto& [key, d] : desired) {
    auto it = job.targets.find(key);
    if (it != job.targets.end()) {
      it->second->settings = job.config;  // interval, timeout, limits, TLS: applied from the next scrape on
      continue;
    }
    auto t = std::make_unique<Target>(io_, clock_);
    t->key = key;
    t->address = d.address;
    t->scheme = d.scheme;
    t->path = d.path;
    t->labels = d.labels;
    t->settings = job.config;
    t->group = store_.addGroup(key);
    t->ingester = std::make_unique<TargetIngester>(store_, t->group, d.labels);
    t->status.job = job.config.job;
    t->status.instance = d.address;
    t->status.url = fmt::format("{}://{}{}", d.scheme, d.address, d.path);
    t->status.labels = d.labels;
    const prometheus::Labels ml{{"job", job.config.job}, {"instance", d.address}};
    t->up = &metrics_->up.Add(ml);
    t->duration = &metrics_->duration.Add(ml);
    t->samples = &metrics_->samples.Add(ml);
    metrics_->scrapes.Add({{"job", job.config.job}});
    log::info("Scrape target added", {{"job", job.config.job}, {"target", t->status.url}});
    Target& ref = *t;
    job.targets.emplace(key, std::move(t));
    schedule(ref, true);
  }
  metrics_->targets.Add({{"job", job.config.job}}).Set(static_cast<double>(job.targets.size()));
}

void ScrapeManager::schedule(Target& target, bool first) {
  const std::int64_t now = clock_.nowMs();
  const std::int64_t interval = std::max<std::int64_t>(1, target.settings.interval.count());
  if (first) {
    // A stable phase per target within its interval, counted from the epoch, so that targets spread out instead of
    // scraping together.
    const auto offset = static_cast<std::int64_t>(hashBytes(target.key) % static_cast<std::uint64_t>(interval));
    target.next_ms = now - ((now % interval) + interval) % interval + offset;
    if (target.next_ms <= now) target.next_ms += interval;
  } else {
    target.next_ms += interval;
    while (target.next_ms <= now) target.next_ms += interval;  // skip scrapes the loop was too busy to run
  }
  target.timer->at(target.next_ms, [this, &target, alive = target.alive] {
    if (!*alive || stopped_) return;
    scrape(target);
    schedule(target, false);
  });
}

void ScrapeManager::scrape(Target& target) {
  if (target.in_flight) return;  // cannot happen while timeout <= interval; never overlap scrapes of one target
  target.in_flight = true;
  const ScrapeConfig& s = target.settings;
  FetchRequest req;
  req.scheme = target.scheme;
  std::tie(req.host, req.port) = splitHostPort(target.address);
  req.target = target.path;
  req.timeout = s.timeout;
  req.max_body_bytes = s.limits.body_size;
  req.tls_ca_file = s.tls_ca_file;
  req.tls_insecure_skip_verify = s.tls_insecure_skip_verify;
  req.headers = {
      {"Accept", std::string(kAccept)},
      {"X-Prometheus-Scrape-Timeout-Seconds", fmt::format("{}", std::chrono::duration<double>(s.timeout).count())}};
  const auto started = std::chrono::steady_clock::now();
  metrics_->scrapes.Add({{"job", s.job}}).Increment();
  fetch(io_, std::move(req), [this, &target, alive = target.alive, started](tl::expected<FetchResponse, FetchError> r) {
    if (!*alive || stopped_) return;
    target.in_flight = false;
    if (!r) return finishScrape(target, started, fetchReason(r.error().kind), r.error().message, 0);
    if (r->status != 200) {
      return finishScrape(target, started, "http_status", fmt::format("server returned HTTP status {}", r->status), 0);
    }
    std::string body = std::move(r->body);
    // A gzip'd answer was decompressed by the client; a gzip'd body sent without saying so is decompressed here.
    if (looksGzipped(body)) {
      auto inflated = gunzip(body, target.settings.limits.body_size);
      if (!inflated) {
        return finishScrape(target, started, inflated.error().over_limit ? "body_size_limit" : "decompress",
                            inflated.error().message, 0);
      }
      body = std::move(*inflated);
    }
    const std::int64_t now_ms = clock_.nowMs();
    auto result =
        target.ingester->ingest(body, formatFromContentType(r->content_type), now_ms, target.settings.limits.parse);
    if (!result) {
      return finishScrape(target, started, std::string(failureReasonName(result.error().reason)),
                          result.error().message, 0);
    }
    if (result->series_refused > 0) noteRefused(target, result->series_refused);
    finishScrape(target, started, {}, {}, result->samples);
  });
}

void ScrapeManager::noteRefused(const Target& target, std::size_t refused) {
  // Said when the limit starts to bite, then at most every 10 minutes while it goes on.
  const std::int64_t now_ms = clock_.nowMs();
  refused_since_log_ += refused;
  if (refused_logged_ms_ != 0 && now_ms - refused_logged_ms_ < 10 * 60 * 1000) return;
  log::warn("The series store is full: new series are not stored",
            {{"job", target.status.job},
             {"target", target.status.url},
             {"refused", refused_since_log_},
             {"series", store_.seriesCount()},
             {"max_series", store_.config().max_series},
             {"hint", "raise [store] max_series, or drop the label whose values keep changing at the exporter"}});
  refused_logged_ms_ = now_ms;
  refused_since_log_ = 0;
}

void ScrapeManager::finishScrape(Target& target, std::chrono::steady_clock::time_point started,
                                 std::string failure_reason, std::string error, std::size_t samples) {
  const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  TargetStatus& st = target.status;
  const std::string before = st.health;
  st.last_scrape_ms = clock_.nowMs();
  st.last_duration_seconds = seconds;
  target.duration->Set(seconds);
  if (failure_reason.empty()) {
    st.health = "up";
    st.last_error.clear();
    st.last_failure_reason.clear();
    st.last_samples = samples;
    target.up->Set(1);
    target.samples->Set(static_cast<double>(samples));
    if (before == "down") log::info("Scrape target is up again", {{"job", st.job}, {"target", st.url}});
  } else {
    st.health = "down";
    st.last_error = error;
    st.last_failure_reason = failure_reason;
    target.up->Set(0);
    metrics_->failures.Add({{"job", st.job}, {"reason", failure_reason}}).Increment();
    if (before != "down") {
      log::warn("Scrape failed", {{"job", st.job}, {"target", st.url}, {"reason", failure_reason}, {"error", error}});
    } else {
      log::debug("Scrape failed", {{"job", st.job}, {"target", st.url}, {"reason", failure_reason}, {"error", error}});
    }
  }
  metrics_->store_series.Set(static_cast<double>(store_.seriesCount()));
  metrics_->store_histograms.Set(static_cast<double>(store_.histogramCount()));
  publish();
}

void ScrapeManager::publish() {
  std::vector<TargetStatus> all;
  for (const auto& [name, job] : jobs_) {
    for (const auto& [key, t] : job->targets) all.push_back(t->status);
  }
  status_.publish(std::move(all));
}

}  // namespace hotspotd::ingest
