#include "alerting/alert_service.h"

#include <algorithm>
#include <limits>

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "core/log.h"

namespace hotspotd::alerting {
namespace {

// Ticks at least this often: backlog metrics, resends, retries whose time came.
constexpr std::int64_t kMaxSleepMs = 5000;
constexpr std::int64_t kPruneEveryMs = 3'600'000;

// A short label value for why an attempt did not deliver: the HTTP status, or "transport".
std::string reasonLabel(const HttpResponse& r) {
  return r.status == 0 ? std::string("transport") : fmt::format("http_{}", r.status);
}

std::string trimmed(std::string s) {
  const auto first = s.find_first_not_of(" \t\r\n");
  if (first == std::string::npos) return {};
  s.erase(0, first);
  s.erase(s.find_last_not_of(" \t\r\n") + 1);
  return s;
}

// Alertmanager receivers get what their routes take at once, and again every resend_interval while it fires, as
// Prometheus sends alerts; the Alertmanager groups, silences and inhibits by its own configuration.
void alertmanagerTiming(Route& route, const std::set<std::string>& alertmanagers, Duration resend) {
  if (alertmanagers.count(route.receiver)) {
    route.group_wait = Duration::zero();
    route.group_interval = Duration::zero();
    route.repeat_interval = resend;
  }
  for (auto& child : route.routes) alertmanagerTiming(child, alertmanagers, resend);
}

}  // namespace

AlertService::AlertService(boost::asio::io_context& io, Clock& clock, state::Database& db, AlertSources sources,
                           prometheus::Registry& registry)
    : io_(io),
      db_(db),
      sources_(std::move(sources)),
      clock_(clock),
      timer_(clock.timer(io, TimerOrder::act)),
      sent_(prometheus::BuildCounter()
                .Name("hotspotd_notifications_sent_total")
                .Help("Notifications a receiver accepted, by receiver (an Alertmanager of a receiver: name[i]).")
                .Register(registry)),
      failed_(prometheus::BuildCounter()
                  .Name("hotspotd_notifications_failed_total")
                  .Help("Notifications given up for good (a permanent error: bad payload, revoked token, deleted "
                        "webhook), by receiver and reason.")
                  .Register(registry)),
      retries_(prometheus::BuildCounter()
                   .Name("hotspotd_notification_retries_total")
                   .Help("Delivery attempts that failed and will be retried, by receiver and reason.")
                   .Register(registry)),
      queue_length_(prometheus::BuildGauge()
                        .Name("hotspotd_notifications_queue_length")
                        .Help("Notifications waiting to be delivered, by receiver.")
                        .Register(registry)),
      oldest_pending_(prometheus::BuildGauge()
                          .Name("hotspotd_notifications_oldest_pending_seconds")
                          .Help("Age of the oldest notification waiting to be delivered, by receiver (0: none).")
                          .Register(registry)),
      latency_(prometheus::BuildHistogram()
                   .Name("hotspotd_notification_delivery_seconds")
                   .Help("From a notification's creation to its delivery, retries included, by receiver.")
                   .Register(registry)),
      template_errors_(prometheus::BuildCounter()
                           .Name("hotspotd_notification_template_errors_total")
                           .Help("Receiver templates that rendered empty; the default text was sent instead.")
                           .Register(registry)
                           .Add({})),
      state_errors_(prometheus::BuildCounter()
                        .Name("hotspotd_alerting_state_write_errors_total")
                        .Help("Failed writes of notifications or grouping state to the state database (retried).")
                        .Register(registry)
                        .Add({})) {}

AlertService::~AlertService() {
  stop();
}

Result<void> AlertService::open() {
  auto outbox = Outbox::open(db_);
  if (!outbox) return tl::unexpected(outbox.error());
  outbox_ = std::make_unique<Outbox>(std::move(*outbox));
  auto silences = SilenceStore::open(db_);
  if (!silences) return tl::unexpected(silences.error());
  silences_ = std::make_unique<SilenceStore>(std::move(*silences));
  return {};
}

const Receiver* AlertService::receiver(const std::string& name) const {
  for (const auto& r : config_.receivers) {
    if (r.name == name) return &r;
  }
  return nullptr;
}

void AlertService::apply(const AlertingConfig& config) {
  const std::int64_t now = clock_.nowMs();
  std::vector<std::pair<std::string, std::string>> held;
  if (notifier_) held = notifier_->saveAll();
  config_ = config;
  notifier_.reset();
  std::map<std::string, Queue> queues;
  templates_.clear();
  std::set<std::string> alertmanagers, resolutions;
  for (const auto& r : config_.receivers) {
    if (r.type == ReceiverType::alertmanager) alertmanagers.insert(r.name);
    if (r.send_resolved) resolutions.insert(r.name);
    const auto names = queuesOf(r);
    for (std::size_t i = 0; i < names.size(); ++i) {
      Queue q;
      q.receiver = &r;
      q.url_index = i;
      q.tokens = r.burst;
      q.refilled_ms = now;
      if (auto old = queues_.find(names[i]); old != queues_.end()) {
        q.tokens = std::min(old->second.tokens, r.burst);
        q.refilled_ms = old->second.refilled_ms;
        q.paused_until_ms = old->second.paused_until_ms;
      }
      queues.emplace(names[i], q);
    }
    Templates t;
    if (!r.title.empty()) {
      if (auto parsed = rules::Template::parse(r.title)) t.title = std::move(*parsed);
    }
    if (!r.text.empty()) {
      if (auto parsed = rules::Template::parse(r.text)) t.text = std::move(*parsed);
    }
    templates_.emplace(r.name, std::move(t));
  }
  queues_ = std::move(queues);
  if (outbox_) {
    // Notifications for receivers the configuration no longer has cannot be sent: they end as failed, loudly.
    if (auto pending = outbox_->pendingQueues()) {
      for (const auto& queue : *pending) {
        if (queues_.count(queue)) continue;
        auto n = outbox_->failPending(queue, "the receiver is no longer in the configuration", now);
        log::error("Dropping notifications of a receiver removed from the configuration",
                   {{"receiver", queue}, {"notifications", n ? *n : 0}});
      }
    }
  }
  if (!config_.route.receiver.empty()) {
    Route root = config_.route;
    finishRoutes(root);
    alertmanagerTiming(root, alertmanagers, config_.resend_interval);
    alertmanagers_ = alertmanagers;
    receiver_names_.clear();
    for (const auto& r : config.receivers) receiver_names_.insert(r.name);
    notifier_ = std::make_unique<Notifier>(std::move(root), config_.inhibit_rules, std::move(resolutions));
    if (!held.empty()) notifier_->restore(held, now);
    if (restored_) reconcile(now);
  }
  if (!stopped_ && outbox_) boost::asio::post(io_, [this] { tick(); });
}

AlertInfo AlertService::alertOf(const rules::IncidentEvent& e) {
  AlertInfo a;
  a.id = e.id;
  a.alertname = e.alertname;
  a.severity = e.severity;
  a.firing = e.state == rules::IncidentEvent::State::firing;
  a.labels = e.labels.empty() ? e.endpoint : e.labels;
  // Routes and Alertmanager read severity as a label, as in Prometheus rules.
  if (!a.severity.empty() &&
      std::none_of(a.labels.begin(), a.labels.end(), [](const auto& l) { return l.first == "severity"; })) {
    a.labels.emplace_back("severity", a.severity);
    std::sort(a.labels.begin(), a.labels.end());
  }
  a.annotations = e.annotations;
  // As Prometheus sends alerts: startsAt is when the alert fired, not when it began pending. (An Alertmanager
  // notifies a new group at once when startsAt is older than its group_wait.)
  if (e.fired_ms > 0) {
    a.starts_ms = e.fired_ms;
  } else {
    a.starts_ms = a.firing || e.started_ms <= 0 ? e.t_ms : e.started_ms;
  }
  a.ends_ms = a.firing ? 0 : e.t_ms;
  a.value = e.value;
  a.threshold = e.threshold;
  a.evidence = e.evidence;
  a.reason = e.reason;
  return a;
}

void AlertService::observe(const AlertInfo& alert, std::int64_t now_ms) {
  if (!notifier_) return;
  notifier_->observe(alert, now_ms);
  if (!alert.firing) {
    explained_.erase(alert.id);
    return;
  }
  if (sources_.capture_deadline) {
    if (const std::int64_t until = sources_.capture_deadline(alert.id); until > now_ms) {
      notifier_->hold(alert.id, until);
    }
  }
}

void AlertService::reconcile(std::int64_t now_ms) {
  if (!notifier_) return;
  const auto held = notifier_->alerts();
  std::set<std::string> firing_now;
  // Fired while the grouping state was not yet saved: notify it.
  for (const auto& e : sources_.firing ? sources_.firing() : std::vector<rules::IncidentEvent>{}) {
    firing_now.insert(e.id);
    if (!held.count(e.id)) observe(alertOf(e), now_ms);
  }
  // Resolved while the grouping state still had it firing: send the resolution.
  for (const auto& [id, firing] : held) {
    if (!firing || firing_now.count(id) || !sources_.resolution) continue;
    if (auto event = sources_.resolution(id)) {
      if (event->id.empty()) event->id = id;
      observe(alertOf(*event), now_ms);
    }
  }
}

void AlertService::restore() {
  restored_ = true;
  const std::int64_t now = clock_.nowMs();
  if (notifier_ && outbox_) {
    auto saved = outbox_->loadGroups();
    if (!saved) {
      log::error("Cannot read the saved alert groups; open incidents are notified again",
                 {{"error", saved.error().message}});
    } else {
      notifier_->restore(*saved, now);
    }
  }
  reconcile(now);
  std::size_t groups = notifier_ ? notifier_->groupCount() : 0;
  if (groups > 0) log::info("Alert groups restored", {{"groups", groups}});
}

void AlertService::onEvents(const std::vector<rules::IncidentEvent>& events) {
  if (stopped_ || !notifier_) return;
  const std::int64_t now = clock_.nowMs();
  for (const auto& e : events) observe(alertOf(e), now);
  tick();
}

void AlertService::onProfile(const std::string& incident_id, bool stored) {
  if (stopped_ || !notifier_) return;
  const std::int64_t now = clock_.nowMs();
  notifier_->release(incident_id);
  if (stored) {
    // What the newest profile names, against what receivers were last told: news goes to every receiver that was
    // told (the first profile of an incident paged before it, an off-CPU capture that names the wait).
    const std::string explains = sources_.evidence ? sources_.evidence(incident_id).explains : std::string();
    auto it = explained_.find(incident_id);
    if (it == explained_.end() || it->second != explains) {
      explained_[incident_id] = explains;
      notifier_->refresh(incident_id, receiver_names_, now);
    } else if (!alertmanagers_.empty()) {
      notifier_->refresh(incident_id, alertmanagers_, now);
    }
  }
  tick();
}

void AlertService::stop() {
  if (stopped_) return;
  stopped_ = true;
  // Deliveries under way are cancelled: each stays pending in the outbox and goes after the restart.
  auto in_flight = std::move(in_flight_);
  for (const auto& [queue, handle] : in_flight) handle.cancel();
  timer_->cancel();
  in_flight_ids_.clear();
  if (outbox_) {
    recordUnrecorded();
    if (!unrecorded_.empty()) {
      log::error(
          "Delivery outcomes kept in memory are lost: the state database still cannot be written; those "
          "notifications go again after the restart",
          {{"notifications", unrecorded_.size()}});
    }
    saveGroups(clock_.nowMs());
    if (in_memory_count_ > 0 && !persistInMemory()) {
      log::error("Notifications kept in memory are lost: the state database still cannot be written",
                 {{"notifications", in_memory_count_}});
    }
  }
}

void AlertService::tick() {
  if (stopped_ || !outbox_) return;
  const std::int64_t now = clock_.nowMs();
  flush(now);
  if (!unrecorded_.empty()) recordUnrecorded();
  if (in_memory_count_ > 0) persistInMemory();
  pump(now);
  if (now - backlog_ms_ >= 1000) updateBacklog(now);
  if (now - pruned_ms_ >= kPruneEveryMs) {
    pruned_ms_ = now;
    const std::int64_t before =
        now - std::chrono::duration_cast<std::chrono::milliseconds>(config_.history_retention).count();
    auto a = outbox_->prune(before);
    auto b = silences_->prune(before);
    if (!a || !b) log::warn("Cannot prune the notification history", {{"error", (!a ? a.error() : b.error()).message}});
  }
  schedule(now);
}

void AlertService::enrich(AlertInfo& a, const Receiver& r) {
  const std::string& base = externalUrl();
  a.incident_url = fmt::format("{}/incidents/{}", base, a.id);
  if (sources_.evidence) {
    IncidentEvidence e = sources_.evidence(a.id);
    if (!e.profile_id.empty()) {
      a.flamegraph_url = fmt::format("{}/api/v1/profiles/{}.svg", base, e.profile_id);
      if (e.has_diff) a.diff_url = fmt::format("{}/api/v1/profiles/{}.diff.svg", base, e.profile_id);
      if (e.has_offcpu_graph) a.offcpu_url = fmt::format("{}/api/v1/profiles/{}.offcpu.svg", base, e.profile_id);
    }
    a.grown = std::move(e.grown);
    a.profile_explanation = std::move(e.explanation);
    a.trace_urls = std::move(e.trace_urls);
  }
  auto t = templates_.find(r.name);
  if (t == templates_.end()) return;
  rules::TemplateData data;
  data.labels = &a.labels;
  data.value = a.value;
  data.threshold = a.threshold;
  data.evidence = &a.evidence;
  data.alertname = a.alertname;
  data.severity = a.severity;
  // A Slack text is mrkdwn: the values put into it are escaped (the title is plain text everywhere).
  auto render = [&](const std::optional<rules::Template>& tpl, std::string_view what, bool markup) {
    if (!tpl) return std::string();
    std::string out = trimmed(tpl->render(data, markup && r.type == ReceiverType::slack ? slackEscape : nullptr));
    if (out.empty()) {
      template_errors_.Increment();
      log::warn("A receiver template rendered nothing; sending the default text",
                {{"receiver", r.name}, {"template", what}, {"incident", a.id}});
    }
    return out;
  };
  a.title = render(t->second.title, "title", false);
  a.text = render(t->second.text, "text", true);
}

void AlertService::flush(std::int64_t now_ms) {
  if (notifier_) {
    for (auto& f : notifier_->due(now_ms, silences_->current())) {
      const Receiver* r = receiver(f.group.receiver);
      if (!r) continue;
      for (auto& a : f.group.alerts) enrich(a, *r);
      f.group.external_url = externalUrl();
      const std::int64_t resolve_timeout =
          4 * std::chrono::duration_cast<std::chrono::milliseconds>(config_.resend_interval).count();
      for (auto& m : messagesFor(*r, f.group, now_ms, resolve_timeout)) unsaved_.push_back(std::move(m));
    }
    for (auto& [key, state] : notifier_->takeDirty()) unsaved_groups_[key] = std::move(state);
  }
  saveGroups(now_ms);
}

void AlertService::saveGroups(std::int64_t now_ms) {
  if (unsaved_.empty() && unsaved_groups_.empty()) return;
  // The messages and the grouping state that says they were sent go together, or neither does (and both are
  // tried again at the next tick).
  auto ok = db_.begin();
  for (const auto& m : unsaved_) {
    if (!ok) break;
    auto id = outbox_->enqueue(m.queue, m.key, m.payload, "application/json", now_ms, m.incidents);
    if (!id) ok = tl::unexpected(id.error());
  }
  for (const auto& [key, state] : unsaved_groups_) {
    if (!ok) break;
    ok = outbox_->saveGroup(key, state, now_ms);
  }
  if (ok) ok = db_.commit();
  if (!ok) {
    db_.rollback();
    state_errors_.Increment();
    // A page does not wait for a disk: the messages go out from memory; the grouping state is tried again at the
    // next tick.
    if (!unsaved_.empty()) {
      log::error("Cannot write notifications to the state database; sending them from memory",
                 {{"notifications", unsaved_.size()}, {"error", ok.error().message}});
    }
    keepInMemory(std::move(unsaved_), now_ms);
    unsaved_.clear();
    return;
  }
  if (!unsaved_.empty()) {
    std::set<std::string> queues;
    for (const auto& m : unsaved_) {
      queues.insert(m.queue);
      log::debug("Notification queued", {{"receiver", m.queue}, {"key", m.key}, {"alerts", m.incidents.size()}});
    }
    log::info("Notifications queued", {{"notifications", unsaved_.size()}, {"receivers", queues.size()}});
  }
  unsaved_.clear();
  unsaved_groups_.clear();
}

void AlertService::pump(std::int64_t now_ms) {
  for (auto& [name, q] : queues_) {
    if (in_flight_.count(name) || now_ms < q.paused_until_ms) continue;
    if (q.receiver->rate > 0) {
      q.tokens = std::min(q.receiver->burst,
                          q.tokens + static_cast<double>(now_ms - q.refilled_ms) / 1000.0 * q.receiver->rate);
      q.refilled_ms = now_ms;
      if (q.tokens < 1) continue;
    }
    auto next = nextFor(name, now_ms);
    if (!next) continue;
    if (q.receiver->rate > 0) q.tokens -= 1;
    send(name, *next);
  }
}

bool AlertService::heldBack(const Notification& n, std::int64_t now_ms) const {
  auto u = unrecorded_.find(n.id);
  if (u == unrecorded_.end()) return false;
  return u->second.outcome != Outcome::retry || u->second.next_ms > now_ms;
}

std::optional<Notification> AlertService::nextFor(const std::string& queue, std::int64_t now_ms) {
  auto due = outbox_->due(queue, now_ms, 1 + unrecorded_.size());
  if (!due) {
    log::error("Cannot read the outbox", {{"receiver", queue}, {"error", due.error().message}});
  } else {
    for (const auto& n : *due) {
      if (!heldBack(n, now_ms)) return n;
    }
  }
  auto kept = in_memory_.find(queue);
  if (kept == in_memory_.end() || kept->second.empty()) return std::nullopt;
  const Notification& n = kept->second.front().notification;
  if (n.next_ms > now_ms) return std::nullopt;
  // Order per key: what the outbox still holds for this queue (waiting for a retry) was queued earlier, and goes
  // first - a resolution must not overtake its firing. (What is delivered but not yet recorded does not count.)
  if (auto pending = outbox_->due(queue, std::numeric_limits<std::int64_t>::max(), 1 + unrecorded_.size())) {
    for (const auto& p : *pending) {
      const auto u = unrecorded_.find(p.id);
      if (u == unrecorded_.end() || u->second.outcome == Outcome::retry) return std::nullopt;
    }
  }
  return n;
}

void AlertService::recordUnrecorded() {
  for (auto it = unrecorded_.begin(); it != unrecorded_.end();) {
    if (!writeOutcome(it->first, it->second)) return;
    it = unrecorded_.erase(it);
  }
}

void AlertService::keepInMemory(std::vector<Message> messages, std::int64_t now_ms) {
  for (auto& m : messages) {
    auto& kept = in_memory_[m.queue];
    if (in_memory_count_ >= kMaxInMemory && !kept.empty()) {
      // Bounded: the oldest of this queue goes (unless it is being sent).
      auto oldest = kept.begin();
      if (in_flight_ids_.count(m.queue) && in_flight_ids_[m.queue] == oldest->notification.id) ++oldest;
      if (oldest != kept.end()) {
        failed_.Add({{"receiver", m.queue}, {"reason", "memory_full"}}).Increment();
        if (memory_errors_logged_.allow(now_ms)) {
          log::error(
              "Dropping a notification kept in memory: too many wait while the state database cannot be "
              "written",
              {{"receiver", m.queue},
               {"key", oldest->notification.key},
               {"kept", in_memory_count_},
               {"similar_errors_not_logged", memory_errors_logged_.suppressed()}});
        }
        kept.erase(oldest);
        --in_memory_count_;
      }
    }
    InMemory entry;
    entry.notification.id = next_memory_id_--;
    entry.notification.receiver = m.queue;
    entry.notification.key = m.key;
    entry.notification.payload = std::move(m.payload);
    entry.notification.created_ms = now_ms;
    entry.notification.next_ms = now_ms;
    entry.incidents = std::move(m.incidents);
    kept.push_back(std::move(entry));
    ++in_memory_count_;
  }
}

bool AlertService::persistInMemory() {
  if (in_memory_count_ == 0) return true;
  auto ok = db_.begin();
  std::size_t moved = 0;
  for (auto& [queue, kept] : in_memory_) {
    for (const auto& e : kept) {
      if (!ok) break;
      const auto busy = in_flight_ids_.find(queue);
      if (busy != in_flight_ids_.end() && busy->second == e.notification.id) continue;  // written when it ends
      auto id = outbox_->enqueue(queue, e.notification.key, e.notification.payload, e.notification.content_type,
                                 e.notification.created_ms, e.incidents);
      if (!id) ok = tl::unexpected(id.error());
      if (id && e.notification.attempts > 0) {
        ok = outbox_->carryOver(*id, e.notification.attempts, e.notification.next_ms, e.notification.last_status,
                                e.notification.last_error);
      }
      ++moved;
    }
  }
  if (ok) ok = db_.commit();
  if (!ok) {
    db_.rollback();
    return false;
  }
  for (auto& [queue, kept] : in_memory_) {
    const auto busy = in_flight_ids_.find(queue);
    std::erase_if(kept,
                  [&](const InMemory& e) { return busy == in_flight_ids_.end() || busy->second != e.notification.id; });
  }
  in_memory_count_ = 0;
  for (const auto& [queue, kept] : in_memory_) in_memory_count_ += kept.size();
  log::info("Notifications kept in memory written to the outbox", {{"notifications", moved}});
  return true;
}

Result<void> AlertService::writeOutcome(std::int64_t id, const Unrecorded& u) {
  switch (u.outcome) {
    case Outcome::delivered: return outbox_->delivered(id, u.status, u.at_ms);
    case Outcome::retry: return outbox_->retry(id, u.next_ms, u.status, u.reason);
    case Outcome::permanent: break;
  }
  return outbox_->failed(id, u.status, u.reason, u.at_ms);
}

Result<void> AlertService::record(const std::string& queue, const Notification& n, int status, Outcome outcome,
                                  std::string_view reason, std::int64_t next_ms, std::int64_t now_ms) {
  if (n.id >= 0) {
    Unrecorded u{queue, outcome, status, std::string(reason), next_ms, now_ms};
    Result<void> written = writeOutcome(n.id, u);
    if (written) {
      unrecorded_.erase(n.id);
    } else {
      unrecorded_[n.id] = std::move(u);
    }
    return written;
  }
  auto& kept = in_memory_[queue];
  auto it = std::find_if(kept.begin(), kept.end(), [&](const InMemory& e) { return e.notification.id == n.id; });
  if (it == kept.end()) return {};  // dropped meanwhile
  if (outcome == Outcome::retry) {
    it->notification.attempts += 1;
    it->notification.next_ms = next_ms;
    it->notification.last_status = status;
    it->notification.last_error = std::string(reason);
  } else {
    kept.erase(it);
    --in_memory_count_;
  }
  return {};
}

void AlertService::send(const std::string& queue, const Notification& n) {
  const Queue& q = queues_.at(queue);
  const HttpRequest request = requestFor(*q.receiver, q.url_index, n.payload);
  const auto start = std::chrono::steady_clock::now();
  in_flight_ids_[queue] = n.id;
  in_flight_[queue] =
      post(io_, request, [this, alive = std::weak_ptr<bool>(alive_), queue, n, start](HttpResponse response) {
        if (alive.expired()) return;  // the service is gone; its io_context ran on
        in_flight_.erase(queue);
        in_flight_ids_.erase(queue);
        // Cancelled by stop(): the notification stays pending and goes after the restart.
        if (response.cancelled || stopped_) return;
        finished(queue, n, response, std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      });
}

void AlertService::finished(const std::string& queue, const Notification& n, const HttpResponse& response,
                            double seconds) {
  const std::int64_t now = clock_.nowMs();
  auto q = queues_.find(queue);
  const ReceiverRules rules = q != queues_.end() ? rulesFor(*q->second.receiver) : ReceiverRules{};
  const Verdict v = judge(response, rules, now);
  Result<void> written;
  switch (v.outcome) {
    case Outcome::delivered:
      written = record(queue, n, response.status, Outcome::delivered, {}, 0, now);
      sent_.Add({{"receiver", queue}}).Increment();
      latency_
          .Add({{"receiver", queue}}, prometheus::Histogram::BucketBoundaries{0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10,
                                                                              30, 60, 300, 1800, 3600})
          .Observe(static_cast<double>(now - n.created_ms) / 1000.0);
      log::info("Notification delivered", {{"receiver", queue},
                                           {"key", n.key},
                                           {"status", response.status},
                                           {"attempts", n.attempts + 1},
                                           {"seconds", seconds}});
      break;
    case Outcome::retry: {
      const Duration wait =
          v.retry_after ? *v.retry_after : backoff(n.attempts, config_.retry_min, config_.retry_max, rng_);
      const std::int64_t wait_ms = std::chrono::duration_cast<std::chrono::milliseconds>(wait).count();
      written = record(queue, n, response.status, Outcome::retry, v.reason, now + wait_ms, now);
      // A receiver that asked to wait (429, 503 with Retry-After) is not sent anything else before then.
      if (v.retry_after && q != queues_.end()) q->second.paused_until_ms = now + wait_ms;
      retries_.Add({{"receiver", queue}, {"reason", reasonLabel(response)}}).Increment();
      log::warn("Notification not delivered; will retry", {{"receiver", queue},
                                                           {"key", n.key},
                                                           {"reason", v.reason},
                                                           {"attempts", n.attempts + 1},
                                                           {"retry_in", formatDuration(wait)}});
      break;
    }
    case Outcome::permanent:
      written = record(queue, n, response.status, Outcome::permanent, v.reason, 0, now);
      failed_.Add({{"receiver", queue}, {"reason", reasonLabel(response)}}).Increment();
      log::error("Notification rejected by the receiver; not retrying",
                 {{"receiver", queue}, {"key", n.key}, {"reason", v.reason}, {"attempts", n.attempts + 1}});
      break;
  }
  if (!written) {
    // Kept in memory (unrecorded_): a delivered notification is not sent again, a retry keeps its backoff, and the
    // outcome is written once the outbox takes writes again. Only a restart before then sends it again (with the
    // same dedup key).
    state_errors_.Increment();
    if (memory_errors_logged_.allow(now)) {
      log::error("Cannot record a delivery outcome; kept in memory",
                 {{"receiver", queue},
                  {"error", written.error().message},
                  {"similar_errors_not_logged", memory_errors_logged_.suppressed()}});
    }
  }
  pump(now);
  schedule(now);
}

void AlertService::updateBacklog(std::int64_t now_ms) {
  backlog_ms_ = now_ms;
  auto backlog = outbox_->backlog();
  if (!backlog) return;
  std::map<std::string, std::pair<std::int64_t, std::int64_t>> by_queue;
  for (const auto& [name, q] : queues_) by_queue[name] = {0, 0};
  for (const auto& b : *backlog) by_queue[b.receiver] = {b.pending, b.oldest_ms};
  for (const auto& [name, kept] : in_memory_) {
    if (kept.empty()) continue;
    auto& [pending, oldest] = by_queue[name];
    const std::int64_t memory_oldest = kept.front().notification.created_ms;
    oldest = pending > 0 ? std::min(oldest, memory_oldest) : memory_oldest;
    pending += static_cast<std::int64_t>(kept.size());
  }
  for (const auto& [name, v] : by_queue) {
    queue_length_.Add({{"receiver", name}}).Set(static_cast<double>(v.first));
    oldest_pending_.Add({{"receiver", name}})
        .Set(v.first > 0 ? static_cast<double>(std::max<std::int64_t>(0, now_ms - v.second)) / 1000.0 : 0.0);
  }
}

void AlertService::schedule(std::int64_t now_ms) {
  if (stopped_) return;
  std::int64_t next = now_ms + kMaxSleepMs;
  if (notifier_) {
    if (const std::int64_t wake = notifier_->nextWakeMs(); wake > 0) next = std::min(next, wake);
  }
  for (const auto& [name, q] : queues_) {
    if (in_flight_.count(name)) continue;
    std::optional<std::int64_t> due_ms;
    if (auto due = outbox_->nextDue(name); due && *due) due_ms = **due;
    // What the outbox has due may be held back here (an outcome not recorded yet): look again in a second, not
    // at once; a retry held here is due at its own time.
    if (due_ms && *due_ms <= now_ms && !unrecorded_.empty()) due_ms = now_ms + 1000;
    for (const auto& [id, u] : unrecorded_) {
      if (u.queue == name && u.outcome == Outcome::retry) due_ms = due_ms ? std::min(*due_ms, u.next_ms) : u.next_ms;
    }
    if (auto kept = in_memory_.find(name); kept != in_memory_.end() && !kept->second.empty()) {
      const std::int64_t memory_due = kept->second.front().notification.next_ms;
      due_ms = due_ms ? std::min(*due_ms, memory_due) : memory_due;
    }
    if (!due_ms) continue;
    std::int64_t at = std::max(*due_ms, q.paused_until_ms);
    if (q.receiver->rate > 0 && q.tokens < 1) {
      at = std::max(at, now_ms + static_cast<std::int64_t>((1 - q.tokens) / q.receiver->rate * 1000.0) + 1);
    }
    next = std::min(next, at);
  }
  next = std::max(next, now_ms + 1);
  timer_->at(next, [this] { tick(); });
}

Result<std::vector<Silence>> AlertService::silences() {
  if (!silences_) return fail("alerting is not running");
  return silences_->list();
}

Result<Silence> AlertService::createSilence(const SilenceRequest& request) {
  if (!silences_) return fail("alerting is not running");
  auto s = silences_->create(request, clock_.nowMs());
  if (s) {
    log::info("Silence created", {{"id", s->id}, {"created_by", s->created_by}, {"comment", s->comment}});
  }
  return s;
}

Result<bool> AlertService::expireSilence(const std::string& id) {
  if (!silences_) return fail("alerting is not running");
  auto expired = silences_->expire(id, clock_.nowMs());
  if (expired && *expired) {
    log::info("Silence expired", {{"id", id}});
    // Alerts it muted go out at their group's next flush.
    boost::asio::post(io_, [this] { tick(); });
  }
  return expired;
}

Result<std::vector<Notification>> AlertService::history(const std::string& incident, std::size_t limit) {
  if (!outbox_) return fail("alerting is not running");
  if (incident.empty()) return outbox_->history("", limit);
  return outbox_->historyOf(incident, limit);
}

}  // namespace hotspotd::alerting
