#include "store/symbols.h"

#include <functional>

namespace hotspotd::store {

namespace {

// Heap bytes of a string's text: none while it fits the small-string buffer.
std::size_t textBytes(const std::string& s) {
  return s.capacity() > 15 ? s.capacity() + 1 : 0;
}

}  // namespace

std::uint32_t SymbolTable::find(std::string_view s) const {
  for (std::uint32_t i = index_.find(std::hash<std::string_view>{}(s)); i != HashIndex::kNone; i = entries_[i].next) {
    if (entries_[i].text == s) return i;
  }
  return HashIndex::kNone;
}

std::uint32_t SymbolTable::intern(std::string_view s) {
  const std::uint64_t h = std::hash<std::string_view>{}(s);
  const std::uint32_t head = index_.find(h);
  for (std::uint32_t i = head; i != HashIndex::kNone; i = entries_[i].next) {
    if (entries_[i].text == s) {
      ++entries_[i].refs;
      return i;
    }
  }
  std::uint32_t id;
  if (!free_.empty()) {
    id = free_.back();
    free_.pop_back();
  } else {
    id = static_cast<std::uint32_t>(entries_.size());
    entries_.emplace_back();
  }
  Entry& e = entries_[id];
  e.text.assign(s);
  e.refs = 1;
  e.next = head;  // chain to the previous holder of this hash, if any
  index_.put(h, id);
  bytes_ += textBytes(e.text);
  return id;
}

void SymbolTable::release(std::uint32_t id) {
  Entry& e = entries_[id];
  if (e.refs == 0 || --e.refs > 0) return;
  const std::uint64_t h = std::hash<std::string_view>{}(e.text);
  const std::uint32_t head = index_.find(h);
  if (head == id) {
    if (e.next == HashIndex::kNone) {
      index_.erase(h);
    } else {
      index_.put(h, e.next);
    }
  } else {
    for (std::uint32_t p = head; p != HashIndex::kNone; p = entries_[p].next) {
      if (entries_[p].next == id) {
        entries_[p].next = e.next;
        break;
      }
    }
  }
  bytes_ -= textBytes(e.text);
  std::string().swap(e.text);
  e.next = HashIndex::kNone;
  free_.push_back(id);
}

std::size_t SymbolTable::heapBytes() const {
  return entries_.size() * sizeof(Entry) + free_.capacity() * sizeof(std::uint32_t) + bytes_ + index_.heapBytes();
}

}  // namespace hotspotd::store
