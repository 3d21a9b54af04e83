// A compact ring of one series' values over time: each point is one LEB128 varint holding either an exact integer
// delta from the previous value (the common case for counters and bucket counts: one or two bytes), the XOR of the
// previous and new IEEE bits (exact for any double), or a "no value at this point" marker. LEB128 is decodable in
// both directions, so recent points are read from the newest end without decoding the whole ring, and the oldest
// point drops off the front in O(1). Owned and used by one thread.
#pragma once

#include <cstdint>
#include <cstring>
#include <optional>
#include <utility>

namespace hotspotd::store {

class ValueRing {
 public:
  ValueRing() = default;
  ~ValueRing() { delete[] buf_; }
  ValueRing(ValueRing&& o) noexcept { *this = std::move(o); }
  ValueRing& operator=(ValueRing&& o) noexcept;
  ValueRing(const ValueRing&) = delete;
  ValueRing& operator=(const ValueRing&) = delete;

  void append(double value);
  void appendMissing();
  void dropFront();

  std::uint32_t count() const { return count_; }
  bool empty() const { return count_ == 0; }
  // The newest value appended (even if its point has since dropped off the front), if any.
  std::optional<double> lastValue() const { return has_value_ ? std::optional<double>(last_) : std::nullopt; }
  std::size_t heapBytes() const { return cap_; }
  // Asks the CPU to fetch the newest points' bytes (a hint for scans over many rings).
  void prefetchNewest() const {
    if (len_ == 0) return;
    const std::uint32_t last = head_ + len_ - 1;
    const std::uint8_t* p = &buf_[last >= cap_ ? last - cap_ : last];
    __builtin_prefetch(p);
    __builtin_prefetch(p - (p - buf_ >= 32 ? 32 : 0));
  }

  // Visits points from newest to oldest: f(index, present, value) where index counts from the oldest point (0).
  // Stops when f returns false.
  template <typename F>
  void forEachBackward(F&& f) const;

 private:
  enum Tag : std::uint8_t { kIntDelta = 0, kMissing = 1, kXor = 2 };
  __extension__ typedef unsigned __int128 u128;

  void pushVarint(u128 v);
  std::uint8_t at(std::uint32_t logical) const {
    std::uint32_t i = head_ + logical;
    return buf_[i >= cap_ ? i - cap_ : i];
  }
  void grow(std::uint32_t need);
  static double applyBackward(double next, u128 entry);

  std::uint8_t* buf_ = nullptr;
  std::uint32_t cap_ = 0;
  std::uint32_t head_ = 0;
  std::uint32_t len_ = 0;
  std::uint32_t count_ : 31 = 0;
  std::uint32_t has_value_ : 1 = 0;
  double last_ = 0;  // the chain value after the last entry
};

template <typename F>
void ValueRing::forEachBackward(F&& f) const {
  double value = last_;
  std::uint32_t end = len_;
  std::uint32_t index = count_;
  while (end > 0) {
    std::uint32_t start = end - 1;
    while (start > 0 && (at(start - 1) & 0x80) != 0) --start;
    u128 entry = 0;
    for (std::uint32_t k = end; k-- > start;) entry = (entry << 7) | (at(k) & 0x7F);
    --index;
    const bool present = (entry & 3) != kMissing;
    if (!f(index, present, value)) return;
    value = applyBackward(value, entry);
    end = start;
  }
}

}  // namespace hotspotd::store
