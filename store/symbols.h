// Interned strings (metric names, label names and values): each distinct string is stored once and named by a
// 32-bit id, counted by its holders. intern() takes a reference, release() gives one back; a string nobody holds
// any more is freed and its id reused, so label churn (a request id or a pod name in a label) does not grow the
// table without bound. A view returned by str() stays valid while its id is held. One thread.
#pragma once

#include <cstdint>
#include <deque>
#include <string>
#include <string_view>
#include <vector>

#include "store/hash_index.h"

namespace hotspotd::store {

class SymbolTable {
 public:
  // The id of `s`, with one more reference to it.
  std::uint32_t intern(std::string_view s);
  // Gives back one reference taken by intern(); the last one frees the string.
  void release(std::uint32_t id);
  std::string_view str(std::uint32_t id) const { return entries_[id].text; }
  // The id of `s` if it is held, else HashIndex::kNone; takes no reference.
  std::uint32_t find(std::string_view s) const;
  // Strings held (referenced at least once).
  std::size_t size() const { return entries_.size() - free_.size(); }
  std::size_t heapBytes() const;

 private:
  struct Entry {
    std::string text;
    std::uint32_t refs = 0;
    std::uint32_t next = HashIndex::kNone;  // the next id whose text has the same hash
  };
  std::deque<Entry> entries_;
  std::vector<std::uint32_t> free_;
  HashIndex index_;  // hash -> first id; collisions chain through Entry::next
  std::size_t bytes_ = 0;
};

}  // namespace hotspotd::store
