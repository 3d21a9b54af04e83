// A small shop service to point hotspotd at: it exports RED metrics as services do
// (http_request_duration_seconds by route and method, http_requests_total by route, method and code) and serves
// /checkout, /cart and /search. A regression can be switched on, of one of two kinds:
//   cpu   /checkout also recalculates every price of the catalogue (real CPU work in Pricing::recalculateAll): its
//         tail latency drifts and an on-CPU profile shows why.
//   lock  /checkout reserves stock under one shared mutex held while a slow warehouse call answers (25 ms in
//         Inventory::reserve): requests queue on the lock, the tail drifts while the CPU idles, and only an off-CPU
//         profile shows why.
//
//   hotspotd_demo_service [--listen 127.0.0.1:0] [--load RPS] [--regression [cpu|lock]]
//     --load RPS     also drive itself with RPS requests a second (70% /checkout, 20% /cart, 10% /search), from a
//                    child process (so that a profile of the shop is the shop's own threads)
//     --regression   start with the regression on (cpu unless lock is given)
//   `curl -d on=1 http://HOST:PORT/admin/regression` (on=0 to stop; kind=lock for the lock) switches it; GET says
//   whether it is on ("on", "on lock" or "off").
// Prints "Listening on 127.0.0.1:<port>" once serving; stops on SIGTERM or SIGINT.
#include <signal.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <mutex>
#include <random>
#include <string>
#include <thread>
#include <vector>

#include <httplib.h>
#include <prometheus/counter.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

namespace {

std::atomic<bool> g_regression{false};
std::atomic<bool> g_lock_kind{false};  // the regression is the lock one
std::atomic<bool> g_stop{false};
std::mutex g_stock;  // the stock table every checkout reserves from

// The work a request really does, in functions with names a flame graph can show.
struct Pricing {
  // The normal checkout: price the cart's few lines.
  [[gnu::noinline]] static double priceCart(int lines) {
    double total = 0;
    for (int i = 0; i < lines * 200000; ++i) total += std::sqrt(static_cast<double>(i % 97) + 1.0);
    return total;
  }
  // The regression: recalculate every price in the catalogue on each checkout.
  [[gnu::noinline]] static double recalculateAll(int items) {
    double total = 0;
    // Plain arithmetic in this very function (no library call), so every sample of it names it.
    double price = 1.0;
    for (int i = 0; i < items * 200000; ++i) {
      price = price * 1.0000001 + static_cast<double>(i % 7) * 0.5;
      total += price / (1.0 + static_cast<double>(i & 15));
    }
    return total;
  }
};

struct Inventory {
  // The lock regression: the stock lock is held while the warehouse answers, so checkouts queue on it.
  [[gnu::noinline]] static void reserve() {
    std::lock_guard<std::mutex> hold(g_stock);
    std::this_thread::sleep_for(std::chrono::milliseconds(25));
  }
};

[[gnu::noinline]] double searchCatalogue(const std::string& query) {
  double score = 0;
  for (int i = 0; i < 3000; ++i) score += static_cast<double>((query.size() * 31 + i) % 17);
  return score;
}

void onSignal(int) { g_stop = true; }

// The built-in load: four clients at a steady total rate of `load` requests a second (70% /checkout, 20% /cart,
// 10% /search), until SIGTERM or the shop goes away.
void drive(const std::string& host, int port, double load) {
  const int n = 4;
  std::vector<std::thread> clients;
  for (int c = 0; c < n; ++c) {
    clients.emplace_back([&, c] {
      httplib::Client client(host, port);
      client.set_keep_alive(true);
      std::mt19937 rng(static_cast<unsigned>(c) + 1);
      std::uniform_real_distribution<double> pick(0, 1);
      const auto gap = std::chrono::duration<double>(n / load);
      auto next = std::chrono::steady_clock::now();
      while (!g_stop) {
        const double p = pick(rng);
        client.Get(p < 0.7 ? "/checkout" : p < 0.9 ? "/cart" : "/search?q=shoes");
        next += std::chrono::duration_cast<std::chrono::steady_clock::duration>(gap);
        std::this_thread::sleep_until(next);
      }
    });
  }
  for (auto& t : clients) t.join();
}

}  // namespace

