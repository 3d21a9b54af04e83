#include "tests/support/components.h"

#include <atomic>
#include <cstdlib>
#include <string>

#include <doctest/doctest.h>

namespace hotspotd::test {
namespace {

std::atomic<int> g_skipped{0};

bool inCi() {
  const char* ci = std::getenv("CI");
  return ci && std::string(ci) == "true";
}

}  // namespace

bool needComponent(bool available, std::string_view what) {
  if (available) return true;
  if (inCi()) {
    FAIL_CHECK("missing with CI=true: " << std::string(what));
  } else {
    ++g_skipped;
    MESSAGE("skipped: " << std::string(what));
  }
  return false;
}

int skippedForComponents() { return g_skipped.load(); }

}  // namespace hotspotd::test
