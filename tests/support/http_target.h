// Test HTTP servers on ephemeral loopback ports: a cpp-httplib server running on its own thread, and a "silent"
// TCP listener that accepts connections and never answers (for timeout tests). Both stop when destroyed.
#pragma once

#include <atomic>
#include <functional>
#include <memory>
#include <string>
#include <thread>

#include <httplib.h>

namespace hotspotd::test {

class HttpTarget {
 public:
  HttpTarget();
  ~HttpTarget();
  httplib::Server& server() { return server_; }
  // Starts serving (register handlers first). Returns "127.0.0.1:<port>".
  std::string start();
  int port() const { return port_; }

 private:
  httplib::Server server_;
  std::thread thread_;
  int port_ = 0;
};

// Accepts TCP connections and holds them open without reading or writing.
class SilentListener {
 public:
  SilentListener();
  ~SilentListener();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  int accepted() const { return accepted_.load(); }

 private:
  int fd_ = -1;
  int port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
  std::vector<int> held_;
};

// A port that was free a moment ago (for programs that cannot report the port they bound).
int freePort();

}  // namespace hotspotd::test
