#include <doctest/doctest.h>

#include <map>

#include "core/allocator.h"

using namespace hotspotd;

namespace {

bool setBy(const std::map<std::string, std::string>& vars) {
  return allocatorSetByEnvironment([&](const char* name) -> std::optional<std::string> {
    const auto it = vars.find(name);
    return it == vars.end() ? std::nullopt : std::optional<std::string>(it->second);
  });
}

}  // namespace

TEST_CASE("an operator's allocator settings in the environment win over the daemon's") {
  CHECK_FALSE(setBy({}));
  CHECK_FALSE(setBy({{"HOME", "/root"}}));
  CHECK(setBy({{"MALLOC_ARENA_MAX", "4"}}));
  CHECK(setBy({{"MALLOC_MMAP_THRESHOLD_", "131072"}}));
  CHECK(setBy({{"MALLOC_TRIM_THRESHOLD_", "0"}}));
  CHECK(setBy({{"GLIBC_TUNABLES", "glibc.pthread.rseq=0:glibc.malloc.arena_max=8"}}));
  CHECK_FALSE(setBy({{"GLIBC_TUNABLES", "glibc.pthread.rseq=0"}}));
}
