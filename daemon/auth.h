// Basic authentication for the HTTP server, with bcrypt-hashed passwords in the config (as Prometheus' web config
// has them): `[server] basic_auth_users = { alice = "$2b$12$..." }`. A password is checked with bcrypt (libxcrypt)
// and the result compared in constant time; an unknown user is checked against a dummy hash of the same cost, so
// timing does not say which users exist. Successful checks are remembered (a hash of user, password and stored
// hash, compared in constant time) so that a page making many requests does not pay bcrypt's cost each time.
//
// Brute force: each client address has a budget of failed logins (a burst of 10, refilled one every 6 s). Over it,
// a login that is not already remembered is refused (429) without running bcrypt, so guessing costs the daemon
// nothing and is slow; a user whose password was accepted before goes on at once. The budgets of at most 10,000
// addresses are kept (the fullest dropped first). Thread-safe.
#pragma once

#include <chrono>
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

enum class AuthResult { ok, denied, limited };

class BasicAuth {
 public:
  explicit BasicAuth(std::map<std::string, std::string> users);
  bool enabled() const { return !users_.empty(); }
  // Whether an Authorization header value ("Basic base64(user:password)") from `client` names a user with that
  // password; `limited` when the client spent its failed-login budget.
  AuthResult check(std::string_view authorization, const std::string& client);

 private:
  struct Budget {
    double tokens;
    std::chrono::steady_clock::time_point refilled;
  };
  bool spend(const std::string& client, bool failed);

  std::map<std::string, std::string> users_;
  std::string dummy_hash_;
  std::mutex mutex_;
  std::set<std::string> verified_;  // SHA-256 of user, password and stored hash
  std::map<std::string, Budget> budgets_;  // failed-login budgets by client address
};

}  // namespace hotspotd::daemon
