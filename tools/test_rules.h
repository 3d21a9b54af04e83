// `hotspotd test-rules FILE`: unit tests for rules, as `promtool test rules` does for Prometheus rules. A test file
// names rule files and holds tests; each test gives input series in promtool's expanding notation and the alerts
// expected to be firing at given times. The series go through the real ingest path (an exposition per step), the
// real detectors and the real incident tracker, on a simulated clock.
#pragma once

#include <filesystem>

namespace hotspotd::tools {

// Returns 0 if every test passed, 1 if one failed, 2 if the file is not valid.
int runRuleTests(const std::filesystem::path& file);

}  // namespace hotspotd::tools
