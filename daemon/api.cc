#include "daemon/api.h"

#include <algorithm>
#include <cmath>
#include <ctime>
#include <map>

#include <fmt/format.h>

#include "alerting/payloads.h"
#include "core/rfc3339.h"
#include "core/text.h"
#include "detectors/endpoint_chart.h"
#include "detectors/quantile.h"

namespace hotspotd::daemon {
namespace {

using nlohmann::ordered_json;

// NaN and infinities have no JSON number: null, as the consumer can tell "unknown" from a value.
ordered_json number(double v) {
  return std::isfinite(v) ? ordered_json(v) : ordered_json(nullptr);
}

ordered_json labels(const rules::OwnedLabels& l) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : l) out[k] = v;
  return out;
}

ordered_json quantile(const detectors::QuantileEstimate& q) {
  return ordered_json{{"value", number(q.value)}, {"lower", number(q.lower)}, {"upper", number(q.upper)}};
}

}  // namespace

ordered_json apiError(std::string_view type, std::string_view message) {
  return ordered_json{{"status", "error"}, {"errorType", type}, {"error", message}};
}

ordered_json hotspotsJson(const detectors::HotspotTable& table, std::size_t offset, std::size_t limit) {
  ordered_json rows = ordered_json::array();
  for (std::size_t i = offset; i < table.hotspots.size() && rows.size() < limit; ++i) {
    const detectors::Hotspot& h = table.hotspots[i];
    ordered_json drift = nullptr;
    if (h.drift) {
      drift = ordered_json{{"rule", h.drift->rule},
                           {"ratio", number(h.drift->ratio)},
                           {"active", h.drift->active},
                           {"firing", h.drift->firing},
                           {"incident", h.drift->incident_id}};
    }
    rows.push_back(ordered_json{{"histogram", h.histogram},
                                {"labels", labels(h.endpoint)},
                                {"rank", number(h.rank)},
                                {"share", number(h.share)},
                                {"request_rate", number(h.request_rate)},
                                {"time_rate", number(h.time_rate)},
                                {"mean_seconds", number(h.mean_seconds)},
                                {"p50", quantile(h.p50)},
                                {"p99", quantile(h.p99)},
                                {"drift", drift}});
  }
  return ordered_json{{"status", "success"},
                      {"data",
                       {{"time", static_cast<double>(table.t_ms) / 1000.0},
                        {"window_seconds", std::chrono::duration<double>(table.window).count()},
                        {"total", table.hotspots.size()},
                        {"endpoints", table.endpoints},
                        {"offset", offset},
                        {"hotspots", rows}}}};
}

ordered_json silenceJson(const alerting::Silence& s, std::int64_t now_ms) {
  const char* state = now_ms < s.starts_ms ? "pending" : now_ms < s.ends_ms ? "active" : "expired";
  return ordered_json{{"id", s.id},
                      {"status", {{"state", state}}},
                      {"matchers", s.matcher_texts},
                      {"startsAt", formatRfc3339(s.starts_ms)},
                      {"endsAt", formatRfc3339(s.ends_ms)},
                      {"createdBy", s.created_by},
                      {"comment", s.comment}};
}

ordered_json silencesJson(const std::vector<alerting::Silence>& silences, std::int64_t now_ms) {
  ordered_json rows = ordered_json::array();
  for (const auto& s : silences) rows.push_back(silenceJson(s, now_ms));
  return ordered_json{{"status", "success"}, {"data", rows}};
}

