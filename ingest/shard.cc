#include "ingest/shard.h"

#include <openssl/evp.h>

#include <charconv>

#include <fmt/format.h>

namespace hotspotd::ingest {

Result<Shard> parseShard(std::string_view text) {
  const auto slash = text.find('/');
  Shard s;
  auto number = [](std::string_view t, std::uint64_t& out) {
    const auto [ptr, ec] = std::from_chars(t.data(), t.data() + t.size(), out);
    return !t.empty() && ec == std::errc() && ptr == t.data() + t.size();
  };
  if (slash == std::string_view::npos || !number(text.substr(0, slash), s.index) ||
      !number(text.substr(slash + 1), s.count) || s.count == 0 || s.index >= s.count) {
    return fail(fmt::format("invalid shard \"{}\": write i/n with 0 <= i < n, e.g. \"0/3\"", text));
  }
  return s;
}

std::uint64_t hashmod(const std::vector<std::string_view>& values, std::uint64_t modulus) {
  std::string joined;
  for (std::size_t i = 0; i < values.size(); ++i) {
    if (i > 0) joined += ';';
    joined += values[i];
  }
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int size = 0;
  EVP_Digest(joined.data(), joined.size(), digest, &size, EVP_md5(), nullptr);
  std::uint64_t sum = 0;
  for (unsigned int i = 8; i < 16 && i < size; ++i) sum = (sum << 8) | digest[i];
  return modulus == 0 ? 0 : sum % modulus;
}

}  // namespace hotspotd::ingest
