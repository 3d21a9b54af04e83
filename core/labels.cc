#include "core/labels.h"

#include <algorithm>

namespace hotspotd {

std::string labelText(const std::vector<std::pair<std::string, std::string>>& labels,
                      std::initializer_list<std::string_view> skip) {
  std::string out = "{";
  for (const auto& [name, value] : labels) {
    if (std::find(skip.begin(), skip.end(), name) != skip.end()) continue;
    if (out.size() > 1) out += ", ";
    out += name;
    out += "=\"";
    for (const char c : value) {
      switch (c) {
        case '\\': out += "\\\\"; break;
        case '"': out += "\\\""; break;
        case '\n': out += "\\n"; break;
        default: out += c;
      }
    }
    out += '"';
  }
  return out + "}";
}

}  // namespace hotspotd
