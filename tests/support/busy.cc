// A busy process with a known hot spot, for profiling tests: about 90% of its CPU time in
// hotspotd_test_hot_function, the rest in hotspotd_test_cold_function, until killed (or for argv[1] seconds).
#include <chrono>
#include <cmath>
#include <cstdlib>

volatile double g_sink = 0;

__attribute__((noinline)) void hotspotd_test_hot_function() {
  double x = g_sink;
  for (int i = 0; i < 900000; ++i) x = std::sqrt(x + i) * 1.0000001;
  g_sink = x;
}

__attribute__((noinline)) void hotspotd_test_cold_function() {
  double x = g_sink;
  for (int i = 0; i < 100000; ++i) x = std::sqrt(x + i) * 1.0000001;
  g_sink = x;
}

int main(int argc, char** argv) {
  const double seconds = argc > 1 ? std::atof(argv[1]) : 600;
  const auto end = std::chrono::steady_clock::now() + std::chrono::duration<double>(seconds);
  while (std::chrono::steady_clock::now() < end) {
    hotspotd_test_hot_function();
    hotspotd_test_cold_function();
  }
}
