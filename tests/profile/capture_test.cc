// Capturing real profiles: real perf on a real busy child process (its hot function must dominate the profile),
// the ways to find a process, a command that prints folded stacks, and the failures a person can act on. Where
// perf_event_open is not permitted, the perf cases say so and skip; the rest still run.
#include <doctest/doctest.h>

#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <map>
#include <sstream>
#include <thread>

#include <httplib.h>

#include "core/file.h"
#include "profile/analysis.h"
#include "profile/capture.h"
#include "profile/flamegraph.h"
#include "profile/profile_manager.h"
#include "profile/profile_store.h"
#include "proto/profile.pb.h"
#include "state/database.h"
#include "tests/support/child_process.h"
#include "tests/support/components.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;
using test::ChildProcess;
using test::TempDir;

namespace {

// perf runs here, or the reason it cannot (then perf cases skip).
std::string perfUnavailable() {
  if (test::findProgram("perf").empty()) return "perf is not installed";
  if (auto ok = profile::perfAllowed(); !ok) return ok.error().message;
  return {};
}

// A perf capture of `pid`; nothing when perf is not permitted here (the test is skipped, or fails under CI).
std::optional<profile::Capture> perfCapture(pid_t pid, profile::CaptureKind kind, Duration duration,
                                            const TempDir& work, std::uint64_t max_switches = 10000) {
  profile::CaptureOptions o;
  o.kind = kind;
  o.duration = duration;
  o.max_switches = max_switches;
  o.work_dir = work.path();
  auto c = profile::capturePerf({pid}, o);
  if (!c && c.error().message.find("not permitted") != std::string::npos) {
    test::needComponent(false, c.error().message);
    return std::nullopt;
  }
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  return std::move(*c);
}

// CPU time a process used so far, in seconds (utime + stime from /proc/<pid>/stat): what a capture of it can
// sample, however busy this machine is.
double cpuSecondsOf(pid_t pid) {
  auto stat = hotspotd::readFile("/proc/" + std::to_string(pid) + "/stat");
  REQUIRE(stat);
  std::istringstream rest(stat->substr(stat->rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i >= 14) ticks += std::stod(field);
  }
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

TEST_CASE("processes are found by pid, pid file, name and cgroup, and a missing one is a clear error") {
  ChildProcess busy({HOTSPOTD_BUSY, "60"});
  TempDir dir;
  profile::ProcessSelector by_pid;
  by_pid.pid = busy.pid();
  auto pids = profile::resolveProcesses(by_pid);
  REQUIRE(pids);
  CHECK(*pids == std::vector<pid_t>{busy.pid()});

  profile::ProcessSelector by_file;
  by_file.pid_file = dir.write("busy.pid", std::to_string(busy.pid()) + "\n");
  pids = profile::resolveProcesses(by_file);
  REQUIRE(pids);
  CHECK(*pids == std::vector<pid_t>{busy.pid()});

  profile::ProcessSelector by_name;
  by_name.process_name = "hotspotd_busy";
  // The child may still be exec'ing: give /proc a moment to show its new name.
  for (int i = 0; i < 50 && !profile::resolveProcesses(by_name); ++i) usleep(20'000);
  pids = profile::resolveProcesses(by_name);
  REQUIRE_MESSAGE(pids, (pids ? "" : pids.error().message));
  CHECK(std::find(pids->begin(), pids->end(), busy.pid()) != pids->end());

  profile::ProcessSelector by_cgroup;
  by_cgroup.cgroup = "/proc/self/nonexistent-cgroup";
  auto no_cgroup = profile::resolveProcesses(by_cgroup);
  REQUIRE_FALSE(no_cgroup);
  CHECK(no_cgroup.error().message.find("cgroup") != std::string::npos);

  profile::ProcessSelector gone;
  gone.process_name = "no-such-process-name";
  auto missing = profile::resolveProcesses(gone);
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message == "no process named no-such-process-name is running");
  profile::ProcessSelector stale;
  stale.pid_file = dir.write("stale.pid", "999999\n");
  auto stale_r = profile::resolveProcesses(stale);
  REQUIRE_FALSE(stale_r);
  CHECK(stale_r.error().message.find("stale pid file") != std::string::npos);
}

TEST_CASE("perf captures a busy process: its hot function dominates the profile and the flame graph") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess busy({HOTSPOTD_BUSY, "60"});
  usleep(200'000);
  TempDir work;
  profile::CaptureOptions o;
  o.duration = 2s;
  o.work_dir = work.path();
  const double cpu_before = cpuSecondsOf(busy.pid());
  auto capture = profile::capturePerf({busy.pid()}, o);
  if (!capture && capture.error().message.find("not permitted") != std::string::npos) {
    test::needComponent(false, capture.error().message);
    return;
  }
  REQUIRE_MESSAGE(capture, (capture ? "" : capture.error().message));
  // 99 samples a second of the CPU time it had (two seconds of it on an idle machine; the time around the
  // recording counts too, hence the low bound's margin): counted in samples, not in nanoseconds of period.
  const double cpu = cpuSecondsOf(busy.pid()) - cpu_before;
  CAPTURE(cpu);
  CHECK(capture->samples >= 0.5 * 99 * cpu);
  CHECK(capture->samples <= 1.2 * 99 * cpu + 20);
  const auto summary = profile::summarize(capture->stacks, 5);
  REQUIRE(!summary.by_self.empty());
  CHECK(summary.by_self[0].name.find("hotspotd_test_hot_function") != std::string::npos);
  CHECK(summary.by_self[0].self_share > 0.6);
  CHECK(summary.by_self[0].cls == profile::FrameClass::cpu);
  const std::string svg = profile::renderFlameGraph(capture->stacks);
  CHECK(svg.find("<title>hotspotd_test_hot_function (") != std::string::npos);
  // The perf data file is gone.
  CHECK(std::filesystem::is_empty(work.path()));
}

// Off-CPU: a real process waiting in each way a tail gets slow without the CPU being busy. The capture must name
// the function that waits, under the right class, in microseconds of thread time.
TEST_CASE("off-CPU capture of real waits names the function that waits and why: lock, slow pipe, sleep") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  struct Shape {
    const char* arg;
    const char* function;
    profile::WaitClass cls;
  };
  for (const Shape& shape : {Shape{"lock", "hotspotd_test_reserve", profile::WaitClass::lock},
                             Shape{"pipe", "hotspotd_test_downstream", profile::WaitClass::network},
                             Shape{"sleep", "hotspotd_test_nap", profile::WaitClass::sleep}}) {
    CAPTURE(shape.arg);
    ChildProcess waiter({HOTSPOTD_WAITER, shape.arg, "60"});
    usleep(200'000);
    TempDir work;
    auto capture = perfCapture(waiter.pid(), profile::CaptureKind::offcpu, 2s, work);
    if (!capture) return;
    CHECK(capture->unit == "us");
    // Two seconds of a waiting thread (four for the lock's four threads, less what they ran): whole seconds of
    // blocked time, not event counts.
    CHECK(capture->offcpu_us > 1'000'000);
    CHECK(capture->offcpu_us < 12'000'000);
    const auto summary = profile::summarizeOffCpu(capture->stacks, 5);
    REQUIRE(!summary.waiting.empty());
    CHECK(summary.waiting[0].name == shape.function);
    CHECK(summary.waiting[0].cls == shape.cls);
    CHECK(summary.waiting[0].share > 0.5);
    CHECK(std::filesystem::is_empty(work.path()));
  }
}

// On-CPU time that goes to libraries: Debian's glibc has no frame pointers, so only DWARF call chains reach the
// function that allocates or writes. Against a baseline of plain CPU work, the page names that function and what
// its time went to.
TEST_CASE("on-CPU shapes on a real process: allocation churn and a syscall storm are named by the function") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  TempDir work;
  ChildProcess computing({HOTSPOTD_WAITER, "cpu", "60"});
  usleep(200'000);
  auto base = perfCapture(computing.pid(), profile::CaptureKind::cpu, 2s, work);
  if (!base) return;
  struct Shape {
    const char* arg;
    const char* function;
    const char* time_in;
  };
  for (const Shape& shape : {Shape{"alloc", "hotspotd_test_churn", "of its time in allocation"},
                             Shape{"write", "hotspotd_test_chatter", "of its time in system calls"}}) {
    CAPTURE(shape.arg);
    ChildProcess shaped({HOTSPOTD_WAITER, shape.arg, "60"});
    usleep(200'000);
    auto now = perfCapture(shaped.pid(), profile::CaptureKind::cpu, 2s, work);
    if (!now) return;
    const auto summary = profile::summaryJson(now->stacks, &base->stacks, 2, 2);
    CAPTURE(summary.dump());
    CHECK(summary.value("explains", "") == std::string("cpu:") + shape.function);
    const std::string explanation = summary.value("explanation", "");
    CHECK(explanation.starts_with(std::string("on-CPU: ") + shape.function + " grew"));
    CHECK(explanation.find(shape.time_in) != std::string::npos);
    CHECK(explanation.find("called from main") != std::string::npos);
  }
  CHECK(std::filesystem::is_empty(work.path()));
}

// Known waits: each of three threads is off the CPU nearly all the time, one way each (a sleep, a pipe read, a
// mutex held by another thread 50 ms of every 51). Their blocked time is the capture's span, each within 10%.
TEST_CASE("off-CPU time of known waits is attributed to the right function and class within 10% of the truth") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess waiter({HOTSPOTD_WAITER, "known", "60"});
  usleep(300'000);
  TempDir work;
  auto capture = perfCapture(waiter.pid(), profile::CaptureKind::offcpu, 3s, work);
  if (!capture) return;
  REQUIRE(capture->span_us > 2'000'000);
  struct Known {
    const char* function;
    profile::WaitClass cls;
    double share_of_span;  // how much of the time the thread is off the CPU there
  };
  const auto summary = profile::summarizeOffCpu(capture->stacks, 20);
  for (const Known& k : {Known{"hotspotd_test_nap50", profile::WaitClass::sleep, 1.0},
                         Known{"hotspotd_test_downstream", profile::WaitClass::network, 1.0},
                         Known{"hotspotd_test_reserve_once", profile::WaitClass::lock, 50.0 / 51.0}}) {
    CAPTURE(k.function);
    const auto it = std::find_if(summary.waiting.begin(), summary.waiting.end(),
                                 [&](const profile::WaitingFrame& w) { return w.name == k.function; });
    REQUIRE(it != summary.waiting.end());
    CHECK(it->cls == k.cls);
    const double truth = k.share_of_span * static_cast<double>(capture->span_us);
    MESSAGE(k.function, ": ", it->us, " us blocked of ", truth, " us known");
    CHECK(static_cast<double>(it->us) == doctest::Approx(truth).epsilon(0.10));
  }
}

TEST_CASE("both at once: on-CPU samples and off-CPU time in one wall-clock profile that never merges them") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess busy({HOTSPOTD_BUSY, "60"});
  usleep(200'000);
  TempDir work;
  const double cpu_before = cpuSecondsOf(busy.pid());
  auto capture = perfCapture(busy.pid(), profile::CaptureKind::both, 2s, work);
  if (!capture) return;
  // A busy process is on the CPU: its on-CPU samples, counted in microseconds, are the CPU time it had (about two
  // seconds on an idle machine); what it spent off the CPU is in stacks of their own.
  const double cpu = cpuSecondsOf(busy.pid()) - cpu_before;
  CAPTURE(cpu);
  profile::FoldedStacks on, off;
  capture->stacks.forEach(
      [&](std::string_view s, std::uint64_t n) { (profile::isOffCpuStack(s) ? off : on).add(s, n); });
  CHECK(on.total() >= 0.5 * cpu * 1e6);
  CHECK(on.total() <= 1.2 * cpu * 1e6 + 200'000);
  on.forEach([](std::string_view s, std::uint64_t) { CHECK(s.find("_[o]") == std::string_view::npos); });
  const auto summary = profile::summarize(on, 5);
  REQUIRE(!summary.by_self.empty());
  CHECK(summary.by_self[0].name.find("hotspotd_test_hot_function") != std::string::npos);
}

TEST_CASE("an off-CPU capture of a process that switches too often is shortened to its switch cap, and says so") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess waiter({HOTSPOTD_WAITER, "sleep", "60"});  // about 100 switches a second
  usleep(200'000);
  TempDir work;
  const auto start = std::chrono::steady_clock::now();
  auto capture = perfCapture(waiter.pid(), profile::CaptureKind::offcpu, 10s, work, 150);
  if (!capture) return;
  CHECK(capture->recorded < 3s);
  CHECK(std::chrono::steady_clock::now() - start < 8s);
  CHECK(capture->switches <= 400);
  CHECK(capture->note.find("max_switches") != std::string::npos);
}

// kinds = "auto" in the profile manager: a process whose threads wait on a lock gives an on-CPU capture that
// explains nothing; while the incident fires, the next capture records the waits, and its summary names the lock.
TEST_CASE("auto kinds: an on-CPU capture that explains nothing is followed at once by one that names the lock") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess waiter({HOTSPOTD_WAITER, "lock", "120"});
  TempDir dir;
  boost::asio::io_context io;
  prometheus::Registry registry;
  auto db = state::Database::open(dir.path() / "hotspotd.db");
  REQUIRE(db);
  auto profiles = profile::ProfileStore::open(**db, dir.path() / "profiles");
  REQUIRE(profiles);
  profile::ProfileManager manager{io, realClock(), *profiles, registry, dir.path()};
  std::vector<profile::ProfileRef> refs;
  manager.onProfile([&](const profile::ProfileRef& p) { refs.push_back(p); });
  profile::ProfilingConfig config;
  config.baseline_interval = 0s;
  profile::ProfileTarget t;
  t.name = "shop";
  t.process.pid = waiter.pid();
  t.duration = 1s;
  t.cooldown = 1h;
  REQUIRE(t.kinds == "auto");  // the default
  config.targets = {t};
  manager.apply(config);
  rules::IncidentEvent e;
  e.t_ms = realClock().nowMs();
  e.id = "slow-checkout";
  e.alertname = "LatencyDrift";
  e.profile = "shop";
  manager.onEvents({e});
  const auto end = std::chrono::steady_clock::now() + 40s;
  while (refs.size() < 2 && std::chrono::steady_clock::now() < end) {
    io.run_for(100ms);
    io.restart();
  }
  manager.stop();
  REQUIRE(refs.size() >= 2);
  auto first = profiles->get(refs[0].profile_id);
  auto second = profiles->get(refs[1].profile_id);
  REQUIRE((first && *first && second && *second));
  if (!(*first)->error.empty()) CHECK((*first)->error.find("no samples") != std::string::npos);
  if ((*first)->error.empty()) CHECK((*first)->summary.value("records", "") == "cpu");
  const auto& summary = (*second)->summary;
  CHECK(summary.value("records", "") == "both");
  REQUIRE(summary.contains("offcpu"));
  REQUIRE(!summary["offcpu"]["waiting"].empty());
  CHECK(summary["offcpu"]["waiting"][0].value("name", "") == "hotspotd_test_reserve");
  CHECK(summary["offcpu"]["waiting"][0].value("class", "") == "lock");
  const std::string explanation = summary.value("explanation", "");
  CHECK(explanation.find("lock in hotspotd_test_reserve") != std::string::npos);
  // A wall-clock profile (the process ran on a CPU too) has its off-CPU part drawn alone beside the whole.
  const std::string view = summary.value("view", "");
  CHECK((view == "wall" || view == "offcpu"));
  CHECK(std::filesystem::exists(profiles->pathOf((*second)->id) / "offcpu.svg") == (view == "wall"));
}

TEST_CASE("a perf capture of a process that is gone fails with perf's reason") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  TempDir work;
  profile::CaptureOptions o;
  o.duration = 1s;
  o.work_dir = work.path();
  auto r = profile::capturePerf({999999}, o);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("perf record failed") != std::string::npos);
  CHECK(std::filesystem::is_empty(work.path()));
}

TEST_CASE("a command that prints folded stacks is a profiler; its failures and hangs are reported") {
  profile::CaptureOptions o;
  o.duration = 1s;
  o.grace = 1s;
  auto ok = profile::captureCommand({"sh", "-c", "echo 'app;serve;pid_{pid} 7'; echo 'app;gc 3'"}, 4242, o);
  REQUIRE_MESSAGE(ok, (ok ? "" : ok.error().message));
  CHECK(ok->samples == 10);
  CHECK(ok->stacks.text() == "app;gc 3\napp;serve;pid_4242 7\n");
  auto failing = profile::captureCommand({"sh", "-c", "echo 'cannot attach to 4242' >&2; exit 3"}, 4242, o);
  REQUIRE_FALSE(failing);
  CHECK(failing.error().message == "sh failed (exit 3): cannot attach to 4242");
  const auto start = std::chrono::steady_clock::now();
  auto hung = profile::captureCommand({"sleep", "60"}, 1, o);
  REQUIRE_FALSE(hung);
  CHECK(hung.error().message.find("did not finish") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 10s);
  auto empty = profile::captureCommand({"true"}, 1, o);
  REQUIRE_FALSE(empty);
  CHECK(empty.error().message.find("printed no stacks") != std::string::npos);
}

TEST_CASE("a real Go pprof endpoint (a Prometheus server's) is captured and folded, root first, with Go names") {
  const std::string prometheus = test::findProgram("prometheus");
  if (!test::needComponent(!prometheus.empty(), "prometheus (scripts/bootstrap installs it)")) return;
  TempDir dir;
  const int port = test::freePort();
  const auto config = dir.write("prometheus.yml", "global:\n  scrape_interval: 1s\n");
  ChildProcess prom({prometheus, "--config.file=" + config.string(),
                     "--web.listen-address=127.0.0.1:" + std::to_string(port),
                     "--storage.tsdb.path=" + (dir.path() / "tsdb").string(), "--log.level=warn"});
  httplib::Client client("127.0.0.1", port);
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    auto r = client.Get("/-/ready");
    ready = r && r->status == 200;
    if (!ready) usleep(100'000);
  }
  REQUIRE(ready);
  // Work for the profile to see: queries on another thread while the 2 s profile runs.
  std::atomic<bool> stop{false};
  std::thread load([&] {
    httplib::Client q("127.0.0.1", port);
    while (!stop) q.Get("/api/v1/query?query=sum(rate(prometheus_http_requests_total[1m]))%20by%20(handler)");
  });
  profile::CaptureOptions o;
  o.duration = 2s;
  auto c = profile::capturePprof("http://127.0.0.1:" + std::to_string(port) + "/debug/pprof/profile", o);
  struct Stop {
    std::atomic<bool>& stop;
    std::thread& load;
    ~Stop() {
      stop = true;
      load.join();
    }
  } stop_load{stop, load};
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  CHECK(c->samples > 0);
  const std::string text = c->stacks.text();
  CHECK(text.find("runtime.") != std::string::npos);
  CHECK(text.find("net/http.(*conn).serve") != std::string::npos);
  const auto top = profile::summarize(c->stacks, 50).by_total;
  CHECK(std::any_of(top.begin(), top.end(), [](const auto& f) { return f.name.find("promql") != std::string::npos; }));

  auto bad = profile::capturePprof("http://127.0.0.1:" + std::to_string(port) + "/no/such/endpoint", o);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("HTTP 404") != std::string::npos);

