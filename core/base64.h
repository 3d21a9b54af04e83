// Base64 (RFC 4648, with padding), for HTTP basic auth headers. Pure functions, any thread.
#pragma once

#include <string>
#include <string_view>

namespace hotspotd {

std::string base64Encode(std::string_view in);

}  // namespace hotspotd
