#include "alerting/notifier.h"

#include <algorithm>
#include <cmath>

#include <nlohmann/json.hpp>

#include "core/text.h"

namespace hotspotd::alerting {
namespace {

LabelView viewOf(const AlertInfo& a) {
  LabelView v;
  bool has_name = false;
  for (const auto& [k, val] : a.labels) {
    v.emplace_back(k, val);
    has_name = has_name || k == "alertname";
  }
  if (!has_name) v.emplace_back("alertname", a.alertname);
  return v;
}

nlohmann::json alertJson(const AlertInfo& a) {
  nlohmann::json evidence = nlohmann::json::array();
  for (const auto& [k, v] : a.evidence) evidence.push_back({k, std::isfinite(v) ? nlohmann::json(v) : nlohmann::json()});
  auto finite = [](double v) { return std::isfinite(v) ? nlohmann::json(v) : nlohmann::json(); };
  return {{"id", a.id},         {"alertname", a.alertname},   {"severity", a.severity},
          {"firing", a.firing}, {"labels", a.labels},         {"annotations", a.annotations},
          {"starts_ms", a.starts_ms}, {"ends_ms", a.ends_ms}, {"value", finite(a.value)},
          {"threshold", finite(a.threshold)}, {"evidence", evidence}, {"reason", a.reason}};
}

std::optional<AlertInfo> alertOf(const nlohmann::json& j) {
  try {
    AlertInfo a;
    a.id = j.at("id").get<std::string>();
    a.alertname = j.at("alertname").get<std::string>();
    a.severity = j.at("severity").get<std::string>();
    a.firing = j.at("firing").get<bool>();
    a.labels = j.at("labels").get<rules::OwnedLabels>();
    a.annotations = j.at("annotations").get<rules::OwnedLabels>();
    a.starts_ms = j.at("starts_ms").get<std::int64_t>();
    a.ends_ms = j.at("ends_ms").get<std::int64_t>();
    auto number = [](const nlohmann::json& v) { return v.is_number() ? v.get<double>() : NAN; };
    a.value = number(j.at("value"));
    a.threshold = number(j.at("threshold"));
    for (const auto& e : j.at("evidence")) a.evidence.emplace_back(e.at(0).get<std::string>(), number(e.at(1)));
    a.reason = j.at("reason").get<std::string>();
    return a;
  } catch (const nlohmann::json::exception&) {
    return std::nullopt;
  }
}

}  // namespace

std::string alertToJson(const AlertInfo& a) { return jsonText(alertJson(a)); }

std::optional<AlertInfo> alertFromJson(const std::string& text) {
  auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded()) return std::nullopt;
  return alertOf(j);
}

Notifier::Notifier(Route root, std::vector<InhibitRule> inhibit, std::set<std::string> send_resolved)
    : root_(std::move(root)), inhibit_(std::move(inhibit)), send_resolved_(std::move(send_resolved)) {
  finishRoutes(root_);
}

void Notifier::observe(const AlertInfo& alert, std::int64_t now_ms) {
  const LabelView labels = viewOf(alert);
  for (const Route* route : routesFor(root_, labels)) {
    const std::string key = groupKey(*route, labels);
    // A resolution of an alert no group has: nothing to say, and no group to make for it.
    if (!alert.firing && groups_.find(key) == groups_.end()) continue;
    auto [it, added] = groups_.try_emplace(key);
    Group& g = it->second;
    if (added) {
      g.route = route;
      g.labels = groupLabels(*route, labels);
      g.next_ms = now_ms + route->group_wait.count();
    }
    auto m = g.members.find(alert.id);
    if (m == g.members.end()) {
      if (!alert.firing) continue;  // a resolution of an alert this group never had: nothing to say
      g.members.emplace(alert.id, Member{alert, true, false});
    } else {
      m->second.alert = alert;
      m->second.changed = true;
    }
    dirty_.insert(key);
  }
}

void Notifier::refresh(const std::string& alert_id, const std::set<std::string>& receivers, std::int64_t now_ms) {
  for (auto& [key, g] : groups_) {
    if (!receivers.count(g.route->receiver)) continue;
    auto m = g.members.find(alert_id);
    if (m == g.members.end() || !m->second.alert.firing || !m->second.sent_firing) continue;
    m->second.changed = true;
    g.next_ms = std::min(g.next_ms, now_ms);
    dirty_.insert(key);
  }
}

void Notifier::hold(const std::string& alert_id, std::int64_t until_ms) {
  for (auto& [key, g] : groups_) {
    auto m = g.members.find(alert_id);
    if (m != g.members.end() && m->second.alert.firing && !m->second.sent_firing) m->second.hold_until_ms = until_ms;
  }
}

void Notifier::release(const std::string& alert_id) {
  for (auto& [key, g] : groups_) {
    if (auto m = g.members.find(alert_id); m != g.members.end()) m->second.hold_until_ms = 0;
  }
}

namespace {

// Until when a group's first notification of one of its alerts waits for that alert's profile (0: it does not).
template <typename Members>
std::int64_t heldUntil(const Members& members) {
  std::int64_t until = 0;
  for (const auto& [id, m] : members) {
    if (m.alert.firing && !m.sent_firing && m.changed) until = std::max(until, m.hold_until_ms);
  }
  return until;
}

}  // namespace

