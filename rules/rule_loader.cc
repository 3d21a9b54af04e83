#include "rules/rule_loader.h"

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include <fmt/format.h>
#include <toml++/toml.h>

#include "core/toml_reader.h"

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
    } else {
      r.invalid("kind", fmt::format("\"{}\" is not a kind this version judges (latency_drift)", *kind));
    }
  } else if (!table.contains("kind")) {
    errors.add(table.source(), r.keyPath("kind"), "missing (latency_drift)");
  }
  if (auto h = r.string("histogram")) {
    if (auto sel = parseSelector(*h)) {
      rule.histogram = std::move(*sel);
    } else {
      r.invalid("histogram", sel.error().message);
    }
  } else if (!table.contains("histogram")) {
    errors.add(table.source(), r.keyPath("histogram"), "missing (a selector such as http_request_duration_seconds)");
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
  for (const char* key : {"labels", "annotations"}) {
    if (const toml::table* t = r.table(key)) {
      for (const auto& [k, v] : *t) {
        if (const auto* s = v.as_string()) {
          (std::string_view(key) == "labels" ? rule.labels : rule.annotations)[std::string(k.str())] = s->get();
        } else {
          errors.add(v.source(), r.keyPath(fmt::format("{}.{}", key, k.str())), "must be a string");
        }
      }
    }
  }
  if (auto q = r.number("quantile", 0.5, 0.9999)) rule.drift.quantile = *q;
  if (auto d = r.duration("window", std::chrono::seconds(30))) rule.drift.window = *d;
  if (auto d = r.duration("baseline", std::chrono::minutes(10))) rule.drift.baseline = *d;
  if (auto s = r.number("sensitivity", 1.1, 100)) rule.drift.sensitivity = *s;
  if (auto c = r.number("confidence", 0.9, 0.9999999)) rule.drift.confidence = *c;
  if (auto m = r.number("min_rate", 0, 1e9)) rule.drift.min_rate = *m;
  r.rejectUnknownKeys();
  out.push_back(std::move(rule));
}

}  // namespace

Result<std::vector<Rule>> parseRules(std::string_view text, std::string_view source) {
  ConfigErrors errors{std::string(source)};
  toml::table root;
  try {
    root = toml::parse(text, std::string(source));
  } catch (const toml::parse_error& e) {
    errors.add(e.source(), "syntax", e.description());
    return fail(errors.joined());
  }
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
    std::ifstream in(f, std::ios::binary);
    if (!in) {
      problems += fmt::format("{}{}: cannot open rule file", problems.empty() ? "" : "\n", f.string());
      continue;
    }
    std::stringstream buf;
    buf << in.rdbuf();
    auto rules = parseRules(buf.str(), f.string());
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

std::vector<Rule> defaultRules() {
  Rule r;
  r.name = "LatencyDrift";
  r.kind = RuleKind::latency_drift;
  r.histogram = *parseSelector(R"({__name__=~".+_seconds"})");
  r.by_all = true;
  r.source = "<zero-config default>";
  return {r};
}

}  // namespace hotspotd::rules