Result<alerting::SilenceRequest> parseSilenceRequest(std::string_view body, std::int64_t now_ms) {
  const auto j = nlohmann::json::parse(body, nullptr, /*allow_exceptions=*/false);
  if (j.is_discarded() || !j.is_object()) return fail("the body is not a JSON object");
  // Each field of the type it must have, or an error naming it.
  auto string = [&](const nlohmann::json& obj, const char* key, const char* where) -> Result<std::string> {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return std::string();
    if (!it->is_string()) return fail(fmt::format("{}{}: a string, not {}", where, key, it->type_name()));
    return it->get<std::string>();
  };
  auto boolean = [&](const nlohmann::json& obj, const char* key, bool fallback, const char* where) -> Result<bool> {
    const auto it = obj.find(key);
    if (it == obj.end() || it->is_null()) return fallback;
    if (!it->is_boolean()) return fail(fmt::format("{}{}: true or false, not {}", where, key, it->type_name()));
    return it->get<bool>();
  };
  alerting::SilenceRequest r;
  const auto matchers = j.find("matchers");
  if (matchers == j.end() || !matchers->is_array()) {
    return fail("matchers: missing; an array such as [\"alertname=\\\"CheckoutSlow\\\"\"]");
  }
  if (matchers->size() > 100) return fail("matchers: at most 100");
  for (std::size_t i = 0; i < matchers->size(); ++i) {
    const auto& m = (*matchers)[i];
    const std::string where = fmt::format("matchers[{}].", i);
    if (m.is_string()) {
      r.matchers.push_back(m.get<std::string>());
      continue;
    }
    if (!m.is_object()) {
      return fail(
          fmt::format("matchers[{}]: a string (name=\"value\") or {{\"name\", \"value\", \"isRegex\", "
                      "\"isEqual\"}}",
                      i));
    }
    auto name = string(m, "name", where.c_str());
    auto value = string(m, "value", where.c_str());
    auto regex = boolean(m, "isRegex", false, where.c_str());
    auto equal = boolean(m, "isEqual", true, where.c_str());
    for (const auto* e : {&name, &value}) {
      if (!*e) return tl::unexpected(e->error());
    }
    if (!regex) return tl::unexpected(regex.error());
    if (!equal) return tl::unexpected(equal.error());
    if (name->empty()) return fail(where + "name: missing");
    const std::string quoted = jsonText(nlohmann::json(*value));
    r.matchers.push_back(fmt::format("{}{}{}", *name, *equal ? (*regex ? "=~" : "=") : (*regex ? "!~" : "!="), quoted));
  }
  auto time = [&](const char* key) -> Result<std::int64_t> {
    auto text = string(j, key, "");
    if (!text) return tl::unexpected(text.error());
    if (text->empty()) return std::int64_t{0};
    auto t = parseRfc3339(*text);
    if (!t) return fail(fmt::format("{}: {}", key, t.error().message));
    return t;
  };
  auto starts = time("startsAt");
  if (!starts) return tl::unexpected(starts.error());
  auto ends = time("endsAt");
  if (!ends) return tl::unexpected(ends.error());
  r.starts_ms = *starts;
  r.ends_ms = *ends;
  if (const auto d = j.find("duration"); d != j.end() && !d->is_null()) {
    if (r.ends_ms != 0) return fail("give endsAt or duration, not both");
    auto parsed = d->is_string() ? parseDuration(d->get<std::string>()) : fail("a duration string such as \"2h\"");
    if (!parsed || parsed->count() <= 0) {
      return fail(fmt::format("duration: {}", parsed ? "must be positive" : parsed.error().message));
    }
    r.ends_ms =
        (r.starts_ms ? r.starts_ms : now_ms) + std::chrono::duration_cast<std::chrono::milliseconds>(*parsed).count();
  }
  if (r.ends_ms == 0) return fail("endsAt (or duration) is required: a silence must end");
  auto created_by = string(j, "createdBy", "");
  if (!created_by) return tl::unexpected(created_by.error());
  auto comment = string(j, "comment", "");
  if (!comment) return tl::unexpected(comment.error());
  r.created_by = std::move(*created_by);
  r.comment = std::move(*comment);
  return r;
}

