#include "alerting/payloads.h"

#include "core/labels.h"
#include "core/rfc3339.h"
#include "core/text.h"

#include <cmath>
#include <ctime>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "rules/template.h"

namespace hotspotd::alerting {
namespace {

using nlohmann::json;

json labelsJson(const rules::OwnedLabels& labels) {
  json out = json::object();
  for (const auto& [k, v] : labels) out[k] = v;
  return out;
}

std::string annotation(const AlertInfo& a, std::string_view name) {
  for (const auto& [k, v] : a.annotations) {
    if (k == name) return v;
  }
  return {};
}

// The alert's annotations plus what hotspotd attached, for the payloads that carry annotations only (webhook,
// Alertmanager): the flame graph and its diff, the frames that grew and trace links. A rule's own annotation of
// the same name wins.
json annotationsJson(const AlertInfo& a) {
  json out = labelsJson(a.annotations);
  auto add = [&](const char* key, const std::string& value) {
    if (!value.empty() && !out.contains(key)) out[key] = value;
  };
  add("flamegraph_url", a.flamegraph_url);
  add("flamegraph_diff_url", a.diff_url);
  add("flamegraph_offcpu_url", a.offcpu_url);
  add("profile_explanation", a.profile_explanation);
  std::string grown;
  for (const auto& f : a.grown) {
    grown += fmt::format("{}{} +{:.1f} pp ({})", grown.empty() ? "" : "; ", f.name, f.grew_pp, f.cls);
  }
  add("grown_frames", grown);
  std::string traces;
  for (const auto& t : a.trace_urls) traces += (traces.empty() ? "" : " ") + t;
  add("trace_urls", traces);
  return out;
}

std::string number(double v) {
  return std::isfinite(v) ? rules::humanize(v) : std::string("n/a");
}

// A link in Slack's mrkdwn: the characters that would end or split it percent-encoded in the URL.
std::string slackLink(std::string_view url, std::string_view text) {
  std::string out = "<";
  for (const char c : url) {
    switch (c) {
      case '<': out += "%3C"; break;
      case '>': out += "%3E"; break;
      case '|': out += "%7C"; break;
      default: out += c;
    }
  }
  return out + "|" + slackEscape(text) + ">";
}

// The evidence an SRE reads first, as Slack mrkdwn lines. Everything from outside is escaped; the receiver's
// template was rendered with its values escaped.
std::string evidenceText(const AlertInfo& a) {
  std::string out;
  if (!a.text.empty()) {
    out = a.text;  // the receiver's template
  } else {
    if (auto summary = annotation(a, "summary"); !summary.empty()) out += slackEscape(summary) + "\n";
    if (!a.reason.empty()) out += slackEscape(a.reason) + "\n";
    out += fmt::format("*value* {} (threshold {})", number(a.value), number(a.threshold));
    for (const auto& [k, v] : a.evidence) {
      if (k == "confidence" || k == "requests" || k == "bound_seconds" || k == "burn_rate" || k == "budget_consumed" ||
          k == "request_rate") {
        out += fmt::format(" · *{}* {}", slackEscape(k), number(v));
      }
    }
  }
  if (!a.profile_explanation.empty()) out += "\n*Profile:* " + slackEscape(a.profile_explanation);
  if (!a.grown.empty()) {
    out += "\n*Grew most against the baseline:*";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, a.grown.size()); ++i) {
      out += fmt::format("\n• `{}` +{:.1f} pp ({})", slackEscape(a.grown[i].name), a.grown[i].grew_pp,
                         slackEscape(a.grown[i].cls));
    }
  }
  if (!a.trace_urls.empty()) {
    out += "\n*Slow requests:*";
    for (std::size_t i = 0; i < std::min<std::size_t>(3, a.trace_urls.size()); ++i) {
      out += " " + slackLink(a.trace_urls[i], fmt::format("trace {}", i + 1));
    }
  }
  return out;
}

json button(std::string_view text, const std::string& url) {
  return json{{"type", "button"},
              {"text", {{"type", "plain_text"}, {"text", truncateChars(text, kSlackButtonChars)}}},
              {"url", url}};
}

}  // namespace

std::string slackEscape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&': out += "&amp;"; break;
      case '<': out += "&lt;"; break;
      case '>': out += "&gt;"; break;
      default: out += c;
    }
  }
  return out;
}

