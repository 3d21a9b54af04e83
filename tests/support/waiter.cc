// A process that waits in known ways, for off-CPU profiling tests. argv[1] picks the shape, argv[2] the seconds
// to run (default 600):
//   lock   four threads take one std::mutex in hotspotd_test_reserve; the holder sleeps 20 ms inside it
//   pipe   hotspotd_test_downstream reads a pipe that a second thread writes every 30 ms (a slow downstream)
//   sleep  hotspotd_test_nap sleeps 10 ms at a time
//   cpu    hotspotd_test_spin computes
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <mutex>
#include <thread>

namespace {

std::mutex g_stock;
std::atomic<bool> g_stop{false};
volatile double g_sink = 0;

}  // namespace

__attribute__((noinline)) void hotspotd_test_reserve() {
  std::lock_guard<std::mutex> hold(g_stock);
  std::this_thread::sleep_for(std::chrono::milliseconds(20));
}

__attribute__((noinline)) void hotspotd_test_downstream(int fd) {
  char buf[64];
  if (read(fd, buf, sizeof buf) <= 0) g_stop = true;
}

__attribute__((noinline)) void hotspotd_test_nap() {
  std::this_thread::sleep_for(std::chrono::milliseconds(10));
}

__attribute__((noinline)) void hotspotd_test_spin() {
  double x = g_sink;
  for (int i = 0; i < 200000; ++i) x = std::sqrt(x + i) * 1.0000001;
  g_sink = x;
}

int main(int argc, char** argv) {
  const char* shape = argc > 1 ? argv[1] : "lock";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 600;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto running = [&] { return !g_stop && std::chrono::steady_clock::now() < end; };
  std::thread threads[4];
  int started = 0;
  if (std::strcmp(shape, "lock") == 0) {
    for (int t = 0; t < 4; ++t) {
      threads[started++] = std::thread([&] {
        while (running()) hotspotd_test_reserve();
      });
    }
  } else if (std::strcmp(shape, "pipe") == 0) {
    int fds[2];
    if (pipe(fds) != 0) return 1;
    threads[started++] = std::thread([&, w = fds[1]] {
      while (running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(30));
        if (write(w, "x", 1) != 1) break;
      }
      close(w);
    });
    threads[started++] = std::thread([&, r = fds[0]] {
      while (running()) hotspotd_test_downstream(r);
    });
  } else if (std::strcmp(shape, "sleep") == 0) {
    while (running()) hotspotd_test_nap();
  } else {
    while (running()) hotspotd_test_spin();
  }
  for (int t = 0; t < started; ++t) threads[t].join();
}