ordered_json notificationsJson(const std::vector<alerting::Notification>& notifications) {
  ordered_json rows = ordered_json::array();
  for (const auto& n : notifications) {
    rows.push_back(ordered_json{
        {"id", n.id},
        {"receiver", n.receiver},
        {"key", n.key},
        {"state", alerting::stateName(n.state)},
        {"createdAt", formatRfc3339(n.created_ms)},
        {"attempts", n.attempts},
        {"lastStatus", n.last_status},
        {"lastError", n.last_error},
        {"deliveredAt", n.delivered_ms > 0 && n.state == alerting::NotificationState::delivered
                            ? ordered_json(formatRfc3339(n.delivered_ms))
                            : ordered_json(nullptr)},
        {"failedAt", n.delivered_ms > 0 && n.state == alerting::NotificationState::failed
                         ? ordered_json(formatRfc3339(n.delivered_ms))
                         : ordered_json(nullptr)},
        {"nextAttemptAt", n.state == alerting::NotificationState::pending ? ordered_json(formatRfc3339(n.next_ms))
                                                                          : ordered_json(nullptr)}});
  }
  return ordered_json{{"status", "success"}, {"data", rows}};
}

ordered_json targetsJson(const std::vector<ingest::TargetStatus>& targets, std::string_view health, std::size_t offset,
                         std::size_t limit) {
  ordered_json rows = ordered_json::array();
  std::size_t matched = 0;
  for (const auto& t : targets) {
    if (!health.empty() && t.health != health) continue;
    if (matched++ < offset || rows.size() >= limit) continue;
    rows.push_back(ordered_json{
        {"job", t.job},
        {"instance", t.instance},
        {"scrapeUrl", t.url},
        {"labels", labels(t.labels)},
        {"health", t.health},
        {"lastError", t.last_error},
        {"failureReason", t.last_failure_reason},
        {"lastScrape", t.last_scrape_ms > 0 ? ordered_json(formatRfc3339(t.last_scrape_ms)) : ordered_json(nullptr)},
        {"lastScrapeDuration", number(t.last_duration_seconds)},
        {"samples", t.last_samples}});
  }
  return ordered_json{{"status", "success"},
                      {"data", {{"total", matched}, {"offset", offset}, {"activeTargets", rows}}}};
}

namespace {

ordered_json time(std::int64_t ms) {
  return ms > 0 ? ordered_json(formatRfc3339(ms)) : ordered_json(nullptr);
}

ordered_json evidence(const std::vector<std::pair<std::string, double>>& e) {
  ordered_json out = ordered_json::object();
  for (const auto& [k, v] : e) out[k] = number(v);
  return out;
}

}  // namespace

ordered_json incidentJson(const incidents::IncidentRecord& r, const std::string& base_url) {
  // The event that says most: the resolution once resolved (with the firing one kept as `fired`).
  const rules::IncidentEvent& fired = r.firing;
  ordered_json timeline = ordered_json::array();
  timeline.push_back({{"state", "pending"}, {"at", time(r.pending_ms)}});
  if (r.firing_ms > 0) timeline.push_back({{"state", "firing"}, {"at", time(r.firing_ms)}});
  if (r.resolved_ms > 0) timeline.push_back({{"state", "resolved"}, {"at", time(r.resolved_ms)}});
  ordered_json exemplars = ordered_json::array();
  for (const auto& e : r.exemplars) {
    exemplars.push_back({{"traceId", e.trace_id},
                         {"url", e.url},
                         {"labels", labels(e.labels)},
                         {"value", number(e.value)},
                         {"at", time(e.t_ms)}});
  }
  ordered_json profiles = ordered_json::array();
  for (const auto& p : r.profiles) {
    ordered_json row{{"id", p.profile_id}, {"kind", p.kind}, {"startedAt", time(p.start_ms)}};
    if (!p.error.empty()) {
      row["error"] = p.error;
    } else {
      row["svg"] = fmt::format("{}/api/v1/profiles/{}.svg", base_url, p.profile_id);
    }
    profiles.push_back(std::move(row));
  }
  ordered_json out{{"id", r.id},
                   {"alertname", r.alertname},
                   {"severity", r.severity},
                   {"state", incidents::stateName(r.state)},
                   {"labels", labels(r.labels)},
                   {"annotations", labels(fired.annotations)},
                   {"value", number(fired.value)},
                   {"threshold", number(fired.threshold)},
                   {"evidence", evidence(fired.evidence)},
                   {"reason", fired.reason},
                   {"activeAt", time(r.pending_ms)},
                   {"firedAt", time(r.firing_ms)},
                   {"resolvedAt", time(r.resolved_ms)},
                   {"timeline", timeline},
                   {"exemplars", exemplars},
                   {"profiles", profiles},
                   {"url", fmt::format("{}/incidents/{}", base_url, r.id)}};
  if (r.resolved_ms > 0) {
    out["resolution"] = {{"value", number(r.resolved.value)},
                         {"threshold", number(r.resolved.threshold)},
                         {"evidence", evidence(r.resolved.evidence)},
                         {"reason", r.resolved.reason}};
  }
  return out;
}

