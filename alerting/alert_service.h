// DESIGN
// Alerting in the daemon: incident events in, notifications out, on the state thread except for the HTTP
// requests themselves.
//
// 1. Each firing or resolution becomes an alert (labels + severity, annotations, evidence) that the notifier
//    (alerting/notifier.h) groups by the route tree. Alertmanager receivers get their routes' alerts at once and
//    again every resend_interval while they fire (endsAt four resends ahead), as Prometheus sends them.
// 2. When a group is due, its alerts get their links (incident page, flame graph, differential flame graph of the
//    newest profile captured for the incident), the frames that grew against the baseline, and trace links of slow
//    requests, the receiver's templates are rendered (a template that renders empty falls back to the default, with
//    a warning), and the messages are written to the outbox in one transaction with the grouping state.
// 3. Each queue (a receiver, or one Alertmanager of a receiver) sends one notification at a time, oldest first and
//    in order per key, as an asynchronous POST on this thread's io_context (alerting/delivery.h), paced by the
//    receiver's rate limit (a token bucket). The verdict: delivered, retried (Retry-After, else exponential backoff
//    with jitter) or failed for good. A slow or dead receiver holds back only its own queue; stop() cancels what is
//    under way, which stays pending.
//
// A restart or `kill -9` at any point: pending notifications are still in the outbox and go out (the one in flight
// may go twice); the grouping state comes back, so an alert already sent is not sent again before repeat_interval,
// and incidents that fired or resolved around the crash are reconciled with the incident tracker.
//
// A state database that cannot be written (a full disk, a read-only state directory) does not hold pages back:
// messages the outbox cannot take are sent from memory (same queues, order, retries and pacing; at most
// kMaxInMemory, the oldest dropped and counted past that), and written to the outbox once it takes writes again;
// delivery outcomes the outbox cannot record are kept too (a delivered page is not sent again, a retry keeps its
// backoff). Only what is still in memory when the daemon stops is lost, and the log says how much.
//
// Silences live in the state database; the API creates, lists and expires them through this class, on this thread.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <deque>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <set>
#include <string>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "alerting/alerting_config.h"
#include "alerting/delivery.h"
#include "alerting/notifier.h"
#include "alerting/outbox.h"
#include "alerting/payloads.h"
#include "alerting/receiver.h"
#include "alerting/silences.h"
#include "core/clock.h"
#include "core/log.h"
#include "rules/finding.h"
#include "rules/template.h"
#include "state/database.h"

namespace hotspotd::alerting {

// What a notification carries beside the incident itself: its newest working profile (links to its flame graph and
// the diff against the baseline) with the frames that grew, and links to traces of its slow requests.
struct IncidentEvidence {
  std::string profile_id;  // empty: no profile (yet)
  bool has_diff = false;
  bool has_offcpu_graph = false;  // a wall-clock profile: its off-CPU part has a graph of its own
  std::vector<GrownFrame> grown;
  std::string explanation;  // the profile's one sentence on what explains the incident (on-CPU or a wait)
  std::string explains;     // what it names ("cpu:<frame>", "offcpu:<class>:<frame>"): a new one is news
  std::vector<std::string> trace_urls;
};

// What the alert service reads from the stages before it, as values; the daemon wires them to the incident store
// and the profile store. Called on the service's thread.
struct AlertSources {
  // The incidents firing now (their firing events): after a restart, reconciled with the saved grouping state.
  std::function<std::vector<rules::IncidentEvent>()> firing;
  // How incident `id` resolved, if its latest occurrence did.
  std::function<std::optional<rules::IncidentEvent>(const std::string& id)> resolution;
  std::function<IncidentEvidence(const std::string& id)> evidence;
  // Until when incident `id`'s first profile is being captured (0: none is): its first notification waits for it.
  std::function<std::int64_t(const std::string& id)> capture_deadline;
};

class AlertService {
 public:
  AlertService(boost::asio::io_context& io, Clock& clock, state::Database& db, AlertSources sources,
               prometheus::Registry& registry);
  ~AlertService();

  // Opens the outbox and silences (creating or migrating their tables).
  Result<void> open();
  // Takes the receivers, routes and inhibition rules (at start and on reload). Grouping state carries over.
  void apply(const AlertingConfig& config);
  // The links' base when [alerting] external_url is not set: the address the server listens on.
  void setDefaultExternalUrl(std::string url) { default_external_url_ = std::move(url); }
  // After a restart: puts back the saved grouping state and reconciles it with the incidents firing now.
  void restore();
  // Every evaluation's transitions (after they are written to the state database).
  void onEvents(const std::vector<rules::IncidentEvent>& events);
  // A capture for an incident ended (`stored`: a profile was attached; else it failed or was skipped). A first
  // notification held for it goes now. Alertmanager receivers hear the alert again at once with its links (an
  // Alertmanager notifies with the newest annotations it holds, so its group_wait picks them up); every other
  // receiver that was already told hears it again when the profile's explanation is new to it.
  void onProfile(const std::string& incident_id, bool stored = true);
  // Saves the grouping state; nothing is sent after it (what is pending stays in the outbox).
  void stop();

  // The API's calls (on the service's thread).
  Result<std::vector<Silence>> silences();
  Result<Silence> createSilence(const SilenceRequest& request);
  Result<bool> expireSilence(const std::string& id);
  Result<std::vector<Notification>> history(const std::string& incident, std::size_t limit);