int main(int argc, char** argv) {
  std::string host = "127.0.0.1";
  int port = 0;
  double load = 0;
  for (int i = 1; i < argc; ++i) {
    const std::string arg = argv[i];
    if (arg == "--listen" && i + 1 < argc) {
      const std::string v = argv[++i];
      const auto colon = v.rfind(':');
      host = v.substr(0, colon);
      port = std::stoi(v.substr(colon + 1));
    } else if (arg == "--load" && i + 1 < argc) {
      load = std::stod(argv[++i]);
    } else if (arg == "--regression") {
      g_regression = true;
      if (i + 1 < argc && (std::string(argv[i + 1]) == "cpu" || std::string(argv[i + 1]) == "lock")) {
        g_lock_kind = std::string(argv[++i]) == "lock";
      }
    } else {
      std::fprintf(stderr, "usage: %s [--listen HOST:PORT] [--load RPS] [--regression [cpu|lock]]\n", argv[0]);
      return 2;
    }
  }

  auto registry = std::make_shared<prometheus::Registry>();
  auto& durations = prometheus::BuildHistogram()
                        .Name("http_request_duration_seconds")
                        .Help("Time to serve a request, by route and method.")
                        .Register(*registry);
  auto& requests = prometheus::BuildCounter()
                       .Name("http_requests_total")
                       .Help("Requests served, by route, method and status code.")
                       .Register(*registry);
  const prometheus::Histogram::BucketBoundaries bounds{0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5};

  httplib::Server server;
  auto instrumented = [&](const std::string& route, auto handler) {
    auto& hist = durations.Add({{"route", route}, {"method", "GET"}}, bounds);
    auto& ok = requests.Add({{"route", route}, {"method", "GET"}, {"code", "200"}});
    return [&hist, &ok, handler](const httplib::Request& req, httplib::Response& res) {
      const auto start = std::chrono::steady_clock::now();
      handler(req, res);
      hist.Observe(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
      ok.Increment();
    };
  };
  server.Get("/checkout", instrumented("/checkout", [](const httplib::Request&, httplib::Response& res) {
    double total = Pricing::priceCart(5);
    if (g_regression && g_lock_kind) Inventory::reserve();
    if (g_regression && !g_lock_kind) total += Pricing::recalculateAll(20);
    res.set_content("{\"total\": " + std::to_string(total) + "}\n", "application/json");
  }));
  server.Get("/cart", instrumented("/cart", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("{\"lines\": " + std::to_string(Pricing::priceCart(1)) + "}\n", "application/json");
  }));
  server.Get("/search", instrumented("/search", [](const httplib::Request& req, httplib::Response& res) {
    res.set_content("{\"score\": " + std::to_string(searchCatalogue(req.get_param_value("q"))) + "}\n",
                    "application/json");
  }));
  server.Get("/metrics", [registry](const httplib::Request&, httplib::Response& res) {
    res.set_content(prometheus::TextSerializer().Serialize(registry->Collect()), "text/plain; version=0.0.4");
  });
  auto state = [] { return std::string(g_regression ? (g_lock_kind ? "on lock\n" : "on\n") : "off\n"); };
  server.Get("/admin/regression",
             [state](const httplib::Request&, httplib::Response& res) { res.set_content(state(), "text/plain"); });
  server.Post("/admin/regression", [state](const httplib::Request& req, httplib::Response& res) {
    const std::string kind = req.has_param("kind") ? req.get_param_value("kind") : "cpu";
    if (kind != "cpu" && kind != "lock") {
      res.status = 400;
      res.set_content("kind must be cpu or lock\n", "text/plain");
      return;
    }
    g_lock_kind = kind == "lock";
    g_regression = req.get_param_value("on") == "1";
    const auto unix_ms = std::chrono::duration_cast<std::chrono::milliseconds>(
                             std::chrono::system_clock::now().time_since_epoch())
                             .count();
    std::printf("Regression %s at unix ms %lld\n", g_regression ? (g_lock_kind ? "on (lock)" : "on") : "off",
                static_cast<long long>(unix_ms));
    std::fflush(stdout);
    res.set_content(state(), "text/plain");
  });

  const int bound = port == 0 ? server.bind_to_any_port(host) : (server.bind_to_port(host, port) ? port : -1);
  if (bound <= 0) {
    std::fprintf(stderr, "cannot listen on %s:%d\n", host.c_str(), port);
    return 1;
  }
  // The built-in load comes from a process of its own, as real clients would: a profile of the shop shows the
  // shop's threads only, not clients waiting for its answers. Forked before any thread starts; the child shares
  // the listening socket but never accepts on it.
  pid_t load_pid = 0;
  if (load > 0) {
    load_pid = fork();
    if (load_pid == 0) {
      prctl(PR_SET_PDEATHSIG, SIGTERM);
      signal(SIGTERM, onSignal);
      signal(SIGINT, onSignal);
      drive(host, bound, load);
      _exit(0);
    }
  }
  std::thread serving([&] { server.listen_after_bind(); });
  std::printf("Listening on %s:%d\n", host.c_str(), bound);
  std::fflush(stdout);
  signal(SIGTERM, onSignal);
  signal(SIGINT, onSignal);

  while (!g_stop) std::this_thread::sleep_for(std::chrono::milliseconds(100));
  server.stop();
  serving.join();
  if (load_pid > 0) {
    kill(load_pid, SIGTERM);
    waitpid(load_pid, nullptr, 0);
  }
  return 0;
}
