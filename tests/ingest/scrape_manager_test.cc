// The scrape manager against real HTTP servers on loopback: formats and headers, gzip, failures by reason
// (HTTP status, timeout, body and sample limits, bad UTF-8), targets that never answer, file_sd changes, reload.
#include <doctest/doctest.h>

#include <sys/resource.h>
#include <zlib.h>

#include <fstream>

#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>
#include <boost/asio/io_context.hpp>

#include "ingest/scrape_manager.h"
#include "tests/support/components.h"
#include "tests/support/child_process.h"
#include "tests/support/exposition.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;
using hotspotd::test::HttpTarget;
using hotspotd::test::sampleValue;

namespace {

constexpr std::string_view kBody =
    "# TYPE lat_seconds histogram\n"
    "lat_seconds_bucket{path=\"/a\",le=\"0.1\"} 5\n"
    "lat_seconds_bucket{path=\"/a\",le=\"+Inf\"} 10\n"
    "lat_seconds_sum{path=\"/a\"} 3.5\n"
    "lat_seconds_count{path=\"/a\"} 10\n"
    "# TYPE req_total counter\n"
    "req_total 7\n";

struct Harness {
  boost::asio::io_context io;
  prometheus::Registry registry;
  store::SeriesStore store;
  ingest::ScrapeManager manager{io, realClock(), store, registry};

  ~Harness() { manager.stop(); }

  // Runs the loop until `done` holds or `limit` passes; returns whether it held.
  template <typename F>
  bool runUntil(F done, std::chrono::milliseconds limit = 10s) {
    const auto deadline = std::chrono::steady_clock::now() + limit;
    while (std::chrono::steady_clock::now() < deadline) {
      if (done()) return true;
      if (io.stopped()) io.restart();
      io.run_for(20ms);
    }
    return done();
  }

  std::string metrics() { return prometheus::TextSerializer().Serialize(registry.Collect()); }
  std::optional<double> metric(std::string_view series) { return sampleValue(metrics(), series); }

  const ingest::TargetStatus* target(std::string_view instance) {
    static thread_local std::shared_ptr<const std::vector<ingest::TargetStatus>> keep;
    keep = manager.targets().load();
    for (const auto& t : *keep) {
      if (t.instance == instance) return &t;
    }
    return nullptr;
  }
};

ingest::ScrapeConfig job(std::string name, std::vector<std::string> targets) {
  ingest::ScrapeConfig c;
  c.job = std::move(name);
  c.targets = std::move(targets);
  c.interval = 1s;
  c.timeout = 500ms;
  return c;
}

std::string gzip(std::string_view in) {
  z_stream zs{};
  deflateInit2(&zs, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&zs, in.size()) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  zs.avail_in = static_cast<uInt>(in.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  deflate(&zs, Z_FINISH);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

long maxRssKb() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  return ru.ru_maxrss;
}

}  // namespace

TEST_CASE("a target is scraped with Prometheus' Accept header and scrape timeout, and its series stored") {
  HttpTarget target;
  std::string accept, timeout_header;
  target.server().Get("/metrics", [&](const httplib::Request& req, httplib::Response& res) {
    accept = req.get_header_value("Accept");
    timeout_header = req.get_header_value("X-Prometheus-Scrape-Timeout-Seconds");
    res.set_content(std::string(kBody), "text/plain; version=0.0.4");
  });
  const std::string address = target.start();
  Harness h;
  auto c = job("api", {address});
  c.labels = {{"team", "payments"}};
  h.manager.apply({c});
  REQUIRE(h.runUntil([&] { return h.target(address) && h.target(address)->health == "up"; }));
  CHECK(accept.starts_with("application/openmetrics-text;version=1.0.0"));
  CHECK(accept.find("text/plain;version=0.0.4") != std::string::npos);
  CHECK(timeout_header == "0.5");
  CHECK(h.store.histogramCount() == 1);
  CHECK(h.store.seriesCount() == 5);
  h.store.forEachHistogram([&](const store::HistogramView& v) {
    CHECK(v.labels == store::LabelPairs{{"instance", address}, {"job", "api"}, {"path", "/a"}, {"team", "payments"}});
  });
  const std::string series = "{instance=\"" + address + "\",job=\"api\"}";
  CHECK(h.metric("hotspotd_scrape_target_up" + series) == 1.0);
  CHECK(h.metric("hotspotd_scrape_samples_scraped" + series) == 5.0);
  CHECK(h.metric("hotspotd_scrape_targets{job=\"api\"}") == 1.0);
}

TEST_CASE("OpenMetrics answers and gzip bodies are understood") {
  HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    res.set_content(gzip("# TYPE req counter\nreq_total 3 # {trace_id=\"abc\"} 1\n# EOF\n"),
                    "application/openmetrics-text; version=1.0.0; charset=utf-8");
  });
  const std::string address = target.start();
  Harness h;
  h.manager.apply({job("om", {address})});
  REQUIRE(h.runUntil([&] { return h.target(address) && h.target(address)->health != "unknown"; }));
  CHECK_MESSAGE(h.target(address)->health == "up", h.target(address)->last_error);
  CHECK(h.store.seriesCount() == 1);
}

