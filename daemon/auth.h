// Basic authentication for the HTTP server, with bcrypt-hashed passwords in the config (as Prometheus' web config
// has them): `[server] basic_auth_users = { alice = "$2b$12$..." }`. A password is checked with bcrypt (libxcrypt)
// and the result compared in constant time; an unknown user is checked against a dummy hash of the same cost, so
// timing does not say which users exist. Successful checks are remembered (a hash of user, password and stored
// hash, compared in constant time) so that a page making many requests does not pay bcrypt's cost each time.
// Thread-safe.
#pragma once

#include <map>
#include <mutex>
#include <set>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd::daemon {

// Checks that `hash` is a bcrypt hash ($2a$, $2b$ or $2y$, cost 4 to 31).
Result<void> checkBcryptHash(std::string_view hash);
// A new bcrypt hash of `password` (cost 4..31).
Result<std::string> hashPassword(std::string_view password, int cost);

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  // Whether an Authorization header value ("Basic base64(user:password)") names a user with that password.
  bool check(std::string_view authorization);

 private:
  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::mutex mutex_;
  std::set<std::string> verified_;  // SHA-256 of user, password and stored hash
};

}  // namespace hotspotd::daemon
