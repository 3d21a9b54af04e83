// The test binaries' main: doctest's, and exit code 77 (CTest's SKIP_RETURN_CODE) when every test that ran passed
// but some were skipped for want of a real component (tests/support/components.h), so that CTest reports the binary
// as skipped instead of passed.
#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdio>

#include "tests/support/components.h"

int main(int argc, char** argv) {
  doctest::Context context(argc, argv);
  const int rc = context.run();
  if (context.shouldExit() || rc != 0) return rc;
  if (const int skipped = hotspotd::test::skippedForComponents(); skipped > 0) {
    std::printf("%d test case(s) skipped for a missing component; CTest reports the binary as skipped\n", skipped);
    return 77;
  }
  return 0;
}
