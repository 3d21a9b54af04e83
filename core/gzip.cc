#include "core/gzip.h"

#include <zlib.h>

#include <fmt/format.h>

namespace hotspotd {

bool looksGzipped(std::string_view body) {
  return body.size() >= 2 && static_cast<unsigned char>(body[0]) == 0x1f && static_cast<unsigned char>(body[1]) == 0x8b;
}

tl::expected<std::string, GunzipError> gunzip(std::string_view compressed, std::size_t max_bytes) {
  z_stream zs{};
  // 15 + 32: accept gzip and zlib headers alike.
  if (inflateInit2(&zs, 15 + 32) != Z_OK) return tl::unexpected(GunzipError{false, "zlib initialisation failed"});
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
  zs.avail_in = static_cast<uInt>(compressed.size());
  std::string out;
  out.resize(std::min<std::size_t>(max_bytes + 1, std::max<std::size_t>(compressed.size() * 4, 64 * 1024)));
  std::size_t produced = 0;
  int rc = Z_OK;
  for (;;) {
    if (produced == out.size()) {
      if (out.size() > max_bytes) break;
      out.resize(std::min<std::size_t>(max_bytes + 1, out.size() * 2));
    }
    zs.next_out = reinterpret_cast<Bytef*>(out.data() + produced);
    zs.avail_out = static_cast<uInt>(out.size() - produced);
    rc = inflate(&zs, Z_NO_FLUSH);
    produced = out.size() - zs.avail_out;
    if (rc == Z_STREAM_END) {
      // Concatenated gzip members are legal; continue with the next one if bytes remain.
      if (zs.avail_in > 0 && inflateReset(&zs) == Z_OK) continue;
      break;
    }
    if (rc != Z_OK && rc != Z_BUF_ERROR) break;
    if (rc == Z_BUF_ERROR && zs.avail_in == 0) break;
  }
  inflateEnd(&zs);
  if (produced > max_bytes) {
    return tl::unexpected(GunzipError{true, fmt::format("body is larger than {} bytes once decompressed", max_bytes)});
  }
  if (rc != Z_STREAM_END) {
    return tl::unexpected(
        GunzipError{false, fmt::format("gzip body is corrupt or cut short ({})", zs.msg ? zs.msg : "unexpected end")});
  }
  out.resize(produced);
  return out;
}

}  // namespace hotspotd
