// DESIGN
// The scrape manager turns [[scrape]] configs into targets and scrapes each on its own timer on the lifecycle
// io_context: HTTP(S) with the Accept header Prometheus sends (OpenMetrics preferred, text 0.0.4 fallback) and
// X-Prometheus-Scrape-Timeout-Seconds, one deadline per scrape that always fires, gzip with a cap on the
// decompressed size, then TargetIngester into the series store. A failed scrape (timeout, HTTP error, limit,
// malformed body) fails that scrape only: it is counted by reason, logged when the target changes state, and
// leaves a gap in the store.
//
// Each target scrapes at a fixed phase within its interval, counted from the epoch and set by a hash of its
// identity, so targets do not scrape in lockstep and a restart keeps the phase (as Prometheus does). Time and timers
// come from the injected clock: samples are stamped with the clock's time when the scrape's answer arrives. file_sd files are re-read every file_sd_refresh when they changed.
// apply() is the reload: targets whose identity and settings did not change keep their store group, cache and
// timer; others are stopped or started.
//
// Everything runs on the io_context's thread; the target list is published as a snapshot for HTTP handlers.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <map>
#include <memory>
#include <string>
#include <vector>

#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "core/snapshot.h"
#include "ingest/scrape_config.h"
#include "store/series_store.h"

namespace hotspotd::ingest {

struct TargetStatus {
  std::string job;
  std::string instance;
  std::string url;
  std::vector<std::pair<std::string, std::string>> labels;  // target labels (job, instance, configured ones)
  std::string health = "unknown";                           // "up", "down" or "unknown" before the first scrape
  std::string last_error;
  std::string last_failure_reason;
  std::int64_t last_scrape_ms = 0;
  double last_duration_seconds = 0;
  std::size_t last_samples = 0;
};

class ScrapeManager {
 public:
  ScrapeManager(boost::asio::io_context& io, Clock& clock, store::SeriesStore& store, prometheus::Registry& registry);
  ~ScrapeManager();
  ScrapeManager(const ScrapeManager&) = delete;
  ScrapeManager& operator=(const ScrapeManager&) = delete;

  // Starts, keeps or stops targets to match `configs`.
  void apply(const std::vector<ScrapeConfig>& configs);
  // Cancels every timer and in-flight scrape.
  void stop();

  const Snapshot<std::vector<TargetStatus>>& targets() const { return status_; }

 private:
  struct Metrics;
  struct Target;
  struct Job;

  void reconcile(Job& job);
  void schedule(Target& target, bool first);
  void scrape(Target& target);
  void finishScrape(Target& target, std::chrono::steady_clock::time_point started, std::string failure_reason,
                    std::string error, std::size_t samples);
  void scheduleFileSd(Job& job);
  void publish();
  void scheduleStoreMetrics();
  void refreshStoreMetrics();
  void noteRefused(const Target& target, std::size_t refused);

  boost::asio::io_context& io_;
  Clock& clock_;
  store::SeriesStore& store_;
  std::unique_ptr<Metrics> metrics_;
  std::map<std::string, std::unique_ptr<Job>> jobs_;
  Snapshot<std::vector<TargetStatus>> status_;
  std::unique_ptr<Timer> store_timer_;
  bool store_metrics_started_ = false;
  std::uint64_t refused_counted_ = 0;
  std::int64_t refused_logged_ms_ = 0;
  std::size_t refused_since_log_ = 0;
  bool stopped_ = false;
};

}  // namespace hotspotd::ingest
