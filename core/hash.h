// A fast 64-bit hash for short byte strings (series texts, label sets): two independent lanes of 8-byte
// multiply-xorshift mixing, so the multiplies overlap, then a final avalanche. Not cryptographic; good
// distribution for hash tables. Pure; any thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <string_view>

namespace hotspotd {

inline std::uint64_t hashBytes(std::string_view s, std::uint64_t seed = 0x9E3779B97F4A7C15ULL) {
  constexpr std::uint64_t kMul1 = 0xBF58476D1CE4E5B9ULL;
  constexpr std::uint64_t kMul2 = 0x94D049BB133111EBULL;
  std::uint64_t a = seed ^ (s.size() * kMul2);
  std::uint64_t b = ~seed;
  const char* p = s.data();
  std::size_t n = s.size();
  while (n >= 16) {
    std::uint64_t w1, w2;
    std::memcpy(&w1, p, 8);
    std::memcpy(&w2, p + 8, 8);
    a = (a ^ w1) * kMul1;
    b = (b ^ w2) * kMul2;
    a ^= a >> 31;
    b ^= b >> 29;
    p += 16;
    n -= 16;
  }
  if (n >= 8) {
    std::uint64_t w;
    std::memcpy(&w, p, 8);
    a = (a ^ w) * kMul1;
    a ^= a >> 31;
    p += 8;
    n -= 8;
  }
  if (n > 0) {
    std::uint64_t w = 0;
    std::memcpy(&w, p, n);
    b = (b ^ w) * kMul2;
    b ^= b >> 29;
  }
  std::uint64_t h = a ^ (b * kMul1);
  h ^= h >> 32;
  h *= kMul2;
  h ^= h >> 29;
  return h;
}

}  // namespace hotspotd
