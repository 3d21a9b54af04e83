#include "alerting/routing.h"

#include <algorithm>

#include <fmt/format.h>

namespace hotspotd::alerting {
namespace {

std::string_view valueOf(const LabelView& labels, std::string_view name) {
  for (const auto& [k, v] : labels) {
    if (k == name) return v;
  }
  return {};
}

void finish(Route& route, const Route* parent, const std::string& path) {
  route.path = path;
  auto inherit = [&](Duration& d, Duration Route::*field, Duration fallback) {
    if (d.count() >= 0) return;
    d = parent ? parent->*field : fallback;
  };
  inherit(route.group_wait, &Route::group_wait, std::chrono::seconds(30));
  inherit(route.group_interval, &Route::group_interval, std::chrono::minutes(5));
  inherit(route.repeat_interval, &Route::repeat_interval, std::chrono::hours(4));
  if (parent) {
    if (route.receiver.empty()) route.receiver = parent->receiver;
    if (route.group_by.empty() && !route.group_by_all) {
      route.group_by = parent->group_by;
      route.group_by_all = parent->group_by_all;
    }
  }
  for (std::size_t i = 0; i < route.routes.size(); ++i) finish(route.routes[i], &route, fmt::format("{}.{}", path, i));
}

// Depth first: the matching children that take the alert, or the route itself when none does.
void collect(const Route& route, const LabelView& labels, std::vector<const Route*>& out) {
  bool taken = false;
  for (const Route& child : route.routes) {
    if (!matchesAll(child.matchers, labels)) continue;
    collect(child, labels, out);
    taken = true;
    if (!child.continue_matching) break;
  }
  if (!taken) out.push_back(&route);
}

}  // namespace

Result<std::vector<Matcher>> parseMatchers(const std::vector<std::string>& texts) {
  std::vector<Matcher> out;
  for (const auto& text : texts) {
    // Parsed as a selector with a placeholder name, so a matcher that accepts the empty value (`team=""`, "has
    // no team") is allowed here as Alertmanager allows it; whether a set of matchers selects anything at all is
    // for the caller to judge.
    auto selector = parseSelector("m{" + text + "}");
    if (!selector) return fail(fmt::format("matcher '{}': {}", text, selector.error().message));
    if (selector->matchers.size() != 2) return fail(fmt::format("matcher '{}': one matcher per string", text));
    out.push_back(selector->matchers.back());
  }
  return out;
}

bool matchesAll(const std::vector<Matcher>& matchers, const LabelView& labels) {
  return std::all_of(matchers.begin(), matchers.end(),
                     [&](const Matcher& m) { return m.matches(valueOf(labels, m.name)); });
}

void finishRoutes(Route& root) { finish(root, nullptr, "0"); }

std::vector<const Route*> routesFor(const Route& root, const LabelView& labels) {
  std::vector<const Route*> out;
  collect(root, labels, out);
  return out;
}

std::vector<std::pair<std::string, std::string>> groupLabels(const Route& route, const LabelView& labels) {
  std::vector<std::pair<std::string, std::string>> out;
  if (route.group_by_all) {
    for (const auto& [k, v] : labels) out.emplace_back(std::string(k), std::string(v));
  } else {
    for (const auto& name : route.group_by) out.emplace_back(name, std::string(valueOf(labels, name)));
  }
  std::sort(out.begin(), out.end());
  return out;
}

std::string groupKey(const Route& route, const LabelView& labels) {
  std::string key = route.path + ":{";
  bool first = true;
  for (const auto& [k, v] : groupLabels(route, labels)) {
    key += fmt::format("{}{}=\"{}\"", first ? "" : ",", k, v);
    first = false;
  }
  return key + "}";
}

bool inhibited(const LabelView& labels, const std::vector<LabelView>& firing, const std::vector<InhibitRule>& rules) {
  for (const InhibitRule& rule : rules) {
    if (!matchesAll(rule.target, labels)) continue;
    for (const LabelView& source : firing) {
      if (source == labels || !matchesAll(rule.source, source)) continue;
      const bool equal = std::all_of(rule.equal.begin(), rule.equal.end(), [&](const std::string& name) {
        return valueOf(source, name) == valueOf(labels, name);
      });
      if (equal) return true;
    }
  }
  return false;
}

const Silence* silencedBy(const LabelView& labels, const std::vector<Silence>& silences, std::int64_t now_ms) {
  for (const Silence& s : silences) {
    if (s.active(now_ms) && !s.matchers.empty() && matchesAll(s.matchers, labels)) return &s;
  }
  return nullptr;
}

}  // namespace hotspotd::alerting
