#include "rules/incidents.h"

#include <algorithm>

#include <fmt/format.h>

namespace hotspotd::rules {

std::string incidentId(const std::string& rule, const OwnedLabels& endpoint) {
  // FNV-1a over the rule name and the sorted labels: stable across restarts and versions.
  std::uint64_t h = 1469598103934665603ULL;
  auto mix = [&](std::string_view s) {
    for (unsigned char c : s) h = (h ^ c) * 1099511628211ULL;
    h = (h ^ 0xFF) * 1099511628211ULL;
  };
  mix(rule);
  for (const auto& [k, v] : endpoint) {
    mix(k);
    mix(v);
  }
  return fmt::format("{:016x}", h);
}

void IncidentTracker::observe(const Rule& rule, std::int64_t t_ms, const std::vector<Finding>& findings,
                              std::vector<IncidentEvent>& events) {
  for (const Finding& f : findings) {
    if (!f.judged) continue;
    const std::string id = incidentId(rule.name, f.endpoint);
    // Only endpoints with something going on have an entry: a quiet endpoint costs no memory, and an entry goes
    // away when its incident does (so endpoints that come and go do not accumulate).
    auto found = entries_.find(id);
    if (found == entries_.end()) {
      if (!f.active) continue;
      found = entries_.emplace(id, Entry{}).first;
    }
    Entry& e = found->second;
    auto event = [&](IncidentEvent::State state) {
      IncidentEvent ev;
      ev.t_ms = t_ms;
      ev.state = state;
      ev.id = id;
      ev.alertname = rule.name;
      ev.labels = f.endpoint;
      for (const auto& [k, v] : rule.labels) ev.labels.emplace_back(k, v);
      std::sort(ev.labels.begin(), ev.labels.end());
      ev.severity = f.severity.empty() ? rule.severity : f.severity;
      ev.value = f.value;
      ev.threshold = f.threshold;
      ev.evidence = f.evidence;
      ev.started_ms = e.since_ms;
      return ev;
    };
    if (f.active) {
      e.clear_since_ms = -1;
      if (e.state == State::inactive) {
        e.state = State::pending;
        e.since_ms = t_ms;
      }
      if (e.state == State::pending && t_ms - e.since_ms >= rule.for_duration.count()) {
        e.state = State::firing;
        e.last = event(IncidentEvent::State::firing);
        events.push_back(e.last);
      }
      continue;
    }
    if (e.state == State::pending) {
      entries_.erase(found);
    } else if (e.state == State::firing) {
      // Clear since when? Counted on judged data only, so a gap followed by one good evaluation does not resolve.
      if (e.clear_since_ms < 0) e.clear_since_ms = t_ms;
      if (t_ms - e.clear_since_ms < rule.keep_firing_for.count()) continue;
      IncidentEvent resolved = event(IncidentEvent::State::resolved);
      resolved.started_ms = e.last.started_ms;
      events.push_back(std::move(resolved));
      entries_.erase(found);
    }
  }
}

std::size_t IncidentTracker::firingCount() const {
  std::size_t n = 0;
  for (const auto& [id, e] : entries_) n += e.state == State::firing ? 1 : 0;
  return n;
}

}  // namespace hotspotd::rules
