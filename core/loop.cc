#include "core/loop.h"

#include <stdexcept>

namespace hotspotd {

void runGuarded(boost::asio::io_context& io, const std::function<void(const std::exception&)>& on_error) {
  for (;;) {
    try {
      io.run();
      return;
    } catch (const std::exception& e) {
      on_error(e);
    } catch (...) {
      on_error(std::runtime_error("an exception that is not a std::exception"));
    }
    // run() returned by the exception: what is queued goes on.
  }
}

}  // namespace hotspotd
