// The build's identity, stamped in at configure time: printed by `hotspotd version` and exported as
// hotspotd_build_info. Constants, readable from any thread.
#pragma once

#include <string_view>

namespace hotspotd {

struct BuildInfo {
  std::string_view version;
  std::string_view revision;
  std::string_view compiler;
  std::string_view build_type;
};

const BuildInfo& buildInfo();

}  // namespace hotspotd
