// Folded stacks: one line per distinct stack, `root;caller;...;leaf count`, the format flame graphs, diffs and
// the profile store all read and write. A FoldedStacks holds the counts by stack; text is written sorted by
// byte-wise comparison of the stacks, as the reference folders (stackcollapse-*.pl) print them, so identical
// inputs give identical files. Owned by one thread at a time.
#pragma once

#include <cstdint>
#include <string>
#include <string_view>
#include <unordered_map>
#include <utility>
#include <vector>

#include "core/hash.h"
#include "core/result.h"
#include "core/text.h"

namespace hotspotd::profile {

struct StackHash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const { return hashBytes(s); }
};

// Counts add up without wrapping around: a profile with absurd counts stays ordered, not scrambled.
inline std::uint64_t saturatingAdd(std::uint64_t a, std::uint64_t b) {
  return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

class FoldedStacks {
 public:
  // Adds `count` to a stack (frames joined by ';', root first). A stack that is not valid UTF-8 (frame names come
  // from the profiled process) is kept with U+FFFD in place of its bad bytes, so that whatever reads the profile
  // (JSON, SVG, the database, payloads) can take it.
  void add(std::string_view stack, std::uint64_t count) {
    auto it = counts_.find(stack);
    if (it == counts_.end()) {
      if (!validUtf8(stack)) {
        const std::string repaired = repairUtf8(stack);
        it = counts_.find(std::string_view(repaired));
        if (it == counts_.end()) it = counts_.emplace(repaired, 0).first;
        it->second = saturatingAdd(it->second, count);
      } else {
        counts_.emplace(std::string(stack), count);
      }
    } else {
      it->second = saturatingAdd(it->second, count);
    }
    total_ = saturatingAdd(total_, count);
  }

  std::size_t size() const { return counts_.size(); }
  bool empty() const { return counts_.empty(); }
  std::uint64_t total() const { return total_; }

  // Visits every stack and its count, in no particular order.
  template <typename F>
  void forEach(F&& f) const {
    for (const auto& [stack, count] : counts_) f(std::string_view(stack), count);
  }

  // The stacks and counts, sorted by stack (byte-wise).
  std::vector<std::pair<std::string_view, std::uint64_t>> sorted() const;
  // The folded text: one "stack count\n" line per stack, sorted.
  std::string text() const;

  // Reads folded text (`stack count` per line; a count may be a decimal number, as some tools write). Blank lines
  // are skipped; any other line that does not end in a count is an error naming its line.
  static Result<FoldedStacks> parse(std::string_view text);

 private:
  std::unordered_map<std::string, std::uint64_t, StackHash, std::equal_to<>> counts_;
  std::uint64_t total_ = 0;
};

}  // namespace hotspotd::profile
