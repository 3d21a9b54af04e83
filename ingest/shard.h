// Splitting endpoints among several daemons (`shard = "i/n"` on a query source), the way Prometheus' hashmod
// relabelling splits targets: MD5 of the label values joined by ";", its last 8 bytes read big-endian, modulo n.
// A team can reproduce the split with a relabel rule of their own. Pure functions, any thread.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include "core/result.h"

namespace hotspotd::ingest {

struct Shard {
  std::uint64_t index = 0;  // 0 <= index < count
  std::uint64_t count = 1;
  bool operator==(const Shard&) const = default;
};

// "i/n" with 0 <= i < n.
Result<Shard> parseShard(std::string_view text);

// Prometheus' hashmod of `values` (joined by ";") modulo `modulus`.
std::uint64_t hashmod(const std::vector<std::string_view>& values, std::uint64_t modulus);

inline bool ownedBy(const Shard& shard, const std::vector<std::string_view>& values) {
  return shard.count <= 1 || hashmod(values, shard.count) == shard.index;
}

}  // namespace hotspotd::ingest