ordered_json profileJson(const profile::ProfileRecord& p, const std::string& base_url) {
  ordered_json out{{"id", p.id},
                   {"target", p.target},
                   {"kind", profile::kindName(p.kind)},
                   {"incident", p.incident_id.empty() ? ordered_json(nullptr) : ordered_json(p.incident_id)},
                   {"pids", p.pids},
                   {"startedAt", time(p.start_ms)},
                   {"durationSeconds", static_cast<double>(p.duration_ms) / 1000.0},
                   {"samples", p.samples},
                   {"bytes", p.bytes},
                   {"baseline", p.baseline_id.empty() ? ordered_json(nullptr) : ordered_json(p.baseline_id)}};
  if (!p.error.empty()) {
    out["error"] = p.error;
    return out;
  }
  out["summary"] = ordered_json::parse(jsonText(p.summary), nullptr, /*allow_exceptions=*/false);
  const std::string base = fmt::format("{}/api/v1/profiles/{}", base_url, p.id);
  out["links"] = {
      {"svg", base + ".svg"},
      {"diffSvg", p.baseline_id.empty() ? ordered_json(nullptr) : ordered_json(base + ".diff.svg")},
      {"offcpuSvg", p.summary.value("view", "") == "wall" ? ordered_json(base + ".offcpu.svg") : ordered_json(nullptr)},
      {"folded", base + ".folded"},
      {"json", base + ".json"}};
  return out;
}

ordered_json incidentSeriesJson(const store::SeriesStore& store, const rules::Rule& rule,
                                const incidents::IncidentRecord& incident, std::int64_t now_ms,
                                std::int64_t earliest_ms) {
  const auto ms = [](Duration d) { return std::chrono::duration_cast<std::chrono::milliseconds>(d).count(); };
  const std::int64_t reach = now_ms - ms(store.config().retention);
  const std::int64_t from = std::max({incident.pending_ms - 15 * 60'000, reach, earliest_ms});
  const std::int64_t to = incident.resolved_ms > 0 ? std::min(incident.resolved_ms + 10 * 60'000, now_ms) : now_ms;
  // Steps no finer than the points the store keeps: every scrape for full_resolution, one per coarse_step before.
  const bool coarse = from < now_ms - ms(store.config().full_resolution);
  const std::int64_t step =
      std::max<std::int64_t>({15'000, (to - from) / 240, coarse ? ms(store.config().coarse_step) : 0});
  const rules::OwnedLabels& endpoint = incident.firing.endpoint.empty() ? incident.labels : incident.firing.endpoint;
  const detectors::EndpointChart chart =
      detectors::endpointChart(store, rule, endpoint, incident.firing.threshold, from, to, step);
  ordered_json series = ordered_json::array();
  for (const detectors::ChartLine& line : chart.lines) {
    ordered_json points = ordered_json::array();
    for (std::size_t i = 0; i < chart.times_ms.size(); ++i) {
      points.push_back(ordered_json::array({static_cast<double>(chart.times_ms[i]) / 1000.0, number(line.values[i])}));
    }
    series.push_back({{"name", line.name}, {"unit", line.unit}, {"points", std::move(points)}});
  }
  return ordered_json{{"status", "success"},
                      {"data",
                       {{"kind", chart.kind},
                        {"threshold", number(chart.threshold)},
                        {"from", static_cast<double>(from) / 1000.0},
                        {"to", static_cast<double>(to) / 1000.0},
                        {"stepSeconds", static_cast<double>(step) / 1000.0},
                        {"series", series}}}};
}

}  // namespace hotspotd::daemon
