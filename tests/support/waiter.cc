// A process that waits in known ways, for off-CPU profiling tests. argv[1] picks the shape, argv[2] the seconds
// to run (default 600):
//   lock   four threads take one std::mutex in hotspotd_test_reserve; the holder sleeps 20 ms inside it
//   pipe   hotspotd_test_downstream reads a pipe that a second thread writes every 30 ms (a slow downstream)
//   sleep  hotspotd_test_nap sleeps 10 ms at a time
//   cpu    hotspotd_test_spin computes
//   known  three threads, each off the CPU nearly all the time in one known way: hotspotd_test_nap sleeps 50 ms at
//          a time; hotspotd_test_downstream reads a pipe written every 50 ms; hotspotd_test_reserve waits for a
//          std::mutex another thread holds 50 ms at a time (then lets go for 1 ms)
//   alloc  hotspotd_test_churn allocates and frees small blocks (its time goes to malloc and free)
//   write  hotspotd_test_chatter writes one byte at a time to /dev/null (its time goes to the write system call)
#include <fcntl.h>
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

__attribute__((noinline)) void hotspotd_test_nap50() {
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

// Takes the lock and lets it go at once: all of its time is the wait for the holder.
__attribute__((noinline)) void hotspotd_test_reserve_once() {
  std::lock_guard<std::mutex> hold(g_stock);
}

__attribute__((noinline)) void hotspotd_test_spin() {
  double x = g_sink;
  for (int i = 0; i < 200000; ++i) x = std::sqrt(x + i) * 1.0000001;
  g_sink = x;
}

__attribute__((noinline)) void hotspotd_test_hold() {
  std::lock_guard<std::mutex> hold(g_stock);
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
}

__attribute__((noinline)) void hotspotd_test_churn() {
  void* blocks[64];
  for (int round = 0; round < 200; ++round) {
    for (int i = 0; i < 64; ++i) {
      blocks[i] = ::operator new(static_cast<std::size_t>(16 + ((i * 37 + round) % 512)));
      static_cast<volatile char*>(blocks[i])[0] = static_cast<char>(i);
    }
    for (int i = 63; i >= 0; --i) ::operator delete(blocks[i]);
  }
}

__attribute__((noinline)) void hotspotd_test_chatter(int fd) {
  for (int i = 0; i < 1000; ++i) {
    if (write(fd, "x", 1) != 1) g_stop = true;
  }
}

int main(int argc, char** argv) {
  const char* shape = argc > 1 ? argv[1] : "lock";
  const double seconds = argc > 2 ? std::atof(argv[2]) : 600;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  auto running = [&] { return !g_stop && std::chrono::steady_clock::now() < end; };
  std::thread threads[4];
  int started = 0;
  // A reader of a pipe that a second thread writes one byte to every `every_ms`: a slow downstream.
  auto slowDownstream = [&](int every_ms) {
    int fds[2];
    if (pipe(fds) != 0) return false;
    threads[started++] = std::thread([&, every_ms, w = fds[1]] {
      while (running()) {
        std::this_thread::sleep_for(std::chrono::milliseconds(every_ms));
        if (write(w, "x", 1) != 1) break;
      }
      close(w);
    });
    threads[started++] = std::thread([&, r = fds[0]] {
      while (running()) hotspotd_test_downstream(r);
    });
    return true;
  };
  if (std::strcmp(shape, "lock") == 0) {
    for (int t = 0; t < 4; ++t) {
      threads[started++] = std::thread([&] {
        while (running()) hotspotd_test_reserve();
      });
    }
  } else if (std::strcmp(shape, "pipe") == 0) {
    if (!slowDownstream(30)) return 1;
  } else if (std::strcmp(shape, "known") == 0) {
    if (!slowDownstream(50)) return 1;
    threads[started++] = std::thread([&] {
      while (running()) hotspotd_test_nap50();
    });
    // The holder takes the lock first; the waiter then waits for it 50 ms of every 51.
    threads[started++] = std::thread([&] {
      while (running()) {
        hotspotd_test_hold();
        std::this_thread::sleep_for(std::chrono::milliseconds(1));
      }
    });
    std::this_thread::sleep_for(std::chrono::milliseconds(5));
    while (running()) hotspotd_test_reserve_once();
  } else if (std::strcmp(shape, "alloc") == 0) {
    while (running()) hotspotd_test_churn();
  } else if (std::strcmp(shape, "write") == 0) {
    const int fd = open("/dev/null", O_WRONLY | O_CLOEXEC);
    if (fd < 0) return 1;
    while (running()) hotspotd_test_chatter(fd);
  } else if (std::strcmp(shape, "sleep") == 0) {
    while (running()) hotspotd_test_nap();
  } else {
    while (running()) hotspotd_test_spin();
  }
  for (int t = 0; t < started; ++t) threads[t].join();
}
