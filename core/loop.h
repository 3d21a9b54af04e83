// Running an event loop that survives its handlers: an exception thrown by a handler (a bug, or a library that
// throws on input nobody foresaw) is logged and counted, and the loop goes on with the next handler, instead of
// ending the process during an incident. Call on the thread that runs the loop.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <exception>
#include <functional>

#include <boost/asio/io_context.hpp>

namespace hotspotd {

// Runs `io` until it is stopped or runs out of work; `on_error` hears each exception that escaped a handler.
void runGuarded(boost::asio::io_context& io, const std::function<void(const std::exception&)>& on_error);

}  // namespace hotspotd
