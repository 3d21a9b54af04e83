// Real components a test needs (Prometheus, Alertmanager, perf with permission, Chromium, promtool, openssl,
// python3). A test that lacks one never passes silently: with CI=true it fails, naming what is missing and how to
// get it; elsewhere it is recorded as skipped, and the test binary exits 77 (CTest's skip code) once the others
// passed, so CTest reports it as skipped rather than passed.
#pragma once

#include <string_view>

namespace hotspotd::test {

// True if `available`. Otherwise: a failure under CI=true, a skip elsewhere; `what` says what is missing and how to
// install or allow it. Call at the top of the test and return when it is false.
bool needComponent(bool available, std::string_view what);

// The test cases skipped so far in this process.
int skippedForComponents();

}  // namespace hotspotd::test