TEST_CASE("failed scrapes are counted by reason and the target recovers") {
  HttpTarget target;
  std::atomic<int> mode{0};
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    switch (mode.load()) {
      case 0:
        res.status = 500;
        res.set_content("oops", "text/plain");
        break;
      case 1: res.set_content("a 1\nb{x=\"\xff\"} 2\n", "text/plain"); break;
      case 2: res.set_content("# TYPE h histogram\nh_bucket{le=\"1\"} 1\n", "text/plain"); break;
      default: res.set_content(std::string(kBody), "text/plain"); break;
    }
  });
  const std::string address = target.start();
  Harness h;
  h.manager.apply({job("api", {address})});
  const char* reasons[] = {"http_status", "invalid_utf8", "missing_inf_bucket"};
  for (int m = 0; m < 3; ++m) {
    mode = m;
    const std::string series = std::string("hotspotd_scrape_failures_total{job=\"api\",reason=\"") + reasons[m] + "\"}";
    CAPTURE(series);
    REQUIRE(h.runUntil([&] { return h.metric(series).value_or(0) >= 1; }, 10s));
    CHECK(h.target(address)->health == "down");
    CHECK(h.target(address)->last_failure_reason == reasons[m]);
  }
  CHECK(h.store.seriesCount() <= 1);  // nothing from the failed bodies was stored beyond what the cache resolved
  mode = 3;
  REQUIRE_MESSAGE(h.runUntil([&] { return h.target(address)->health == "up"; }, 10s), h.target(address)->last_error);
  CHECK(h.metric("hotspotd_scrape_target_up{instance=\"" + address + "\",job=\"api\"}") == 1.0);
}

TEST_CASE("a target that accepts and never answers times out, and does not hold up other targets") {
  test::SilentListener silent;
  HttpTarget healthy;
  std::atomic<int> healthy_scrapes{0};
  healthy.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    ++healthy_scrapes;
    res.set_content(std::string(kBody), "text/plain");
  });
  const std::string good = healthy.start();
  Harness h;
  h.manager.apply({job("silent", {silent.address()}), job("healthy", {good})});
  REQUIRE(h.runUntil([&] { return h.target(silent.address())->health == "down"; }, 10s));
  const auto* t = h.target(silent.address());
  CHECK(t->last_failure_reason == "timeout");
  CHECK(t->last_duration_seconds < 3.0);  // the 500ms deadline fired, whatever the peer did
  CHECK(silent.accepted() >= 1);
  // Over three more seconds the healthy target keeps its one-second rhythm.
  const int before = healthy_scrapes;
  h.runUntil([] { return false; }, 3s);
  CHECK(healthy_scrapes - before >= 2);
}

TEST_CASE("a target that drips its answer a byte at a time is cut off at the deadline") {
  HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("text/plain", [](std::size_t, httplib::DataSink& sink) {
      for (int i = 0; i < 50 && sink.is_writable(); ++i) {
        sink.write("a", 1);
        std::this_thread::sleep_for(100ms);
      }
      sink.done();
      return true;
    });
  });
  const std::string address = target.start();
  Harness h;
  h.manager.apply({job("drip", {address})});
  REQUIRE(h.runUntil([&] { return h.target(address)->health == "down"; }, 10s));
  CHECK(h.target(address)->last_failure_reason == "timeout");
  CHECK(h.target(address)->last_duration_seconds < 3.0);
}

