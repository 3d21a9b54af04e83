// An open-addressing map from a 64-bit hash to a small value (an id, or a packed struct), with linear probing and
// backward-shift deletion: no allocation per entry, load at most 0.85. The caller resolves hash collisions.
// One thread.
#pragma once

#include <cstdint>
#include <vector>

namespace hotspotd::store {

template <typename V>
class BasicHashIndex {
 public:
  static constexpr V kNone = static_cast<V>(~V{});

  V find(std::uint64_t key) const {
    if (slots_.empty()) return kNone;
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      const Slot& s = slots_[i];
      if (s.value == kNone) return kNone;
      if (s.key == key) return s.value;
    }
  }

  // Starts loading the slot `key` would probe first, for a find() a little later.
  void prefetch(std::uint64_t key) const {
    if (!slots_.empty()) __builtin_prefetch(&slots_[key & mask_]);
  }

  // Inserts or overwrites.
  void put(std::uint64_t key, V value) {
    // Up to 85% full: linear probing with a well-mixed hash stays short, and a table that just doubled is 43%
    // full instead of 35%, which matters at 100k+ series.
    if ((size_ + 1) * 20 > slots_.size() * 17) rehash(slots_.empty() ? 16 : slots_.size() * 2);
    for (std::size_t i = key & mask_;; i = (i + 1) & mask_) {
      Slot& s = slots_[i];
      if (s.value == kNone) {
        s = Slot{key, value};
        ++size_;
        return;
      }
      if (s.key == key) {
        s.value = value;
        return;
      }
    }
  }

  void erase(std::uint64_t key) {
    if (slots_.empty()) return;
    std::size_t i = key & mask_;
    for (;; i = (i + 1) & mask_) {
      if (slots_[i].value == kNone) return;
      if (slots_[i].key == key) break;
    }
    // Backward-shift: move later entries of the probe run into the hole so lookups never stop early.
    for (std::size_t j = (i + 1) & mask_;; j = (j + 1) & mask_) {
      if (slots_[j].value == kNone) break;
      const std::size_t home = slots_[j].key & mask_;
      if (((j - home) & mask_) >= ((j - i) & mask_)) {
        slots_[i] = slots_[j];
        i = j;
      }
    }
    slots_[i].value = kNone;
    --size_;
  }

  // Erases every entry whose value `pred` holds true for, and shrinks the table to fit those left (a map that
  // grew under churn gives its memory back). Linear in the table's size.
  template <typename Pred>
  std::size_t eraseIf(Pred pred) {
    std::vector<Slot> old;
    old.swap(slots_);
    std::size_t kept = 0;
    for (const Slot& s : old) {
      if (s.value != kNone && !pred(s.value)) ++kept;
    }
    const std::size_t erased = size_ - kept;
    // Half full at most after the rebuild, so that the next puts do not double it again at once.
    std::size_t n = 16;
    while (kept * 2 > n) n *= 2;
    slots_.assign(std::min(n, std::max<std::size_t>(old.size(), 16)), Slot{});
    mask_ = slots_.size() - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value != kNone && !pred(s.value)) put(s.key, s.value);
    }
    return erased;
  }

  std::size_t size() const { return size_; }
  std::size_t heapBytes() const { return slots_.capacity() * sizeof(Slot); }

 private:
  struct Slot {
    std::uint64_t key = 0;
    V value = kNone;
  };

  void rehash(std::size_t n) {
    std::vector<Slot> old;
    old.swap(slots_);
    slots_.assign(n, Slot{});
    mask_ = n - 1;
    size_ = 0;
    for (const Slot& s : old) {
      if (s.value != kNone) put(s.key, s.value);
    }
  }

  std::vector<Slot> slots_;
  std::size_t mask_ = 0;
  std::size_t size_ = 0;
};

using HashIndex = BasicHashIndex<std::uint32_t>;

}  // namespace hotspotd::store