std::vector<Flush> Notifier::due(std::int64_t now_ms, const std::vector<Silence>& silences) {
  // The firing alerts, for inhibition.
  std::vector<LabelView> firing;
  for (const auto& [key, g] : groups_) {
    for (const auto& [id, m] : g.members) {
      if (m.alert.firing) firing.push_back(viewOf(m.alert));
    }
  }
  std::vector<Flush> out;
  for (auto it = groups_.begin(); it != groups_.end();) {
    Group& g = it->second;
    const Route& route = *g.route;
    if (now_ms < g.next_ms || now_ms < heldUntil(g.members)) {
      ++it;
      continue;
    }
    const bool resolutions = send_resolved_.count(route.receiver) > 0;
    // What each member would say now: muted alerts say nothing; a resolution only to a receiver that wants
    // resolutions and heard the alert fire.
    std::vector<std::pair<Member*, bool>> members;  // member, sendable
    bool changed = false, repeatable = false, silent_resolutions = false;
    for (auto& [id, m] : g.members) {
      const LabelView labels = viewOf(m.alert);
      const bool muted = silencedBy(labels, silences, now_ms) != nullptr ||
                         (m.alert.firing && inhibited(labels, firing, inhibit_));
      const bool sendable = !muted && (m.alert.firing || (resolutions && m.sent_firing));
      members.emplace_back(&m, sendable);
      changed = changed || (m.changed && sendable);
      repeatable = repeatable || (sendable && m.alert.firing);
      silent_resolutions = silent_resolutions || !m.alert.firing;
    }
    const bool repeat = !changed && repeatable && g.last_ms > 0 && now_ms - g.last_ms >= route.repeat_interval.count();
    if (!changed && !repeat) {
      // Nothing to say: resolutions nobody hears leave quietly; muted changes are looked at again a group_interval
      // later (a silence may have ended).
      if (silent_resolutions) {
        std::erase_if(g.members, [](const auto& m) { return !m.second.alert.firing; });
        dirty_.insert(it->first);
      }
      if (std::any_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.changed; })) {
        g.next_ms = now_ms + std::max<std::int64_t>(route.group_interval.count(), 1000);
      }
      if (g.members.empty()) {
        dirty_.insert(it->first);
        it = groups_.erase(it);
      } else {
        ++it;
      }
      continue;
    }
    Flush f;
    f.route = &route;
    f.group.receiver = route.receiver;
    f.group.group_key = it->first;
    f.group.group_labels = g.labels;
    for (auto& [m, sendable] : members) {
      if (!sendable) continue;
      f.group.alerts.push_back(m->alert);
      if (m->alert.firing) {
        m->sent_firing = true;
        m->changed = false;
      }
    }
    // Resolved alerts leave (sent or not).
    std::erase_if(g.members, [](const auto& m) { return !m.second.alert.firing; });
    dirty_.insert(it->first);
    g.last_ms = now_ms;
    g.next_ms = now_ms + route.group_interval.count();
    if (!f.group.alerts.empty()) out.push_back(std::move(f));
    if (g.members.empty()) {
      dirty_.insert(it->first);
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::string Notifier::saveGroup(const Group& g) const {
  nlohmann::json members = nlohmann::json::array();
  for (const auto& [id, m] : g.members) {
    members.push_back({{"alert", alertJson(m.alert)}, {"changed", m.changed}, {"sent_firing", m.sent_firing}});
  }
  return jsonText(nlohmann::json{{"next_ms", g.next_ms}, {"last_ms", g.last_ms}, {"members", members}});
}

std::vector<std::pair<std::string, std::string>> Notifier::takeDirty() {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& key : dirty_) {
    auto it = groups_.find(key);
    out.emplace_back(key, it == groups_.end() ? std::string() : saveGroup(it->second));
  }
  dirty_.clear();
  return out;
}

std::vector<std::pair<std::string, std::string>> Notifier::saveAll() const {
  std::vector<std::pair<std::string, std::string>> out;
  for (const auto& [key, g] : groups_) out.emplace_back(key, saveGroup(g));
  return out;
}

void Notifier::restore(const std::vector<std::pair<std::string, std::string>>& saved, std::int64_t now_ms) {
  for (const auto& [key, text] : saved) {
    auto j = nlohmann::json::parse(text, nullptr, /*allow_exceptions=*/false);
    if (j.is_discarded() || !j.contains("members")) continue;
    const std::int64_t next_ms = j.value("next_ms", std::int64_t{0});
    const std::int64_t last_ms = j.value("last_ms", std::int64_t{0});
    for (const auto& mj : j["members"]) {
      auto alert = alertOf(mj.value("alert", nlohmann::json::object()));
      if (!alert) continue;
      const LabelView labels = viewOf(*alert);
      bool kept = false;
      for (const Route* route : routesFor(root_, labels)) {
        if (groupKey(*route, labels) != key) continue;
        auto [it, added] = groups_.try_emplace(key);
        Group& g = it->second;
        if (added) {
          g.route = route;
          g.labels = groupLabels(*route, labels);
          g.next_ms = next_ms;
          g.last_ms = last_ms;
        }
        g.members[alert->id] = Member{*alert, mj.value("changed", true), mj.value("sent_firing", false)};
        kept = true;
      }
      // The routes changed: a new alert of its new groups (a resolution of one never sent goes nowhere).
      if (!kept) observe(*alert, now_ms);
    }
    dirty_.insert(key);
  }
}

std::map<std::string, bool> Notifier::alerts() const {
  std::map<std::string, bool> out;
  for (const auto& [key, g] : groups_) {
    for (const auto& [id, m] : g.members) out[id] = m.alert.firing;
  }
  return out;
}

std::int64_t Notifier::nextWakeMs() const {
  std::int64_t next = 0;
  for (const auto& [key, g] : groups_) {
    const bool changed = std::any_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.changed; });
    const std::int64_t at =
        changed ? std::max(g.next_ms, heldUntil(g.members)) : g.last_ms + g.route->repeat_interval.count();
    if (next == 0 || at < next) next = at;
  }
  return next;
}

}  // namespace hotspotd::alerting
