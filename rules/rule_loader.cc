#include "rules/rule_loader.h"

#include <algorithm>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/file.h"
#include "core/toml_reader.h"
#include "rules/template.h"

namespace hotspotd::rules {
namespace {

void readRule(TableReader& r, const toml::table& table, const std::string& source, std::set<std::string>& names,
              std::vector<Rule>& out, ConfigErrors& errors) {
  Rule rule;
  rule.source = fmt::format("{}:{}", source, table.source().begin.line);
  if (auto name = r.string("name")) {
    rule.name = *name;
    const bool valid = !name->empty() && std::all_of(name->begin(), name->end(), [](char c) {
      return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' || c == ':';
    });
    if (!valid) r.invalid("name", "an alert name is letters, digits, _ and : (it becomes the alertname label)");
    if (!names.insert(*name).second) r.invalid("name", fmt::format("rule \"{}\" is defined twice", *name));
  } else if (!table.contains("name")) {
    errors.add(table.source(), r.keyPath("name"), "missing (every rule needs a name: its alertname)");
  }
  if (auto kind = r.string("kind")) {
    if (*kind == "latency_drift") {
      rule.kind = RuleKind::latency_drift;
    } else if (*kind == "burn_rate") {
      rule.kind = RuleKind::burn_rate;
      rule.for_duration = Duration::zero();  // the windows smooth; the workbook alerts fire at once
      rule.keep_firing_for = std::chrono::minutes(2);
    } else if (*kind == "latency_threshold") {
      rule.kind = RuleKind::latency_threshold;
    } else if (*kind == "threshold") {
      rule.kind = RuleKind::threshold;
    } else if (*kind == "anomaly") {
      rule.kind = RuleKind::anomaly;
    } else {
      r.invalid("kind", fmt::format("\"{}\" is not a kind this version judges (latency_drift, burn_rate, "
                                    "latency_threshold, threshold, anomaly)",
                                    *kind));
    }
  } else if (!table.contains("kind")) {
    errors.add(table.source(), r.keyPath("kind"), "missing (latency_drift, burn_rate, latency_threshold or threshold)");
  }
  auto selector = [&](std::string_view key) -> std::optional<Selector> {
    auto text = r.string(key);
    if (!text) return std::nullopt;
    auto sel = parseSelector(*text);
    if (!sel) {
      r.invalid(key, sel.error().message);
      return std::nullopt;
    }
    return std::move(*sel);
  };
  if (auto h = selector("histogram")) {
    rule.histogram = *h;
    rule.burn.histogram = *h;
  }
  if ((rule.kind == RuleKind::latency_drift || rule.kind == RuleKind::latency_threshold) &&
      !table.contains("histogram")) {
    errors.add(table.source(), r.keyPath("histogram"), "missing (a selector such as http_request_duration_seconds)");
  }
  if (rule.kind == RuleKind::burn_rate) {
    rule.burn.errors = selector("errors");
    rule.burn.total = selector("total");
    if (auto o = r.number("objective", 0.5, 0.999999)) rule.burn.objective = *o;
    if (auto d = r.duration("period", std::chrono::hours(1))) rule.burn.period = *d;
    if (auto t = r.number("threshold", 0, 1e9)) rule.burn.threshold = *t;
    if (auto m = r.number("min_bad_events", 0, 1e9)) rule.burn.min_bad_events = *m;
    const bool availability = table.contains("errors") || table.contains("total");
    const bool latency = table.contains("histogram");
    if (availability == latency) {
      errors.add(table.source(), r.keyPath("errors"),
                 "a burn_rate rule takes either errors and total (availability) or histogram and threshold (latency)");
    } else if (availability && (!table.contains("errors") || !table.contains("total"))) {
      errors.add(table.source(), r.keyPath(table.contains("errors") ? "total" : "errors"),
                 "missing (an availability SLI needs both errors and total)");
    } else if (latency && !table.contains("threshold")) {
      errors.add(table.source(), r.keyPath("threshold"), "missing (the bucket bound good requests stay under)");
    }
    if (const toml::array* windows = r.arrayOfTables("windows")) {
      rule.burn.windows.clear();
      for (std::size_t w = 0; w < windows->size(); ++w) {
        TableReader wr(*(*windows)[w].as_table(), r.keyPath(fmt::format("windows[{}]", w)), errors);
        BurnWindow bw{std::chrono::hours(1), std::chrono::minutes(5), 14.4, "page"};
        if (auto d = wr.duration("long", std::chrono::minutes(1))) bw.long_window = *d;
        if (auto d = wr.duration("short", std::chrono::seconds(30))) bw.short_window = *d;
        if (auto f = wr.number("factor", 0.01, 1e6)) bw.factor = *f;
        if (auto sv = wr.string("severity")) bw.severity = *sv;
        if (bw.short_window > bw.long_window) wr.invalid("short", "longer than the long window");
        wr.rejectUnknownKeys();
        rule.burn.windows.push_back(bw);
      }
    }
  }
  if (auto by = r.strings("by")) {
    rule.by = *by;
    if (std::find(by->begin(), by->end(), "le") != by->end()) r.invalid("by", "le is a bucket, not an endpoint label");
  } else {
    rule.by_all = true;
  }
  if (auto d = r.duration("for")) rule.for_duration = *d;
  if (auto d = r.duration("keep_firing_for")) rule.keep_firing_for = *d;
  if (auto s = r.string("severity")) rule.severity = *s;
  if (auto p = r.string("profile")) rule.profile = *p;
  if (auto q = r.string("source")) {
    rule.query_source = *q;
    if (q->empty())
      r.invalid("source", "must name a [[sources]] entry of the config (leave it out for scraped series)");
  }
  for (const char* key : {"labels", "annotations"}) {
    if (const toml::table* t = r.table(key)) {
      for (const auto& [k, v] : *t) {
        if (const auto* s = v.as_string()) {
          if (std::string_view(key) == "annotations") {
            if (auto parsed = Template::parse(s->get()); !parsed) {
              errors.add(v.source(), r.keyPath(fmt::format("{}.{}", key, k.str())), parsed.error().message);
            }
          }
          (std::string_view(key) == "labels" ? rule.labels : rule.annotations)[std::string(k.str())] = s->get();
        } else {
          errors.add(v.source(), r.keyPath(fmt::format("{}.{}", key, k.str())), "must be a string");
        }
      }
    }
  }
  if (rule.kind == RuleKind::latency_threshold || rule.kind == RuleKind::threshold) {
    ThresholdParams& t = rule.threshold;
    if (auto d = r.duration("window", std::chrono::seconds(30))) t.window = *d;
    if (rule.kind == RuleKind::latency_threshold) {
      if (auto q = r.number("quantile", 0.5, 0.9999)) t.quantile = *q;
      if (auto m = r.number("min_rate", 0, 1e9)) t.min_rate = *m;
      if (auto d = r.duration("above")) {
        t.above = std::chrono::duration<double>(*d).count();
      } else if (!table.contains("above")) {
        errors.add(table.source(), r.keyPath("above"), "missing (a latency such as \"500ms\")");
      }
    } else {
      t.gauge = selector("gauge");
      t.counter = selector("counter");
      if (table.contains("gauge") == table.contains("counter")) {
        errors.add(table.source(), r.keyPath("gauge"), "a threshold rule takes either a gauge or a counter");
      }
      t.above = r.number("above", -1e300, 1e300);
      t.below = r.number("below", -1e300, 1e300);
      if (!table.contains("above") && !table.contains("below")) {
        errors.add(table.source(), r.keyPath("above"), "missing (give above, below, or both)");
      }
    }
  }
  if (rule.kind == RuleKind::anomaly) {
    AnomalyParams& a = rule.anomaly;
    a.gauge = selector("gauge");
    a.counter = selector("counter");
    if (table.contains("gauge") == table.contains("counter")) {
      errors.add(table.source(), r.keyPath("gauge"), "an anomaly rule takes either a gauge or a counter");
    }
    if (auto d = r.string("direction")) {
      if (*d == "up") {
        a.direction = AnomalyParams::Direction::up;
      } else if (*d == "down") {
        a.direction = AnomalyParams::Direction::down;
      } else if (*d == "both") {
        a.direction = AnomalyParams::Direction::both;
      } else {
        r.invalid("direction", "must be \"up\", \"down\" or \"both\"");
      }
    }
    if (auto v = r.number("sensitivity", 1, 100)) a.sensitivity = *v;
    a.clear = a.sensitivity / 2;
    if (auto v = r.number("clear", 0, 100)) {
      if (*v < a.sensitivity) {
        a.clear = *v;
      } else {
        r.invalid("clear", "must be below sensitivity (an episode ends once the score falls under it)");
      }
    }
    if (auto d = r.duration("window", std::chrono::minutes(1))) a.window = *d;
    if (auto d = r.duration("baseline", std::chrono::minutes(30))) a.baseline = *d;
    if (auto d = r.duration("warmup")) a.warmup = *d;
    if (auto sv = r.string("seasonality")) {
      using S = AnomalyParams::Seasonality;
      if (*sv == "auto") {
        a.seasonality = S::automatic;
      } else if (*sv == "none") {
        a.seasonality = S::none;
      } else if (*sv == "daily") {
        a.seasonality = S::daily;
      } else if (*sv == "weekly") {
        a.seasonality = S::weekly;
      } else {
        r.invalid("seasonality", "must be \"auto\", \"none\", \"daily\" or \"weekly\"");
      }
    }
    if (auto n = r.integer("days", 2, 14)) a.days = static_cast<int>(*n);
    if (auto n = r.integer("weeks", 2, 4)) a.weeks = static_cast<int>(*n);
  }
  if (rule.kind == RuleKind::latency_drift) {
    if (auto q = r.number("quantile", 0.5, 0.9999)) rule.drift.quantile = *q;
    if (auto d = r.duration("window", std::chrono::seconds(30))) rule.drift.window = *d;
    if (auto d = r.duration("baseline", std::chrono::minutes(2))) rule.drift.baseline = *d;
    if (auto s = r.number("sensitivity", 1.1, 100)) rule.drift.sensitivity = *s;
    if (auto c = r.number("confidence", 0.9, 0.9999999)) rule.drift.confidence = *c;
    if (auto m = r.number("min_rate", 0, 1e9)) rule.drift.min_rate = *m;
    if (auto m = r.number("min_excess", 0, 1)) rule.drift.min_excess = *m;
  }
  r.rejectUnknownKeys();
  std::ostringstream canonical;
  canonical << toml::toml_formatter(table, toml::format_flags::none);
  rule.fingerprint = canonical.str();
  out.push_back(std::move(rule));
}

}  // namespace

Result<std::vector<Rule>> parseRules(std::string_view text, std::string_view source) {
  ConfigErrors errors{std::string(source)};
  auto document = parseTomlDocument(text, errors);
  if (!document) return fail(errors.joined());
  const toml::table& root = *document;
  std::vector<Rule> out;
  std::set<std::string> names;
  TableReader top(root, "", errors);
  if (const toml::array* rules = top.arrayOfTables("rules")) {
    for (std::size_t i = 0; i < rules->size(); ++i) {
      const toml::table& t = *(*rules)[i].as_table();
      TableReader r(t, fmt::format("rules[{}]", i), errors);
      readRule(r, t, std::string(source), names, out, errors);
    }
  }
  top.rejectUnknownKeys();
  if (!errors.empty()) return fail(errors.joined());
  return out;
}

Result<std::vector<Rule>> loadRules(const std::filesystem::path& file_or_dir) {
  std::vector<std::filesystem::path> files;
  std::error_code ec;
  if (std::filesystem::is_directory(file_or_dir, ec)) {
    for (const auto& entry : std::filesystem::directory_iterator(file_or_dir, ec)) {
      if (entry.path().extension() == ".toml") files.push_back(entry.path());
    }
    std::sort(files.begin(), files.end());
  } else {
    files.push_back(file_or_dir);
  }
  std::vector<Rule> all;
  std::string problems;
  std::set<std::string> names;
  for (const auto& f : files) {
    auto text = readFile(f);
    if (!text) {
      problems += (problems.empty() ? "" : "\n") + text.error().message;
      continue;
    }
    auto rules = parseRules(*text, f.string());
    if (!rules) {
      problems += (problems.empty() ? "" : "\n") + rules.error().message;
      continue;
    }
    for (auto& r : *rules) {
      if (!names.insert(r.name).second) {
        problems += fmt::format("{}{}: rule \"{}\" is also defined in another file", problems.empty() ? "" : "\n",
                                r.source, r.name);
      }
      all.push_back(std::move(r));
    }
  }
  if (!problems.empty()) return fail(problems);
  return all;
}

std::vector<BurnWindow> defaultBurnWindows() {
  using std::chrono::hours;
  using std::chrono::minutes;
  return {{hours(1), minutes(5), 14.4, "page"},
          {hours(6), minutes(30), 6, "page"},
          {hours(24), hours(2), 3, "ticket"},
          {hours(72), hours(6), 1, "ticket"}};
}

std::vector<Rule> defaultRules() {
  Rule r;
  r.name = "LatencyDrift";
  r.kind = RuleKind::latency_drift;
  r.histogram = *parseSelector(R"({__name__=~".+_seconds"})");
  r.by_all = true;
  r.source = "<zero-config default>";
  r.fingerprint = r.source;
  return {r};
}

}  // namespace hotspotd::rules