TEST_CASE("a 1 GB body stops at the body size limit with memory staying flat") {
  HttpTarget target;
  std::atomic<std::size_t> sent{0};
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_content_provider(std::size_t{1} << 30, "text/plain",
                             [&](std::size_t offset, std::size_t length, httplib::DataSink& sink) {
                               static const std::string chunk = [] {
                                 std::string s;
                                 while (s.size() < (1 << 16)) s += "some_metric{label=\"value\"} 12345\n";
                                 return s.substr(0, 1 << 16);
                               }();
                               const std::size_t n = std::min(length, chunk.size());
                               if (!sink.write(chunk.data(), n)) return false;
                               sent = offset + n;
                               return true;
                             });
  });
  const std::string address = target.start();
  Harness h;
  auto c = job("big", {address});
  c.timeout = 8s;  // generous: the outcome must be the size limit, not a slow machine
  c.interval = 10s;
  c.limits.body_size = 4 << 20;
  const long rss_before = maxRssKb();
  h.manager.apply({c});
  REQUIRE(h.runUntil([&] { return h.target(address)->health == "down"; }, 25s));
  CHECK(h.target(address)->last_failure_reason == "body_size_limit");
  CHECK(sent.load() < (std::size_t{256} << 20));  // the connection was dropped long before 1 GB
  CHECK(maxRssKb() - rss_before < 200 * 1024);    // not a gigabyte in memory
}

TEST_CASE("a gzip bomb stops at the body size limit once decompressed") {
  HttpTarget target;
  const std::string bomb = gzip(std::string(std::size_t{512} << 20, '\n'));  // 512 MiB of newlines, ~0.5 MiB
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    res.set_header("Content-Encoding", "gzip");
    // Not text/*: cpp-httplib would gzip a text body a second time.
    res.set_content(bomb, "application/octet-stream");
  });
  const std::string address = target.start();
  Harness h;
  auto c = job("bomb", {address});
  c.timeout = 8s;
  c.interval = 10s;
  c.limits.body_size = 16 << 20;
  const long rss_before = maxRssKb();
  h.manager.apply({c});
  REQUIRE(h.runUntil([&] { return h.target(address)->health == "down"; }, 25s));
  CHECK(h.target(address)->last_failure_reason == "body_size_limit");
  CHECK(maxRssKb() - rss_before < 200 * 1024);
}

TEST_CASE("a target with a million series fails on the sample limit without filling the store") {
  HttpTarget target;
  std::string body;
  body.reserve(30 << 20);
  for (int i = 0; i < 1'000'000; ++i) body += "m{i=\"" + std::to_string(i) + "\"} 1\n";
  target.server().Get("/metrics",
                      [&](const httplib::Request&, httplib::Response& res) { res.set_content(body, "text/plain"); });
  const std::string address = target.start();
  Harness h;
  auto c = job("many", {address});
  c.timeout = 8s;
  c.interval = 10s;
  c.limits.parse.max_samples = 100'000;
  h.manager.apply({c});
  REQUIRE(h.runUntil([&] { return h.target(address)->health == "down"; }, 25s));
  CHECK(h.target(address)->last_failure_reason == "sample_limit");
  CHECK(h.store.seriesCount() <= 100'000);
}

TEST_CASE("file_sd targets follow their files, and a broken file keeps the last good targets") {
  HttpTarget a, b;
  for (HttpTarget* t : {&a, &b}) {
    t->server().Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(kBody), "text/plain");
    });
  }
  const std::string addr_a = a.start(), addr_b = b.start();
  test::TempDir dir;
  const auto file = dir.write("targets.json", "[{\"targets\": [\"" + addr_a + "\"], \"labels\": {\"zone\": \"a\"}}]");
  Harness h;
  ingest::ScrapeConfig c;
  c.job = "sd";
  c.file_sd = {(dir.path() / "*.json").string()};
  c.file_sd_refresh = 1s;
  c.interval = 1s;
  c.timeout = 500ms;
  h.manager.apply({c});
  REQUIRE(h.runUntil([&] { return h.target(addr_a) && h.target(addr_a)->health == "up"; }));
  CHECK(h.target(addr_a)->labels ==
        std::vector<std::pair<std::string, std::string>>{{"instance", addr_a}, {"job", "sd"}, {"zone", "a"}});

  std::this_thread::sleep_for(1100ms);  // a new mtime, even on coarse file systems
  dir.write("targets.json", "[{\"targets\": [\"" + addr_b + "\"]}]");
  REQUIRE(h.runUntil([&] { return h.target(addr_b) && !h.target(addr_a); }, 10s));

  std::this_thread::sleep_for(1100ms);
  dir.write("targets.json", "[{\"targets\": [\"not a target\"]}]");
  h.runUntil([] { return false; }, 2500ms);
  CHECK(h.target(addr_b));  // kept
}