  // The base of links to the daemon (incident pages, flame graphs).
  const std::string& externalUrl() const {
    return config_.external_url.empty() ? default_external_url_ : config_.external_url;
  }
  static AlertInfo alertOf(const rules::IncidentEvent& event);

 private:
  struct Queue {
    const Receiver* receiver = nullptr;
    std::size_t url_index = 0;
    double tokens = 0;
    std::int64_t refilled_ms = 0;
    std::int64_t paused_until_ms = 0;  // the receiver said Retry-After
  };
  struct Templates {
    std::optional<rules::Template> title, text;
  };

  void observe(const AlertInfo& alert, std::int64_t now_ms);
  void reconcile(std::int64_t now_ms);
  void tick();
  void flush(std::int64_t now_ms);
  void enrich(AlertInfo& alert, const Receiver& receiver);
  void pump(std::int64_t now_ms);
  void send(const std::string& queue, const Notification& n);
  void finished(const std::string& queue, const Notification& n, const HttpResponse& response, double seconds);
  void saveGroups(std::int64_t now_ms);
  // Messages the outbox could not take, kept to be sent from memory.
  void keepInMemory(std::vector<Message> messages, std::int64_t now_ms);
  // Writes what is kept in memory (and not in flight) to the outbox; false if it still cannot.
  bool persistInMemory();
  // The next notification of a queue: the outbox's due one, else the oldest in memory if due.
  std::optional<Notification> nextFor(const std::string& queue, std::int64_t now_ms);
  // The outcome of a delivery, written to the outbox or to the notification kept in memory.
  Result<void> record(const std::string& queue, const Notification& n, int status, Outcome outcome,
                      std::string_view reason, std::int64_t next_ms, std::int64_t now_ms);
  void updateBacklog(std::int64_t now_ms);
  void schedule(std::int64_t now_ms);
  const Receiver* receiver(const std::string& name) const;

  boost::asio::io_context& io_;
  state::Database& db_;
  AlertSources sources_;
  AlertingConfig config_;
  std::string default_external_url_;
  std::unique_ptr<Outbox> outbox_;
  std::unique_ptr<SilenceStore> silences_;
  std::unique_ptr<Notifier> notifier_;
  std::map<std::string, Queue> queues_;                         // by queue name
  std::map<std::string, Templates> templates_;                  // by receiver
  std::set<std::string> alertmanagers_;                         // receivers of type alertmanager
  std::set<std::string> receiver_names_;                        // every receiver
  std::map<std::string, std::string> explained_;                // incident -> what receivers were told explains it
  std::map<std::string, FetchHandle> in_flight_;                // queues with a request out
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);  // what a late completion checks
  std::vector<Message> unsaved_;                                // flushed, not yet written (a failed write)
  std::map<std::string, std::string> unsaved_groups_;           // grouping state not yet written
  // Sent from memory while the state database cannot be written (ids below zero), oldest first per queue.
  struct InMemory {
    Notification notification;
    std::vector<std::string> incidents;
  };
  static constexpr std::size_t kMaxInMemory = 10'000;
  std::map<std::string, std::deque<InMemory>> in_memory_;  // by queue
  std::size_t in_memory_count_ = 0;
  std::int64_t next_memory_id_ = -1;
  std::map<std::string, std::int64_t> in_flight_ids_;  // the notification each busy queue is sending
  // Delivery outcomes of outbox notifications the outbox could not record: kept here, so that a delivered one is
  // not sent again and a retried one waits for its backoff, and recorded once the outbox takes writes again.
  struct Unrecorded {
    std::string queue;
    Outcome outcome = Outcome::retry;
    int status = 0;
    std::string reason;
    std::int64_t next_ms = 0;  // retry: not before
    std::int64_t at_ms = 0;
  };
  std::map<std::int64_t, Unrecorded> unrecorded_;  // by notification id
  // Notifications dropped from memory and outcomes kept there come one per send: a line a minute says so.
  log::Throttle memory_errors_logged_{60'000};
  // Records what unrecorded_ holds; stops at the first write that still fails.
  void recordUnrecorded();
  // Writes one outcome to the outbox.
  Result<void> writeOutcome(std::int64_t id, const Unrecorded& u);
  // Whether an outbox notification is settled here (delivered or failed, not yet recorded) or waits for a retry.
  bool heldBack(const Notification& n, std::int64_t now_ms) const;
  Clock& clock_;
  std::unique_ptr<Timer> timer_;
  std::mt19937_64 rng_{std::random_device{}()};
  std::int64_t pruned_ms_ = 0;
  std::int64_t backlog_ms_ = 0;
  bool restored_ = false;
  bool stopped_ = false;
  prometheus::Family<prometheus::Counter>& sent_;
  prometheus::Family<prometheus::Counter>& failed_;
  prometheus::Family<prometheus::Counter>& retries_;
  prometheus::Family<prometheus::Gauge>& queue_length_;
  prometheus::Family<prometheus::Gauge>& oldest_pending_;
  prometheus::Family<prometheus::Histogram>& latency_;
  prometheus::Counter& template_errors_;
  prometheus::Counter& state_errors_;
};

}  // namespace hotspotd::alerting
