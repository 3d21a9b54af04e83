#include "incidents/tracker.h"

#include <algorithm>

#include <fmt/format.h>

#include "rules/template.h"

namespace hotspotd::incidents {

std::string incidentId(const std::string& rule, const rules::OwnedLabels& endpoint) {
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

rules::OwnedLabels renderAnnotations(const rules::Rule& rule, const rules::IncidentEvent& event) {
  rules::OwnedLabels out;
  const rules::TemplateData data{&event.labels, event.value,       event.threshold,
                          &event.evidence, event.alertname, event.severity};
  for (const auto& [name, text] : rule.annotations) {
    auto t = rules::Template::parse(text);
    out.emplace_back(name, t ? t->render(data) : text);
  }
  return out;  // sorted: rule.annotations is a map
}

void IncidentTracker::observe(const rules::Rule& rule, std::int64_t t_ms, const std::vector<rules::Finding>& findings,
                              std::vector<rules::IncidentEvent>& events) {
  for (const rules::Finding& f : findings) {
    if (!f.judged) continue;
    const std::string id = incidentId(rule.name, f.endpoint);
    // Only endpoints with something going on have an entry: a quiet endpoint costs no memory, and an entry goes
    // away when its incident does (so endpoints that come and go do not accumulate).
    auto found = entries_.find(id);
    if (found == entries_.end()) {
      if (!f.active) continue;
      found = entries_.emplace(id, TrackedIncident{}).first;
    }
    TrackedIncident& e = found->second;
    auto event = [&](rules::IncidentEvent::State state) {
      rules::IncidentEvent ev;
      ev.t_ms = t_ms;
      ev.state = state;
      ev.id = id;
      ev.alertname = rule.name;
      ev.endpoint = f.endpoint;
      for (const auto& [k, v] : f.endpoint) {
        if (!rule.labels.count(k)) ev.labels.emplace_back(k, v);
      }
      for (const auto& [k, v] : rule.labels) ev.labels.emplace_back(k, v);
      std::sort(ev.labels.begin(), ev.labels.end());
      ev.severity = f.severity.empty() ? rule.severity : f.severity;
      ev.value = f.value;
      ev.threshold = f.threshold;
      ev.evidence = f.evidence;
      ev.started_ms = e.since_ms;
      ev.reason = f.reason;
      ev.profile = rule.profile;
      ev.annotations = renderAnnotations(rule, ev);
      return ev;
    };
    if (f.active) {
      if (e.clear_since_ms >= 0) changed(id);
      e.clear_since_ms = -1;
      if (found->second.last.id.empty()) {  // new
        e.state = TrackedIncident::State::pending;
        e.since_ms = t_ms;
        changed(id);
      }
      if (e.state == TrackedIncident::State::pending) {
        e.last = event(rules::IncidentEvent::State::firing);
        if (t_ms - e.since_ms >= rule.for_duration.count()) {
          e.state = TrackedIncident::State::firing;
          e.last.fired_ms = t_ms;
          events.push_back(e.last);
          changed(id);
        }
      }
      continue;
    }
    if (e.state == TrackedIncident::State::pending) {
      changed(id);
      entries_.erase(found);
      continue;
    }
    // Firing: clear since when? Counted on judged data only, so a gap followed by one good evaluation does not
    // resolve.
    if (e.clear_since_ms < 0) {
      e.clear_since_ms = t_ms;
      changed(id);
    }
    if (t_ms - e.clear_since_ms < rule.keep_firing_for.count()) continue;
    changed(id);
    rules::IncidentEvent resolved = event(rules::IncidentEvent::State::resolved);
    resolved.started_ms = e.last.started_ms;
    resolved.fired_ms = e.last.fired_ms > 0 ? e.last.fired_ms : e.last.t_ms;
    events.push_back(std::move(resolved));
    entries_.erase(found);
  }
}

void IncidentTracker::retainRules(const std::set<std::string>& names, std::int64_t t_ms,
                                  std::vector<rules::IncidentEvent>& events) {
  for (auto it = entries_.begin(); it != entries_.end();) {
    if (names.count(it->second.last.alertname)) {
      ++it;
      continue;
    }
    if (it->second.state == TrackedIncident::State::firing) {
      rules::IncidentEvent resolved = it->second.last;
      resolved.state = rules::IncidentEvent::State::resolved;
      resolved.t_ms = t_ms;
      if (resolved.fired_ms == 0) resolved.fired_ms = it->second.last.t_ms;
      resolved.reason = "the rule was removed from the configuration";
      events.push_back(std::move(resolved));
    }
    changed(it->first);
    it = entries_.erase(it);
  }
}

std::vector<std::string> IncidentTracker::takeChanged() {
  std::vector<std::string> out(changed_.begin(), changed_.end());
  changed_.clear();
  return out;
}

const TrackedIncident* IncidentTracker::find(const std::string& id) const {
  auto it = entries_.find(id);
  return it == entries_.end() ? nullptr : &it->second;
}

void IncidentTracker::restore(const std::string& id, TrackedIncident incident) {
  entries_[id] = std::move(incident);
}

std::size_t IncidentTracker::firingCount() const {
  std::size_t n = 0;
  for (const auto& [id, e] : entries_) n += e.state == TrackedIncident::State::firing ? 1 : 0;
  return n;
}

}  // namespace hotspotd::incidents
