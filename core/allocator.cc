#include "core/allocator.h"

#include <cstdlib>

#if defined(__GLIBC__)
#include <malloc.h>
#endif

namespace hotspotd {

bool allocatorSetByEnvironment(const std::function<std::optional<std::string>(const char*)>& env) {
  for (const char* name : {"MALLOC_ARENA_MAX", "MALLOC_MMAP_THRESHOLD_", "MALLOC_TRIM_THRESHOLD_", "MALLOC_TOP_PAD_"}) {
    if (env(name)) return true;
  }
  const auto tunables = env("GLIBC_TUNABLES");
  return tunables && tunables->find("glibc.malloc.") != std::string::npos;
}

bool tuneAllocatorForDaemon() {
#if defined(__GLIBC__)
  const bool set = allocatorSetByEnvironment([](const char* name) -> std::optional<std::string> {
    const char* value = std::getenv(name);
    return value ? std::optional<std::string>(value) : std::nullopt;
  });
  if (set) return false;
  // A fixed threshold also turns off glibc's raising of it when a mapped block is freed.
  return mallopt(M_MMAP_THRESHOLD, 256 * 1024) == 1 && mallopt(M_TRIM_THRESHOLD, 1024 * 1024) == 1 &&
         mallopt(M_ARENA_MAX, 2) == 1;
#else
  return false;
#endif
}

}  // namespace hotspotd
