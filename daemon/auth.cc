#include "daemon/auth.h"

#include <crypt.h>

#include <cstring>
#include <random>

#include <fmt/format.h>
#include <openssl/crypto.h>
#include <openssl/evp.h>

#include "core/base64.h"

namespace hotspotd::daemon {
namespace {

constexpr std::size_t kMaxRemembered = 256;

std::string bcrypt(std::string_view password, const std::string& setting) {
  crypt_data data{};
  const std::string pw(password);
  const char* out = crypt_r(pw.c_str(), setting.c_str(), &data);
  if (!out || out[0] == '*') return {};
  return out;
}

bool equalConstantTime(std::string_view a, std::string_view b) {
  if (a.size() != b.size()) return false;
  return CRYPTO_memcmp(a.data(), b.data(), a.size()) == 0;
}

std::string sha256(std::string_view text) {
  unsigned char digest[EVP_MAX_MD_SIZE];
  unsigned int length = 0;
  EVP_Digest(text.data(), text.size(), digest, &length, EVP_sha256(), nullptr);
  return std::string(reinterpret_cast<const char*>(digest), length);
}

int costOf(std::string_view hash) {
  if (hash.size() < 7) return 0;
  return (hash[4] - '0') * 10 + (hash[5] - '0');
}

}  // namespace

Result<void> checkBcryptHash(std::string_view hash) {
  const bool prefix = hash.starts_with("$2a$") || hash.starts_with("$2b$") || hash.starts_with("$2y$");
  const int cost = prefix && hash.size() == 60 && hash[6] == '$' ? costOf(hash) : 0;
  if (!prefix || hash.size() != 60 || cost < 4 || cost > 31) {
    return fail("not a bcrypt hash (\"$2b$12$\" and 53 more characters); make one with `hotspotd hash-password`");
  }
  return {};
}

Result<std::string> hashPassword(std::string_view password, int cost) {
  if (cost < 4 || cost > 31) return fail("bcrypt cost must be 4 to 31");
  if (password.empty()) return fail("the password is empty");
  if (password.size() > 72) return fail("bcrypt reads at most 72 bytes of a password");
  char setting[CRYPT_GENSALT_OUTPUT_SIZE];
  if (!crypt_gensalt_rn("$2b$", static_cast<unsigned long>(cost), nullptr, 0, setting, sizeof setting)) {
    return fail(fmt::format("cannot make a bcrypt salt: {}", std::strerror(errno)));
  }
  std::string out = bcrypt(password, setting);
  if (out.empty()) return fail("bcrypt failed");
  return out;
}

BasicAuth::BasicAuth(std::map<std::string, std::string> users) : users_(std::move(users)) {
  // A dummy of the highest cost in use, so an unknown user costs what a known one does.
  int cost = 4;
  for (const auto& [user, hash] : users_) cost = std::max(cost, costOf(hash));
  if (!users_.empty()) {
    auto dummy = hashPassword("hotspotd-dummy-password", cost);
    if (dummy) dummy_hash_ = *dummy;
  }
}

bool BasicAuth::check(std::string_view authorization) {
  if (users_.empty()) return true;
  if (!authorization.starts_with("Basic ")) return false;
  const std::string decoded = base64Decode(authorization.substr(6)).value_or(std::string());
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) return false;
  const std::string user = decoded.substr(0, colon), password = decoded.substr(colon + 1);
  const auto it = users_.find(user);
  const std::string& stored = it == users_.end() ? dummy_hash_ : it->second;
  const std::string key = sha256(user + '\0' + password + '\0' + stored);
  {
    std::lock_guard lock(mutex_);
    bool remembered = false;
    for (const auto& k : verified_) remembered = equalConstantTime(k, key) || remembered;
    if (remembered && it != users_.end()) return true;
  }
  const bool ok = equalConstantTime(bcrypt(password, stored), stored) && it != users_.end();
  if (ok) {
    std::lock_guard lock(mutex_);
    if (verified_.size() >= kMaxRemembered) verified_.clear();
    verified_.insert(key);
  }
  return ok;
}

}  // namespace hotspotd::daemon
