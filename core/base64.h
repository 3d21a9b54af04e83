// Base64 (RFC 4648, with padding), for HTTP basic auth headers: OpenSSL's codec. Pure functions, any thread.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace hotspotd {

std::string base64Encode(std::string_view in);
// Nothing if `in` is not padded base64 (a length that is not a multiple of 4, or a character outside the alphabet).
std::optional<std::string> base64Decode(std::string_view in);

}  // namespace hotspotd
