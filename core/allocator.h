// The C library's allocator, set for a daemon (glibc; elsewhere nothing is changed). The daemon holds a large heap
// that changes slowly (the store) and, once a scrape interval, takes and frees a few large buffers (a target's
// body of megabytes, its parsed samples). glibc's defaults leave those freed buffers in the heap: the first large
// block freed raises the size at which blocks are mapped on their own, so every later body comes from the heap and
// stays resident after it is freed, and each thread that allocates may get an arena of its own. So the daemon maps
// blocks of 256 KiB and more on their own (given back to the kernel when freed), returns a free top of the heap
// above 1 MiB, and uses at most two arenas.
#pragma once

#include <functional>
#include <optional>
#include <string>

namespace hotspotd {

// Whether the environment already sets the allocator (MALLOC_ARENA_MAX, MALLOC_MMAP_THRESHOLD_,
// MALLOC_TRIM_THRESHOLD_, MALLOC_TOP_PAD_, or a glibc.malloc tunable in GLIBC_TUNABLES): an operator's setting wins.
// `env` reads a variable.
bool allocatorSetByEnvironment(const std::function<std::optional<std::string>(const char*)>& env);

// Applies the daemon's settings unless the environment sets the allocator; whether they were applied. Call before
// any thread starts.
bool tuneAllocatorForDaemon();

}  // namespace hotspotd