  // Off-CPU for a Go program: its block and mutex profiles over the same seconds, under the same query load.
  // Prometheus does not turn them on (its block profile rate and mutex fraction are 0): the capture is the CPU
  // part, in microseconds, and says why there are no waits.
  o.kind = profile::CaptureKind::both;
  auto wall = profile::capturePprof("http://127.0.0.1:" + std::to_string(port) + "/debug/pprof/profile", o);
  REQUIRE_MESSAGE(wall, (wall ? "" : wall.error().message));
  CHECK(wall->unit == "us");
  CHECK(wall->note.find("the block profile is empty") != std::string::npos);
  CHECK(wall->note.find("runtime.SetBlockProfileRate") != std::string::npos);
  CHECK(wall->note.find("the mutex profile is empty") != std::string::npos);
  // Its goroutines at the end of the capture, by where they wait (dozens: the scrape loop, the rule manager...).
  const auto goroutines = profile::summarizeOffCpu(wall->goroutines);
  CHECK(goroutines.us > 10);
  CHECK(!goroutines.waiting.empty());
}

namespace {

// A Go-style pprof profile (protobuf) with the given sample types and samples: each sample a stack of
// function names (root first) and its values.
std::string goProfile(const std::vector<std::pair<std::string, std::string>>& types,
                      const std::vector<std::pair<std::vector<std::string>, std::vector<std::int64_t>>>& samples) {
  perftools::profiles::Profile p;
  std::vector<std::string> strings{""};
  auto intern = [&](const std::string& text) -> std::int64_t {
    for (std::size_t i = 0; i < strings.size(); ++i) {
      if (strings[i] == text) return static_cast<std::int64_t>(i);
    }
    strings.push_back(text);
    return static_cast<std::int64_t>(strings.size() - 1);
  };
  for (const auto& [type, unit] : types) {
    auto* t = p.add_sample_type();
    t->set_type(intern(type));
    t->set_unit(intern(unit));
  }
  std::map<std::string, std::uint64_t> ids;
  for (const auto& [stack, values] : samples) {
    auto* sample = p.add_sample();
    for (auto frame = stack.rbegin(); frame != stack.rend(); ++frame) {  // leaf first
      auto [it, added] = ids.emplace(*frame, ids.size() + 1);
      if (added) {
        auto* f = p.add_function();
        f->set_id(it->second);
        f->set_name(intern(*frame));
        auto* loc = p.add_location();
        loc->set_id(it->second);
        loc->add_line()->set_function_id(it->second);
      }
      sample->add_location_id(it->second);
    }
    for (auto v : values) sample->add_value(v);
  }
  for (const auto& text : strings) p.add_string_table(text);
  return p.SerializeAsString();  // Go gzips it; the reader takes it either way
}

}  // namespace

