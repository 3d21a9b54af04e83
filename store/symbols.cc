#include "store/symbols.h"

#include <functional>

namespace hotspotd::store {

std::uint32_t SymbolTable::intern(std::string_view s) {
  const std::uint64_t h = std::hash<std::string_view>{}(s);
  std::uint32_t id = index_.find(h);
  for (std::uint32_t i = id; i != HashIndex::kNone; i = next_[i]) {
    if (strings_[i] == s) return i;
  }
  const auto new_id = static_cast<std::uint32_t>(strings_.size());
  strings_.emplace_back(s);
  next_.push_back(id);  // chain to the previous holder of this hash, if any
  index_.put(h, new_id);
  bytes_ += s.size() > 15 ? s.size() + 1 : 0;
  return new_id;
}

std::size_t SymbolTable::heapBytes() const {
  return strings_.size() * (sizeof(std::string) + sizeof(std::uint32_t)) + bytes_ + index_.heapBytes();
}

}  // namespace hotspotd::store
