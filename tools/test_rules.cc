#include "tools/test_rules.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <map>
#include <optional>
#include <set>

#include <fmt/format.h>
#include <prometheus/registry.h>

#include "core/clock.h"
#include "core/file.h"
#include "core/labels.h"
#include "core/log.h"
#include "core/selector.h"
#include "core/toml_reader.h"
#include "incidents/engine.h"
#include "ingest/target_ingester.h"
#include "rules/rule_loader.h"

namespace hotspotd::tools {
namespace {

// One input series: its text as an exposition line prefix, and a value (or nothing) per step.
struct InputSeries {
  std::string name;
  std::vector<std::pair<std::string, std::string>> labels;
  std::vector<std::optional<double>> values;
};

struct ExpectedAlert {
  std::map<std::string, std::string> labels;
};

struct AlertTest {
  Duration at;
  std::string alertname;
  std::vector<ExpectedAlert> expected;
  std::string where;  // file:line
};

struct RuleTest {
  std::string name;
  Duration interval = std::chrono::seconds(15);
  std::vector<InputSeries> series;
  std::vector<AlertTest> alerts;
};

// promtool's notation: "a", "a+bxN", "a-bxN", "axN", "_", "_xN", "stale"; space-separated.
Result<std::vector<std::optional<double>>> expandValues(std::string_view text) {
  std::vector<std::optional<double>> out;
  std::size_t pos = 0;
  while (pos < text.size()) {
    while (pos < text.size() && text[pos] == ' ') ++pos;
    if (pos >= text.size()) break;
    std::size_t end = text.find(' ', pos);
    if (end == std::string_view::npos) end = text.size();
    const std::string_view item = text.substr(pos, end - pos);
    pos = end;
    if (item == "stale") {
      out.emplace_back(std::nullopt);
      continue;
    }
    const auto x = item.find('x');
    std::string_view head = item.substr(0, x);
    long long repeat = 0;
    if (x != std::string_view::npos) {
      const std::string count(item.substr(x + 1));
      char* e = nullptr;
      repeat = std::strtoll(count.c_str(), &e, 10);
      if (count.empty() || *e != '\0' || repeat < 0) return fail(fmt::format("bad repeat count in \"{}\"", item));
    }
    if (head == "_") {
      for (long long i = 0; i <= (x == std::string_view::npos ? 0 : repeat - 1); ++i) out.emplace_back(std::nullopt);
      continue;
    }
    // a, a+b or a-b (the sign after the first character separates start and step).
    std::size_t op = std::string_view::npos;
    for (std::size_t i = 1; i < head.size(); ++i) {
      if ((head[i] == '+' || head[i] == '-') && head[i - 1] != 'e' && head[i - 1] != 'E') {
        op = i;
        break;
      }
    }
    auto number = [&](std::string_view t) -> std::optional<double> { return ingest::TextParser::parseFloat(t); };
    const auto start = number(head.substr(0, op));
    const auto step = op == std::string_view::npos ? std::optional<double>(0) : number(head.substr(op + 1));
    if (!start || !step) return fail(fmt::format("\"{}\" is not a value (write a, a+bxN, a-bxN, _ or _xN)", item));
    const double delta = op != std::string_view::npos && head[op] == '-' ? -*step : *step;
    for (long long i = 0; i <= repeat; ++i) out.emplace_back(*start + delta * static_cast<double>(i));
  }
  return out;
}

InputSeries readInputSeries(TableReader& s) {
  InputSeries in;
  if (auto sel = s.string("series")) {
    auto parsed = parseSelector(*sel);
    if (!parsed || parsed->metricName().empty()) {
      s.invalid("series", parsed ? "needs a metric name" : parsed.error().message);
    } else {
      in.name = std::string(parsed->metricName());
      for (const auto& m : parsed->matchers) {
        if (m.name == "__name__") continue;
        if (m.op != Matcher::Op::eq) s.invalid("series", "input series take only = matchers");
        in.labels.emplace_back(m.name, m.value);
      }
    }
  }
  if (auto values = s.string("values")) {
    auto expanded = expandValues(*values);
    if (!expanded) {
      s.invalid("values", expanded.error().message);
    } else {
      in.values = std::move(*expanded);
    }
  }
  s.rejectUnknownKeys();
  return in;
}

AlertTest readAlertTest(TableReader& a, const toml::table& at, const std::filesystem::path& file) {
  AlertTest expect;
  expect.where = fmt::format("{}:{}", file.string(), at.source().begin.line);
  if (auto d = a.duration("at")) expect.at = *d;
  expect.alertname = a.string("alertname").value_or("");
  if (const toml::array* exp = a.arrayOfTables("firing")) {
    for (std::size_t e = 0; e < exp->size(); ++e) {
      ExpectedAlert ea;
      for (const auto& [lk, lv] : *(*exp)[e].as_table()) {
        if (const auto* sv = lv.as_string()) ea.labels[std::string(lk.str())] = sv->get();
      }
      expect.expected.push_back(std::move(ea));
    }
  }
  a.rejectUnknownKeys();
  return expect;
}

RuleTest readRuleTest(TableReader& t, const std::filesystem::path& file, ConfigErrors& errors) {
  RuleTest test;
  test.name = t.string("name").value_or("");
  if (auto d = t.duration("interval", std::chrono::seconds(1))) test.interval = *d;
  if (const toml::array* series = t.arrayOfTables("input_series")) {
    for (std::size_t k = 0; k < series->size(); ++k) {
      TableReader s(*(*series)[k].as_table(), t.keyPath(fmt::format("input_series[{}]", k)), errors);
      test.series.push_back(readInputSeries(s));
    }
  }
  if (const toml::array* alerts = t.arrayOfTables("alerts")) {
    for (std::size_t k = 0; k < alerts->size(); ++k) {
      const toml::table& at = *(*alerts)[k].as_table();
      TableReader a(at, t.keyPath(fmt::format("alerts[{}]", k)), errors);
      test.alerts.push_back(readAlertTest(a, at, file));
    }
  }
  t.rejectUnknownKeys();
  return test;
}

// The test file: its rule files, loaded, and its tests. Every error goes to `errors`.
void readTestFile(std::string_view text, const std::filesystem::path& file, ConfigErrors& errors,
                  std::vector<rules::Rule>& rule_list, std::vector<RuleTest>& tests) {
  auto doc = parseTomlDocument(text, errors);
  if (!doc) return;
  TableReader top(*doc, "", errors);
  if (auto files = top.strings("rule_files")) {
    for (const auto& f : *files) {
      const auto path = std::filesystem::path(f).is_absolute() ? std::filesystem::path(f) : file.parent_path() / f;
      auto loaded = rules::loadRules(path);
      if (!loaded) {
        errors.addFileLevel(loaded.error().message);
      } else {
        for (auto& r : *loaded) rule_list.push_back(std::move(r));
      }
    }
  }
  if (const toml::array* arr = top.arrayOfTables("tests")) {
    for (std::size_t i = 0; i < arr->size(); ++i) {
      TableReader t(*(*arr)[i].as_table(), fmt::format("tests[{}]", i), errors);
      tests.push_back(readRuleTest(t, file, errors));
      if (tests.back().name.empty()) tests.back().name = fmt::format("test {}", i + 1);
    }
  }
  top.rejectUnknownKeys();
}

// The exposition the test's input series give at one step: histograms for _bucket series (with their _sum and
// _count), counters for _total.
std::string expositionAt(const RuleTest& test, const std::set<std::string>& histograms, std::size_t step) {
  std::map<std::string, std::string> families;  // family -> lines
  for (const auto& s : test.series) {
    if (step >= s.values.size() || !s.values[step]) continue;
    std::string family = s.name;
    for (const char* suffix : {"_bucket", "_sum", "_count"}) {
      if (s.name.ends_with(suffix) && histograms.count(s.name.substr(0, s.name.size() - std::strlen(suffix)))) {
        family = s.name.substr(0, s.name.size() - std::strlen(suffix));
      }
    }
    std::string line = s.name + "{";
    for (std::size_t i = 0; i < s.labels.size(); ++i) {
      line += fmt::format("{}{}=\"{}\"", i ? "," : "", s.labels[i].first, s.labels[i].second);
    }
    families[family] += fmt::format("{}}} {}\n", line, *s.values[step]);
  }
  std::string body;
  for (const auto& [family, lines] : families) {
    if (histograms.count(family)) {
      body += fmt::format("# TYPE {} histogram\n", family);
    } else if (family.ends_with("_total")) {
      body += fmt::format("# TYPE {} counter\n", family);
    }
    body += lines;
  }
  return body;
}

using Firing = std::map<std::string, std::pair<std::string, rules::OwnedLabels>>;  // id -> (alertname, labels)

// One check of what fires against what the test expects; the failure's text, if it fails.
std::optional<std::string> checkAlerts(const AlertTest& check, const Firing& firing) {
  std::multiset<std::string> want, got;
  for (const auto& ea : check.expected) want.insert(labelText({ea.labels.begin(), ea.labels.end()}));
  for (const auto& [id, a] : firing) {
    if (a.first == check.alertname) got.insert(labelText(a.second));
  }
  if (want == got) return std::nullopt;
  std::string w, g;
  for (const auto& x : want) w += "\n      " + x;
  for (const auto& x : got) g += "\n      " + x;
  return fmt::format("{}: {} at {}:\n    expected firing:{}\n    got firing:{}", check.where, check.alertname,
                     formatDuration(check.at), w.empty() ? " none" : w, g.empty() ? " none" : g);
}

// Runs one test on a fresh engine and store, on a simulated clock from the epoch: evaluations every interval, each
// after the input at the same instant. Returns its failures.
std::vector<std::string> runRuleTest(const RuleTest& test, const std::vector<rules::Rule>& rule_list) {
  boost::asio::io_context io;
  SimClock clock(-1);
  store::SeriesStore store(incidents::storeConfigFor(rule_list, {}));
  ingest::TargetIngester ingester(store, store.addGroup("test"), {});
  prometheus::Registry registry;
  incidents::Engine engine(io, clock, store, registry, nullptr);
  Firing firing;
  engine.onEvents([&](const std::vector<rules::IncidentEvent>& events) {
    for (const auto& e : events) {
      if (e.state == rules::IncidentEvent::State::firing) {
        firing[e.id] = {e.alertname, e.labels};
      } else {
        firing.erase(e.id);
      }
    }
  });
  incidents::EngineOptions options;
  options.hotspots = false;  // no API to serve them
  options.interval = test.interval;
  engine.apply(rule_list, options);
  std::size_t steps = 0;
  for (const auto& s : test.series) steps = std::max(steps, s.values.size());
  Duration last_check = Duration::zero();
  for (const auto& a : test.alerts) last_check = std::max(last_check, a.at);
  steps = std::max<std::size_t>(steps, static_cast<std::size_t>(last_check / test.interval) + 1);

  std::set<std::string> histograms;
  for (const auto& s : test.series) {
    if (s.name.ends_with("_bucket")) histograms.insert(s.name.substr(0, s.name.size() - 7));
  }
  std::vector<std::string> failures;
  std::vector<const AlertTest*> checks;
  for (const auto& a : test.alerts) checks.push_back(&a);
  std::sort(checks.begin(), checks.end(), [](const AlertTest* x, const AlertTest* y) { return x->at < y->at; });
  std::size_t next_check = 0;
  for (std::size_t step = 0; step < steps; ++step) {
    const std::int64_t t = static_cast<std::int64_t>(step) * test.interval.count();
    const std::string body = expositionAt(test, histograms, step);
    clock.run(io, t - 1);
    if (!body.empty()) {
      auto r = ingester.ingest(body, ingest::ExpositionFormat::prometheus_text, t, {});
      if (!r) failures.push_back(fmt::format("input at {}: {}", formatDuration(Duration(t)), r.error().message));
    }
    clock.run(io, t);
    for (; next_check < checks.size() && checks[next_check]->at.count() <= t; ++next_check) {
      if (auto failure = checkAlerts(*checks[next_check], firing)) failures.push_back(std::move(*failure));
    }
  }
  engine.stop();
  return failures;
}

}  // namespace

int runRuleTests(const std::filesystem::path& file) {
  auto text = readFile(file);
  if (!text) {
    std::fprintf(stderr, "hotspotd: %s\n", text.error().message.c_str());
    return 2;
  }
  ConfigErrors errors(file.string());
  std::vector<rules::Rule> rule_list;
  std::vector<RuleTest> tests;
  readTestFile(*text, file, errors, rule_list, tests);
  if (!errors.empty()) {
    std::fprintf(stderr, "%s\n", errors.joined().c_str());
    return 2;
  }

  int passed = 0, failed = 0;
  // Alerts are the output here, not log lines.
  log::setup(log::Level::error, log::Format::text);
  for (const RuleTest& test : tests) {
    const auto failures = runRuleTest(test, rule_list);
    if (failures.empty()) {
      ++passed;
      std::printf("PASS %s\n", test.name.c_str());
    } else {
      ++failed;
      std::printf("FAIL %s\n", test.name.c_str());
      for (const auto& f : failures) std::printf("  %s\n", f.c_str());
    }
  }
  std::printf("%d passed, %d failed\n", passed, failed);
  return failed == 0 ? 0 : 1;
}

}  // namespace hotspotd::tools
