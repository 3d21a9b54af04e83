#include "profile/folded.h"

#include <algorithm>
#include <charconv>
#include <cmath>

#include <fmt/format.h>

namespace hotspotd::profile {

std::vector<std::pair<std::string_view, std::uint64_t>> FoldedStacks::sorted() const {
  std::vector<std::pair<std::string_view, std::uint64_t>> out;
  out.reserve(counts_.size());
  for (const auto& [stack, count] : counts_) out.emplace_back(stack, count);
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.first < b.first; });
  return out;
}

std::string FoldedStacks::text() const {
  std::string out;
  const auto rows = sorted();
  std::size_t bytes = 0;
  for (const auto& [stack, count] : rows) bytes += stack.size() + 22;
  out.reserve(bytes);
  char digits[24];
  for (const auto& [stack, count] : rows) {
    out += stack;
    out += ' ';
    const auto [end, ec] = std::to_chars(digits, digits + sizeof digits, count);
    out.append(digits, end);
    out += '\n';
  }
  return out;
}

Result<FoldedStacks> FoldedStacks::parse(std::string_view text) {
  FoldedStacks out;
  std::size_t pos = 0;
  int line_no = 0;
  while (pos < text.size()) {
    std::size_t end = text.find('\n', pos);
    if (end == std::string_view::npos) end = text.size();
    std::string_view line = text.substr(pos, end - pos);
    pos = end + 1;
    ++line_no;
    while (!line.empty() && (line.back() == '\r' || line.back() == ' ' || line.back() == '\t')) line.remove_suffix(1);
    if (line.empty()) continue;
    const std::size_t space = line.find_last_of(" \t");
    if (space == std::string_view::npos || space == 0) {
      return fail(fmt::format("line {}: expected \"stack count\" (frames joined by ';', a space, a count)", line_no));
    }
    const std::string_view number = line.substr(space + 1);
    std::uint64_t count = 0;
    const auto [ptr, ec] = std::from_chars(number.data(), number.data() + number.size(), count);
    if (ec != std::errc() || ptr != number.data() + number.size()) {
      double d = 0;
      const auto [dptr, dec] = std::from_chars(number.data(), number.data() + number.size(), d);
      if (dec != std::errc() || dptr != number.data() + number.size() || !(d >= 0) || !std::isfinite(d)) {
        return fail(fmt::format("line {}: \"{}\" is not a sample count", line_no, number));
      }
      count = d >= 1.8e19 ? UINT64_MAX : static_cast<std::uint64_t>(std::llround(d));
    }
    std::string_view stack = line.substr(0, space);
    while (!stack.empty() && (stack.back() == ' ' || stack.back() == '\t')) stack.remove_suffix(1);
    out.add(stack, count);
  }
  return out;
}

}  // namespace hotspotd::profile
