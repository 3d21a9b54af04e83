// Gzip (and zlib/deflate) decoding with a cap on the decompressed size, so a small compressed body that inflates
// to gigabytes (a gzip bomb) stops at the cap instead of filling memory. Pure; any thread.
#pragma once

#include <cstddef>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

struct GunzipError {
  bool over_limit = false;  // the decompressed body passed max_bytes
  std::string message;
};

tl::expected<std::string, GunzipError> gunzip(std::string_view compressed, std::size_t max_bytes);

bool looksGzipped(std::string_view body);

}  // namespace hotspotd
