// Interned strings (metric names, label names and values): each distinct string is stored once and named by a
// 32-bit id. Views returned stay valid for the table's lifetime. One thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>

#include "store/hash_index.h"

namespace hotspotd::store {

class SymbolTable {
 public:
  std::uint32_t intern(std::string_view s);
  std::string_view str(std::uint32_t id) const { return strings_[id]; }
  std::size_t size() const { return strings_.size(); }
  std::size_t heapBytes() const;

 private:
  std::deque<std::string> strings_;
  HashIndex index_;  // hash -> first id; collisions chain through next_
  std::deque<std::uint32_t> next_;
  std::size_t bytes_ = 0;
};

}  // namespace hotspotd::store