TEST_CASE("a reload keeps unchanged targets with their history and drops removed ones") {
  HttpTarget a, b;
  for (HttpTarget* t : {&a, &b}) {
    t->server().Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
      res.set_content(std::string(kBody), "text/plain");
    });
  }
  const std::string addr_a = a.start(), addr_b = b.start();
  Harness h;
  h.manager.apply({job("api", {addr_a, addr_b})});
  REQUIRE(h.runUntil([&] { return h.store.seriesCount() == 10; }));
  std::optional<store::SeriesId> series_a;
  h.store.forEachHistogram([&](const store::HistogramView& v) {
    for (const auto& [k, val] : v.labels) {
      if (k == "instance" && val == addr_a) series_a = v.count;
    }
  });
  REQUIRE(series_a);
  auto c = job("api", {addr_a});
  c.interval = 2s;  // a setting change does not restart the target
  h.manager.apply({c});
  CHECK(h.store.seriesCount() == 5);
  CHECK(h.store.name(*series_a) == "lat_seconds_count");
  CHECK_FALSE(h.target(addr_b));
  CHECK(h.metric("hotspotd_scrape_targets{job=\"api\"}") == 1.0);
}

TEST_CASE("https targets are verified against the configured CA, and refused without it") {
  const std::string openssl = test::findProgram("openssl");
  if (!test::needComponent(!openssl.empty(), "openssl (scripts/bootstrap installs it)")) return;
  test::TempDir dir;
  const auto key = dir.path() / "key.pem", cert = dir.path() / "cert.pem";
  auto made = test::ChildProcess::run({openssl, "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj",
                                       "/CN=127.0.0.1", "-addext", "subjectAltName=IP:127.0.0.1", "-keyout",
                                       key.string(), "-out", cert.string()});
  REQUIRE_MESSAGE(made.exit_code == 0, made.output);
  httplib::SSLServer server(cert.c_str(), key.c_str());
  REQUIRE(server.is_valid());
  server.Get("/metrics", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(std::string(kBody), "text/plain");
  });
  const int port = server.bind_to_any_port("127.0.0.1");
  std::thread serving([&] { server.listen_after_bind(); });
  const std::string address = "127.0.0.1:" + std::to_string(port);

  Harness h;
  auto trusted = job("tls", {address});
  trusted.scheme = "https";
  trusted.tls_ca_file = cert.string();
  auto untrusted = job("tls-untrusted", {address});
  untrusted.scheme = "https";
  h.manager.apply({trusted, untrusted});
  const auto status = [&](std::string_view job_name) -> const ingest::TargetStatus* {
    static thread_local std::shared_ptr<const std::vector<ingest::TargetStatus>> keep;
    keep = h.manager.targets().load();
    for (const auto& t : *keep) {
      if (t.job == job_name) return &t;
    }
    return nullptr;
  };
  REQUIRE(
      h.runUntil([&] { return status("tls")->health != "unknown" && status("tls-untrusted")->health != "unknown"; }));
  CHECK_MESSAGE(status("tls")->health == "up", status("tls")->last_error);
  CHECK(status("tls-untrusted")->health == "down");
  CHECK(status("tls-untrusted")->last_failure_reason == "tls");
  server.stop();
  serving.join();
}
