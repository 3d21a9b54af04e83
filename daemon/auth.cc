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
constexpr double kFailureBurst = 10;
constexpr double kFailureRefillSeconds = 6;
constexpr std::size_t kMaxClients = 10'000;

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

// Whether `client` may try a password now (spending one failure when `failed`).
bool BasicAuth::spend(const std::string& client, bool failed) {
  std::lock_guard lock(mutex_);
  const auto now = std::chrono::steady_clock::now();
  auto it = budgets_.find(client);
  if (it == budgets_.end()) {
    if (!failed) return true;
    if (budgets_.size() >= kMaxClients) {
      // Forget the address closest to a full budget: it is the least suspicious one.
      auto fullest = std::max_element(budgets_.begin(), budgets_.end(),
                                      [](const auto& a, const auto& b) { return a.second.tokens < b.second.tokens; });
      budgets_.erase(fullest);
    }
    it = budgets_.emplace(client, Budget{kFailureBurst, now}).first;
  }
  Budget& b = it->second;
  b.tokens = std::min(kFailureBurst, b.tokens + std::chrono::duration<double>(now - b.refilled).count() /
                                                    kFailureRefillSeconds);
  b.refilled = now;
  if (!failed) return b.tokens >= 1;
  b.tokens = std::max(0.0, b.tokens - 1);
  return true;
}

AuthResult BasicAuth::check(std::string_view authorization, const std::string& client) {
  if (users_.empty()) return AuthResult::ok;
  if (!authorization.starts_with("Basic ")) return AuthResult::denied;  // the browser's first, credential-less try
  const std::string decoded = base64Decode(authorization.substr(6)).value_or(std::string());
  const auto colon = decoded.find(':');
  if (colon == std::string::npos) {
    spend(client, true);
    return AuthResult::denied;
  }
  const std::string user = decoded.substr(0, colon), password = decoded.substr(colon + 1);
  const auto it = users_.find(user);
  const std::string& stored = it == users_.end() ? dummy_hash_ : it->second;
  const std::string key = sha256(user + '\0' + password + '\0' + stored);
  {
    std::lock_guard lock(mutex_);
    bool remembered = false;
    for (const auto& k : verified_) remembered = equalConstantTime(k, key) || remembered;
    if (remembered && it != users_.end()) return AuthResult::ok;
  }
  if (!spend(client, false)) return AuthResult::limited;
  const bool ok = equalConstantTime(bcrypt(password, stored), stored) && it != users_.end();
  if (!ok) {
    spend(client, true);
    return AuthResult::denied;
  }
  std::lock_guard lock(mutex_);
  if (verified_.size() >= kMaxRemembered) verified_.clear();
  verified_.insert(key);
  return AuthResult::ok;
}

}  // namespace hotspotd::daemon
