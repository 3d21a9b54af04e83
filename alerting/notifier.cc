#include "alerting/notifier.h"

#include <algorithm>

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

}  // namespace

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
  }
}

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
    const bool changed = std::any_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.changed; });
    const bool any_firing =
        std::any_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.alert.firing; });
    const bool repeat = !changed && any_firing && g.last_ms > 0 && now_ms - g.last_ms >= route.repeat_interval.count();
    if (now_ms < g.next_ms || (!changed && !repeat)) {
      ++it;
      continue;
    }
    Flush f;
    f.route = &route;
    f.group.receiver = route.receiver;
    f.group.group_key = it->first;
    f.group.group_labels = g.labels;
    const bool resolutions = send_resolved_.count(route.receiver) > 0;
    for (auto& [id, m] : g.members) {
      const LabelView labels = viewOf(m.alert);
      const bool muted = silencedBy(labels, silences, now_ms) != nullptr || (m.alert.firing && inhibited(labels, firing, inhibit_));
      if (muted) continue;
      if (!m.alert.firing && (!resolutions || !m.sent_firing)) continue;  // nobody heard it fire
      f.group.alerts.push_back(m.alert);
    }
    // Marks, and resolved alerts leave.
    for (auto m = g.members.begin(); m != g.members.end();) {
      m->second.changed = false;
      if (m->second.alert.firing) {
        m->second.sent_firing = m->second.sent_firing ||
                                std::any_of(f.group.alerts.begin(), f.group.alerts.end(),
                                            [&](const AlertInfo& a) { return a.id == m->first; });
        ++m;
      } else {
        m = g.members.erase(m);
      }
    }
    g.last_ms = now_ms;
    g.next_ms = now_ms + route.group_interval.count();
    if (!f.group.alerts.empty()) out.push_back(std::move(f));
    if (g.members.empty()) {
      it = groups_.erase(it);
    } else {
      ++it;
    }
  }
  return out;
}

std::int64_t Notifier::nextWakeMs() const {
  std::int64_t next = 0;
  for (const auto& [key, g] : groups_) {
    const bool changed = std::any_of(g.members.begin(), g.members.end(), [](const auto& m) { return m.second.changed; });
    const std::int64_t at = changed ? g.next_ms : g.last_ms + g.route->repeat_interval.count();
    if (next == 0 || at < next) next = at;
  }
  return next;
}

}  // namespace hotspotd::alerting
