#include "store/value_ring.h"

#include <bit>
#include <cmath>

namespace hotspotd::store {
namespace {

constexpr double kMaxExactInteger = 9007199254740992.0;  // 2^53

bool exactInteger(double v) {
  return std::fabs(v) < kMaxExactInteger && v == std::trunc(v);
}

std::uint64_t zigzag(std::int64_t v) {
  return (static_cast<std::uint64_t>(v) << 1) ^ static_cast<std::uint64_t>(v >> 63);
}
std::int64_t unzigzag(std::uint64_t v) {
  return static_cast<std::int64_t>(v >> 1) ^ -static_cast<std::int64_t>(v & 1);
}

}  // namespace

ValueRing& ValueRing::operator=(ValueRing&& o) noexcept {
  if (this != &o) {
    delete[] buf_;
    buf_ = std::exchange(o.buf_, nullptr);
    cap_ = std::exchange(o.cap_, 0);
    head_ = std::exchange(o.head_, 0);
    len_ = std::exchange(o.len_, 0);
    count_ = o.count_;
    o.count_ = 0;
    has_value_ = o.has_value_;
    last_ = o.last_;
  }
  return *this;
}

double ValueRing::applyBackward(double next, u128 entry) {
  switch (static_cast<Tag>(entry & 3)) {
    case kIntDelta: return next - static_cast<double>(unzigzag(static_cast<std::uint64_t>(entry >> 2)));
    case kXor:
      return std::bit_cast<double>(std::bit_cast<std::uint64_t>(next) ^ static_cast<std::uint64_t>(entry >> 2));
    default: return next;
  }
}

void ValueRing::grow(std::uint32_t need) {
  if (len_ + need <= cap_) return;
  // Grow by a quarter in 16-byte steps: rings live for hours at a steady size, so slack is memory wasted.
  std::uint32_t cap = cap_ + cap_ / 4;
  if (cap < len_ + need) cap = len_ + need;
  cap = (cap + 15) & ~15U;
  auto* buf = new std::uint8_t[cap];
  for (std::uint32_t i = 0; i < len_; ++i) buf[i] = at(i);
  delete[] buf_;
  buf_ = buf;
  cap_ = cap;
  head_ = 0;
}

void ValueRing::pushVarint(u128 v) {
  std::uint8_t bytes[19];
  std::uint32_t n = 0;
  do {
    std::uint8_t b = static_cast<std::uint8_t>(v & 0x7F);
    v >>= 7;
    if (v != 0) b |= 0x80;
    bytes[n++] = b;
  } while (v != 0);
  grow(n);
  for (std::uint32_t i = 0; i < n; ++i) {
    std::uint32_t pos = head_ + len_ + i;
    buf_[pos >= cap_ ? pos - cap_ : pos] = bytes[i];
  }
  len_ += n;
  ++count_;
}

void ValueRing::append(double value) {
  const double prev = last_;
  u128 entry;
  if (exactInteger(prev) && exactInteger(value)) {
    entry = (static_cast<u128>(zigzag(static_cast<std::int64_t>(value - prev))) << 2) | kIntDelta;
  } else {
    entry = (static_cast<u128>(std::bit_cast<std::uint64_t>(prev) ^ std::bit_cast<std::uint64_t>(value)) << 2) | kXor;
  }
  pushVarint(entry);
  last_ = value;
  has_value_ = 1;
}

void ValueRing::appendMissing() {
  pushVarint(kMissing);
}

void ValueRing::dropFront() {
  if (count_ == 0) return;
  std::uint32_t n = 0;
  while ((at(n++) & 0x80) != 0) {
  }
  head_ += n;
  if (head_ >= cap_) head_ -= cap_;
  len_ -= n;
  --count_;
}

}  // namespace hotspotd::store