std::string truncateChars(std::string_view text, std::size_t max) {
  // Byte offsets where each code point starts (UTF-8 lead bytes).
  auto width = [](unsigned char c) -> std::size_t {
    return c < 0x80 ? 1 : c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC0 ? 2 : 1;
  };
  std::size_t chars = 0, keep = 0;  // keep: where the first max-1 code points end
  for (std::size_t i = 0; i < text.size(); i += width(static_cast<unsigned char>(text[i]))) {
    if (++chars == max) keep = i;
    if (chars > max) return std::string(text.substr(0, keep)) + "\u2026";
  }
  return std::string(text);
}

std::string slackPayload(const NotificationGroup& g) {
  const std::size_t firing = static_cast<std::size_t>(
      std::count_if(g.alerts.begin(), g.alerts.end(), [](const AlertInfo& a) { return a.firing; }));
  const AlertInfo* first = g.alerts.empty() ? nullptr : &g.alerts.front();
  const std::string status = firing > 0 ? fmt::format("FIRING:{}", firing) : "RESOLVED";
  const std::string title = !first ? status
                            : first->title.empty()
                                ? fmt::format("[{}] {} {} ({})", status, first->alertname,
                                              labelText(first->labels, {"alertname"}), first->severity)
                                : fmt::format("[{}] {}", status, first->title);
  json blocks = json::array();
  blocks.push_back(
      {{"type", "header"}, {"text", {{"type", "plain_text"}, {"text", truncateChars(title, kSlackHeaderChars)}}}});
  // The budget counts the blocks as sent (JSON), with room kept for the closing "and N more" line.
  std::size_t chars = jsonText(blocks).size() + 300, shown = 0;
  for (const AlertInfo& a : g.alerts) {
    const std::string text = truncateChars(
        fmt::format("*{}* {}\n{}", a.firing ? "Firing" : "Resolved",
                    slackEscape(a.title.empty() ? a.alertname + " — " + labelText(a.labels, {"alertname"}) : a.title),
                    evidenceText(a)),
        kSlackSectionChars);
    json section{{"type", "section"}, {"text", {{"type", "mrkdwn"}, {"text", text}}}};
    json buttons = json::array();
    if (!a.flamegraph_url.empty()) buttons.push_back(button("Flame graph", a.flamegraph_url));
    if (!a.diff_url.empty()) buttons.push_back(button("Diff vs baseline", a.diff_url));
    if (!a.offcpu_url.empty()) buttons.push_back(button("Off-CPU", a.offcpu_url));
    if (!a.incident_url.empty()) buttons.push_back(button("Incident", a.incident_url));
    json actions{{"type", "actions"}, {"elements", buttons}};
    const std::size_t cost = jsonText(section).size() + (buttons.empty() ? 0 : jsonText(actions).size());
    if (blocks.size() + 3 > kSlackMaxBlocks || chars + cost > kSlackTotalChars) break;
    blocks.push_back(std::move(section));
    if (!buttons.empty()) blocks.push_back(std::move(actions));
    chars += cost;
    ++shown;
  }
  if (shown < g.alerts.size()) {
    blocks.push_back(
        {{"type", "context"},
         {"elements",
          json::array({{{"type", "mrkdwn"},
                        {"text", fmt::format("…and {} more alerts in this group{}", g.alerts.size() - shown,
                                             g.external_url.empty()
                                                 ? std::string()
                                                 : " — " + slackLink(g.external_url, "all incidents"))}}})}});
  }
  return jsonText(json{{"text", truncateChars(title, kSlackHeaderChars)}, {"blocks", blocks}});
}

