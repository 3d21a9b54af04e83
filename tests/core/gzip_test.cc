#include <doctest/doctest.h>

#include <zlib.h>

#include "core/base64.h"
#include "core/gzip.h"

using namespace hotspotd;

namespace {

std::string gzip(std::string_view in) {
  z_stream zs{};
  REQUIRE(deflateInit2(&zs, Z_BEST_COMPRESSION, Z_DEFLATED, 15 + 16, 9, Z_DEFAULT_STRATEGY) == Z_OK);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  REQUIRE(deflate(&zs, Z_FINISH) == Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

}  // namespace

TEST_CASE("gzip bodies decompress") {
  const std::string body = "a 1\nb 2\n";
  const auto gz = gzip(body);
  CHECK(looksGzipped(gz));
  CHECK_FALSE(looksGzipped(body));
  auto r = gunzip(gz, 1 << 20);
  REQUIRE(r);
  CHECK(*r == body);
}

TEST_CASE("a gzip bomb stops at the decompressed size limit") {
  const std::string big(64 << 20, 'a');  // 64 MiB of one byte compresses to about 64 KiB
  const auto gz = gzip(big);
  CHECK(gz.size() < 200 << 10);
  auto r = gunzip(gz, 1 << 20);
  REQUIRE_FALSE(r);
  CHECK(r.error().over_limit);
  CHECK(r.error().message.find("larger than 1048576 bytes") != std::string::npos);
}

TEST_CASE("a truncated or corrupt gzip body is an error, not a partial body") {
  const auto gz = gzip(std::string(100000, 'x'));
  auto r = gunzip(std::string_view(gz).substr(0, gz.size() / 2), 1 << 20);
  REQUIRE_FALSE(r);
  CHECK_FALSE(r.error().over_limit);
  std::string corrupt = gz;
  corrupt[20] ^= 0x55;
  CHECK_FALSE(gunzip(corrupt, 1 << 20));
}

TEST_CASE("base64 encodes with padding and decodes only well-formed text") {
  CHECK(hotspotd::base64Encode("") == "");
  CHECK(hotspotd::base64Encode("a") == "YQ==");
  CHECK(hotspotd::base64Encode("alice:s3cret") == "YWxpY2U6czNjcmV0");
  CHECK(hotspotd::base64Decode("YWxpY2U6czNjcmV0") == "alice:s3cret");
  CHECK(hotspotd::base64Decode("YQ==") == "a");
  CHECK(hotspotd::base64Decode("YWI=") == "ab");
  CHECK_FALSE(hotspotd::base64Decode("YQ="));     // not a multiple of 4
  CHECK_FALSE(hotspotd::base64Decode("Y!Q="));    // outside the alphabet
}
