// Golden tests on expositions captured from real exporters (tests/data/expositions): every line is understood,
// counts match what the lines say, and known series come out with their types and values.
#include <doctest/doctest.h>

#include <cmath>
#include <fstream>
#include <sstream>

#include "ingest/exposition.h"

using namespace hotspotd::ingest;

namespace {

std::string readFile(const std::string& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in, path);
  std::stringstream b;
  b << in.rdbuf();
  return b.str();
}

struct LineCounts {
  std::size_t samples = 0;
  std::size_t types = 0;
};

LineCounts countLines(const std::string& body) {
  LineCounts c;
  std::istringstream in(body);
  for (std::string line; std::getline(in, line);) {
    if (line.empty()) continue;
    if (line.starts_with("# TYPE ")) ++c.types;
    if (line[0] != '#') ++c.samples;
  }
  return c;
}

const ParsedSample* find(const ParsedExposition& e, std::string_view name, const OwnedLabels& labels) {
  for (const auto& s : e.samples) {
    if (s.name == name && s.labels == labels) return &s;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("a real Prometheus server's /metrics parses completely") {
  const std::string body = readFile(HOTSPOTD_SOURCE_DIR "/tests/data/expositions/prometheus-2.42.prom");
  auto e = parseExposition(body, ExpositionFormat::prometheus_text);
  REQUIRE_MESSAGE(e, (e ? "" : e.error().message));
  const LineCounts lines = countLines(body);
  CHECK(e->samples.size() == lines.samples);
  CHECK(e->families.size() == lines.types);
  // The histogram the end-to-end tests watch: one label set per handler, with its buckets, sum and count.
  std::size_t buckets = 0, infs = 0;
  for (const auto& s : e->samples) {
    if (s.family != "prometheus_http_request_duration_seconds") continue;
    CHECK(s.type == MetricType::histogram);
    if (s.kind == SampleKind::bucket) {
      ++buckets;
      for (const auto& [k, v] : s.labels) infs += (k == "le" && v == "+Inf") ? 1 : 0;
    }
  }
  CHECK(buckets > 0);
  REQUIRE(infs > 0);
  CHECK(buckets % infs == 0);
  const auto* gc = find(*e, "go_gc_duration_seconds", {{"quantile", "0.5"}});
  REQUIRE(gc);
  CHECK(gc->type == MetricType::summary);
  bool saw_build = false;
  for (const auto& s : e->samples) {
    if (s.name == "prometheus_build_info") {
      saw_build = true;
      CHECK(s.value == 1);
      CHECK(s.type == MetricType::gauge);
    }
  }
  CHECK(saw_build);
}

TEST_CASE("a real node exporter's /metrics parses completely") {
  const std::string body = readFile(HOTSPOTD_SOURCE_DIR "/tests/data/expositions/node-exporter.prom");
  auto e = parseExposition(body, ExpositionFormat::prometheus_text);
  REQUIRE_MESSAGE(e, (e ? "" : e.error().message));
  const LineCounts lines = countLines(body);
  CHECK(e->samples.size() == lines.samples);
  CHECK(e->families.size() == lines.types);
  std::size_t cpu = 0;
  for (const auto& s : e->samples) {
    if (s.name == "node_cpu_seconds_total") {
      ++cpu;
      CHECK(s.type == MetricType::counter);
      CHECK(s.value >= 0);
    }
  }
  CHECK(cpu > 0);
  // Help text with escapes survives.
  bool help = false;
  for (const auto& f : e->families) help |= f.name == "node_load1" && f.help == "1m load average.";
  CHECK(help);
}
