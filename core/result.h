// Errors as values. An expected failure (bad config, unreachable target, malformed input) is returned as an
// Error whose message says what failed, where, and what to do about it; exceptions stay at the edges of
// libraries that throw by nature and are caught right there. A Result must be looked at: ignoring one is a
// compile error (write `(void)` where dropping it is the point, and say why). Any thread may use these types.
#pragma once

#include <string>
#include <utility>

#include <tl/expected.hpp>

namespace hotspotd {

struct Error {
  std::string message;
};

template <typename T>
class [[nodiscard]] Result : public tl::expected<T, Error> {
 public:
  using tl::expected<T, Error>::expected;
  Result(const tl::expected<T, Error>& e) : tl::expected<T, Error>(e) {}
  Result(tl::expected<T, Error>&& e) : tl::expected<T, Error>(std::move(e)) {}
};

inline tl::unexpected<Error> fail(std::string message) {
  return tl::unexpected<Error>(Error{std::move(message)});
}

}  // namespace hotspotd