std::string pagerdutyPayload(const AlertInfo& a, const std::string& routing_key, const std::string& source) {
  std::string severity = "error";
  if (a.severity == "page" || a.severity == "critical") severity = "critical";
  if (a.severity == "ticket" || a.severity == "warning") severity = "warning";
  if (a.severity == "info") severity = "info";
  json event{{"routing_key", routing_key}, {"event_action", a.firing ? "trigger" : "resolve"}, {"dedup_key", a.id}};
  if (!a.firing) return jsonText(event);
  std::string summary =
      a.title.empty() ? fmt::format("{}: {}", a.alertname, labelText(a.labels, {"alertname"})) : a.title;
  if (auto s = annotation(a, "summary"); !s.empty() && a.title.empty()) summary += " — " + s;
  json evidence = json::object();
  for (const auto& [k, v] : a.evidence) evidence[k] = std::isfinite(v) ? json(v) : json(nullptr);
  json grown = json::array();
  for (const auto& f : a.grown) grown.push_back({{"frame", f.name}, {"class", f.cls}, {"grew_pp", f.grew_pp}});
  event["payload"] = {{"summary", truncateChars(summary, kPagerDutySummaryChars)},
                      {"source", source},
                      {"severity", severity},
                      {"timestamp", formatRfc3339(a.starts_ms)},
                      {"class", a.alertname},
                      {"custom_details",
                       {{"labels", labelsJson(a.labels)},
                        {"annotations", labelsJson(a.annotations)},
                        {"value", std::isfinite(a.value) ? json(a.value) : json(nullptr)},
                        {"threshold", std::isfinite(a.threshold) ? json(a.threshold) : json(nullptr)},
                        {"reason", a.reason},
                        {"evidence", evidence},
                        {"profile_explanation", a.profile_explanation},
                        {"grown_frames", grown}}}};
  json links = json::array();
  if (!a.flamegraph_url.empty()) links.push_back({{"href", a.flamegraph_url}, {"text", "Flame graph"}});
  if (!a.diff_url.empty()) links.push_back({{"href", a.diff_url}, {"text", "Differential flame graph"}});
  if (!a.offcpu_url.empty()) links.push_back({{"href", a.offcpu_url}, {"text", "Off-CPU flame graph"}});
  if (!a.incident_url.empty()) links.push_back({{"href", a.incident_url}, {"text", "Incident"}});
  if (!links.empty()) event["links"] = links;
  // The flame graph shown on the incident itself, linking to its interactive version.
  if (!a.flamegraph_url.empty()) {
    event["images"] = json::array({{{"src", a.flamegraph_url}, {"href", a.flamegraph_url}, {"alt", "Flame graph"}}});
  }
  std::string out = jsonText(event);
  if (out.size() > kPagerDutyMaxBytes) {
    // The details are the first thing to go: the page itself must get through.
    event["payload"].erase("custom_details");
    out = jsonText(event);
  }
  return out;
}

std::string webhookPayload(const NotificationGroup& g) {
  json alerts = json::array();
  rules::OwnedLabels common = g.alerts.empty() ? rules::OwnedLabels{} : g.alerts.front().labels;
  rules::OwnedLabels common_annotations = g.alerts.empty() ? rules::OwnedLabels{} : g.alerts.front().annotations;
  bool any_firing = false;
  for (const AlertInfo& a : g.alerts) {
    any_firing = any_firing || a.firing;
    std::erase_if(common,
                  [&](const auto& l) { return std::find(a.labels.begin(), a.labels.end(), l) == a.labels.end(); });
    std::erase_if(common_annotations, [&](const auto& l) {
      return std::find(a.annotations.begin(), a.annotations.end(), l) == a.annotations.end();
    });
    rules::OwnedLabels labels = a.labels;
    if (std::none_of(labels.begin(), labels.end(), [](const auto& l) { return l.first == "alertname"; })) {
      labels.emplace_back("alertname", a.alertname);
    }
    alerts.push_back({{"status", a.firing ? "firing" : "resolved"},
                      {"labels", labelsJson(labels)},
                      {"annotations", annotationsJson(a)},
                      {"startsAt", formatRfc3339(a.starts_ms)},
                      {"endsAt", a.firing ? std::string("0001-01-01T00:00:00Z") : formatRfc3339(a.ends_ms)},
                      {"generatorURL", a.incident_url},
                      {"fingerprint", a.id}});
  }
  return jsonText(json{{"version", "4"},
                       {"groupKey", g.group_key},
                       {"truncatedAlerts", 0},
                       {"status", any_firing ? "firing" : "resolved"},
                       {"receiver", g.receiver},
                       {"groupLabels", labelsJson(g.group_labels)},
                       {"commonLabels", labelsJson(common)},
                       {"commonAnnotations", labelsJson(common_annotations)},
                       {"externalURL", g.external_url},
                       {"alerts", alerts}});
}

std::string alertmanagerPayload(const std::vector<AlertInfo>& alerts, std::int64_t now_ms,
                                std::int64_t resolve_timeout_ms) {
  json out = json::array();
  for (const AlertInfo& a : alerts) {
    rules::OwnedLabels labels = a.labels;
    if (std::none_of(labels.begin(), labels.end(), [](const auto& l) { return l.first == "alertname"; })) {
      labels.emplace_back("alertname", a.alertname);
    }
    out.push_back({{"labels", labelsJson(labels)},
                   {"annotations", annotationsJson(a)},
                   {"startsAt", formatRfc3339(a.starts_ms)},
                   {"endsAt", formatRfc3339(a.firing ? now_ms + resolve_timeout_ms : a.ends_ms)},
                   {"generatorURL", a.incident_url}});
  }
  return jsonText(out);
}

}  // namespace hotspotd::alerting