// A Go program that records its waits: the block profile's delay becomes off-CPU time by the goroutine's stack,
// classed from Go's frames, beside the CPU profile in microseconds; the mutex profile names the lock holders.
TEST_CASE("a Go endpoint's block and mutex profiles are off-CPU time beside its CPU profile, classed by Go frames") {
  const std::string cpu = goProfile({{"samples", "count"}, {"cpu", "nanoseconds"}},
                                    {{{"main.main", "main.serve", "main.price"}, {200, 2'000'000'000}}});
  const std::string block = goProfile(
      {{"contentions", "count"}, {"delay", "nanoseconds"}},
      {{{"main.main", "main.(*Inventory).Reserve", "sync.(*Mutex).Lock", "runtime.semacquire1"}, {40, 1'500'000'000}},
       {{"main.main", "main.fetchStock", "runtime.chanrecv1", "runtime.gopark"}, {10, 500'000'000}}});
  const std::string mutex =
      goProfile({{"contentions", "count"}, {"delay", "nanoseconds"}},
                {{{"main.main", "main.(*Inventory).Restock", "sync.(*Mutex).Unlock"}, {40, 1'200'000'000}}});
  std::atomic<int> asked_seconds{0};
  test::HttpTarget target;
  auto serve = [&](const std::string& body) {
    return [&, body](const httplib::Request& req, httplib::Response& res) {
      if (req.has_param("seconds")) asked_seconds = std::atoi(req.get_param_value("seconds").c_str());
      res.set_content(body, "application/octet-stream");
    };
  };
  target.server().Get("/debug/pprof/profile", serve(cpu));
  target.server().Get("/debug/pprof/block", serve(block));
  target.server().Get("/debug/pprof/mutex", serve(mutex));
  // 30 goroutines waiting for a pooled connection, 2 in the main loop's select.
  target.server().Get("/debug/pprof/goroutine",
                      serve(goProfile({{"goroutine", "count"}},
                                      {{{"main.main", "main.(*Pool).Get", "runtime.chanrecv1", "runtime.gopark"}, {30}},
                                       {{"main.main", "runtime.selectgo", "runtime.gopark"}, {2}}})));
  const std::string url = "http://" + target.start() + "/debug/pprof/profile";
  profile::CaptureOptions o;
  o.duration = 2s;
  o.kind = profile::CaptureKind::both;
  auto c = profile::capturePprof(url, o);
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  CHECK(asked_seconds == 2);
  CHECK(c->unit == "us");
  CHECK(c->note.empty());
  CHECK(c->offcpu_us == 2'000'000);
  const auto off = profile::summarizeOffCpu(c->stacks);
  REQUIRE(off.waiting.size() == 2);
  CHECK(off.waiting[0].name == "main.(*Inventory).Reserve");
  CHECK(off.waiting[0].cls == profile::WaitClass::lock);
  CHECK(off.waiting[0].us == 1'500'000);
  CHECK(off.waiting[1].name == "main.fetchStock");
  CHECK(off.waiting[1].cls == profile::WaitClass::condition);
  // 200 CPU samples at Go's 10 ms are two seconds of CPU, in the same unit, never merged with the waits.
  std::uint64_t on = 0;
  c->stacks.forEach([&](std::string_view s, std::uint64_t n) { on += profile::isOffCpuStack(s) ? 0 : n; });
  CHECK(on == 2'000'000);
  CHECK(c->lock_holders.text() == "main.main;main.(*Inventory).Restock;sync.(*Mutex).Unlock 1200000\n");
  const auto goroutines = profile::summarizeOffCpu(c->goroutines);
  CHECK(goroutines.us == 32);
  REQUIRE(!goroutines.waiting.empty());
  CHECK(goroutines.waiting[0].name == "main.(*Pool).Get");
  CHECK(goroutines.waiting[0].us == 30);
  CHECK(goroutines.waiting[0].cls == profile::WaitClass::condition);

  o.kind = profile::CaptureKind::offcpu;
  auto waits_only = profile::capturePprof(url, o);
  REQUIRE_MESSAGE(waits_only, (waits_only ? "" : waits_only.error().message));
  waits_only->stacks.forEach([](std::string_view s, std::uint64_t) { CHECK(profile::isOffCpuStack(s)); });

  // An endpoint that serves the CPU profile alone: the capture is that, and says what it could not fetch.
  test::HttpTarget cpu_only;
  cpu_only.server().Get("/debug/pprof/profile", serve(cpu));
  o.kind = profile::CaptureKind::both;
  auto partial = profile::capturePprof("http://" + cpu_only.start() + "/debug/pprof/profile", o);
  REQUIRE_MESSAGE(partial, (partial ? "" : partial.error().message));
  CHECK(partial->stacks.total() == 2'000'000);
  CHECK_MESSAGE(partial->note.find("no block profile: ") != std::string::npos, partial->note);
  CHECK(partial->note.find("HTTP 404") != std::string::npos);
  CHECK(partial->note.find("no mutex profile: ") != std::string::npos);
}

TEST_CASE("the demo service under load: its regression's function dominates the profile and leads what grew") {
  if (const auto why = perfUnavailable(); !test::needComponent(why.empty(), why)) return;
  ChildProcess demo({HOTSPOTD_DEMO_SERVICE, "--listen", "127.0.0.1:0", "--load", "40"});
  auto line = demo.waitForLine("Listening on", 10s);
  REQUIRE_MESSAGE(line, demo.output());
  const int port = std::stoi(line->substr(line->rfind(':') + 1));
  usleep(500'000);
  TempDir work;
  profile::CaptureOptions o;
  o.duration = 3s;
  o.frequency = 499;  // the healthy service is mostly idle: enough samples of its few busy milliseconds
  o.work_dir = work.path();
  auto baseline = profile::capturePerf({demo.pid()}, o);
  if (!baseline && baseline.error().message.find("not permitted") != std::string::npos) {
    test::needComponent(false, baseline.error().message);
    return;
  }
  REQUIRE_MESSAGE(baseline, (baseline ? "" : baseline.error().message));
  httplib::Client client("127.0.0.1", port);
  auto on = client.Post("/admin/regression", "on=1", "application/x-www-form-urlencoded");
  REQUIRE(on);
  CHECK(on->body == "on\n");
  auto slow = profile::capturePerf({demo.pid()}, o);
  REQUIRE_MESSAGE(slow, (slow ? "" : slow.error().message));

  // DWARF call chains reach the thread's start: a dozen generic frames (the HTTP server's) hold everything.
  const auto summary = profile::summarize(slow->stacks, 40);
  const auto recalculate = std::find_if(summary.by_total.begin(), summary.by_total.end(), [](const auto& f) {
    return f.name.find("recalculateAll") != std::string::npos;
  });
  REQUIRE_MESSAGE(recalculate != summary.by_total.end(), slow->stacks.text());
  CHECK(recalculate->total_share > 0.5);
  const auto grown = profile::grownFrames(baseline->stacks, slow->stacks, 5);
  REQUIRE(!grown.empty());
  CHECK_MESSAGE(grown.front().name.find("recalculateAll") != std::string::npos, grown.front().name);
}

TEST_CASE(
    "a pprof endpoint that redirects, answers without end, or hangs past shutdown is refused, capped, cancelled") {
  test::HttpTarget target;
  target.server().Get("/moved/debug/pprof/profile", [](const httplib::Request&, httplib::Response& res) {
    res.status = 302;
    res.set_header("Location", "http://169.254.169.254/latest/meta-data/");
  });
  // An answer that never ends: chunks for as long as the client reads.
  target.server().Get("/huge/debug/pprof/profile", [](const httplib::Request&, httplib::Response& res) {
    res.set_chunked_content_provider("application/octet-stream", [](std::size_t, httplib::DataSink& sink) {
      static const std::string chunk(64 * 1024, 'x');
      return sink.write(chunk.data(), chunk.size());
    });
  });
  target.server().Get("/slow/debug/pprof/profile", [](const httplib::Request&, httplib::Response& res) {
    std::this_thread::sleep_for(3s);
    res.set_content("late", "application/octet-stream");
  });
  const std::string base = "http://" + target.start();
  profile::CaptureOptions o;
  o.duration = 1s;
  o.max_size = 1 << 20;

  auto moved = profile::capturePprof(base + "/moved/debug/pprof/profile", o);
  REQUIRE_FALSE(moved);
  CHECK(moved.error().message.find("HTTP 302") != std::string::npos);
  CHECK(moved.error().message.find("redirects are not followed") != std::string::npos);

  const auto start = std::chrono::steady_clock::now();
  auto huge = profile::capturePprof(base + "/huge/debug/pprof/profile", o);
  REQUIRE_FALSE(huge);
  CHECK(huge.error().message.find("larger than max_size") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - start < 10s);

  std::atomic<bool> cancel{false};
  o.cancel = &cancel;
  std::thread stopper([&] {
    std::this_thread::sleep_for(300ms);
    cancel = true;
  });
  const auto before = std::chrono::steady_clock::now();
  auto slow = profile::capturePprof(base + "/slow/debug/pprof/profile", o);
  stopper.join();
  REQUIRE_FALSE(slow);
  CHECK(slow.error().message.find("cancelled") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - before < 1500ms);
}
