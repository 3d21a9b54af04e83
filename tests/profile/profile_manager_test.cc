// The profile manager on its own event loop, with command targets (no perf needed): one capture per incident,
// the target's cooldown shared between incidents, progressive re-captures that grow, the CPU budget, and the
// profile store's retention that keeps each target's newest baseline.
#include <doctest/doctest.h>

#include <unistd.h>

#include <thread>

#include <boost/asio/io_context.hpp>

#include "profile/profile_manager.h"
#include "state/database.h"
#include "incidents/incident_store.h"
#include "core/file.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

struct Fixture {
  test::TempDir dir;
  boost::asio::io_context io;
  prometheus::Registry registry;
  std::unique_ptr<state::Database> db = *state::Database::open(dir.path() / "hotspotd.db");
  incidents::IncidentStore incidents = *incidents::IncidentStore::open(*db);
  profile::ProfileStore profiles = *profile::ProfileStore::open(*db, dir.path() / "profiles");
  profile::ProfileManager manager{io, realClock(), profiles, registry, dir.path() / "profiles"};

  // Attached as the daemon attaches them: to the incident in the incident store.
  Fixture() {
    manager.onProfile([this](const profile::ProfileRef& p) {
      REQUIRE(incidents.addProfile(p.incident_id, {p.profile_id, std::string(profile::kindName(p.kind)), p.error, p.start_ms}));
    });
  }

  static profile::ProfileTarget commandTarget(std::string name, Duration cooldown) {
    profile::ProfileTarget t;
    t.name = std::move(name);
    t.process.pid = getpid();
    t.command = {"sh", "-c", "echo 'app;serve;seconds_{seconds} 9'; echo 'app;gc 1'"};
    t.duration = 1s;
    t.max_duration = 4s;
    t.cooldown = cooldown;
    return t;
  }

  // An incident firing (written to the incident store as the engine would), handed to the manager.
  rules::IncidentEvent fire(const std::string& id, const std::string& target, std::int64_t t_ms) {
    rules::IncidentEvent e;
    e.t_ms = t_ms;
    e.id = id;
    e.alertname = "Slow";
    e.labels = {{"route", id}};
    e.profile = target;
    incidents::IncidentTracker tracker(true);
    tracker.restore(id, incidents::TrackedIncident{incidents::TrackedIncident::State::firing, t_ms, -1, e});
    REQUIRE(incidents.save(tracker, {id}, {}, t_ms));
    manager.onEvents({e});
    return e;
  }

  // Runs the loop until `done` or the time is up.
  void runUntil(const std::function<bool()>& done, Duration limit) {
    const auto end = std::chrono::steady_clock::now() + limit;
    while (!done() && std::chrono::steady_clock::now() < end) {
      io.run_for(50ms);
      io.restart();
    }
  }

  std::vector<incidents::IncidentProfile> profilesOf(const std::string& id) {
    auto all = incidents.list(true, 100);
    REQUIRE(all);
    for (const auto& i : *all) {
      if (i.id == id) return i.profiles;
    }
    return {};
  }
};

}  // namespace

TEST_CASE("one capture per incident; a second incident within the target's cooldown shares it") {
  Fixture f;
  profile::ProfilingConfig c;
  c.baseline_interval = 0s;
  c.targets = {Fixture::commandTarget("app", 1h)};
  f.manager.apply(c);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  f.fire("a", "app", now);
  f.runUntil([&] { return f.profilesOf("a").size() == 1; }, 10s);
  const auto a = f.profilesOf("a");
  REQUIRE(a.size() == 1);
  CHECK(a[0].error.empty());
  auto stacks = f.profiles.loadStacks(a[0].profile_id);
  REQUIRE(stacks);
  CHECK(stacks->text() == "app;gc 1\napp;serve;seconds_1 9\n");
  f.fire("b", "app", now + 1000);
  const auto b = f.profilesOf("b");
  REQUIRE(b.size() == 1);
  CHECK(b[0].profile_id == a[0].profile_id);  // no second capture within the cooldown
  auto listed = f.profiles.list("app", "", 10);
  REQUIRE(listed);
  CHECK(listed->size() == 1);
  f.manager.stop();
}

TEST_CASE("while an incident goes on, captures repeat each cooldown and grow up to max_duration") {
  Fixture f;
  profile::ProfilingConfig c;
  c.baseline_interval = 0s;
  c.targets = {Fixture::commandTarget("app", 0s)};
  f.manager.apply(c);
  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  f.fire("a", "app", now);
  f.runUntil([&] { return f.profilesOf("a").size() >= 2; }, 30s);
  const auto a = f.profilesOf("a");
  REQUIRE(a.size() >= 2);
  auto first = f.profiles.loadStacks(a[0].profile_id), second = f.profiles.loadStacks(a[1].profile_id);
  REQUIRE(first);
  REQUIRE(second);
  CHECK(first->text().find("seconds_1 ") != std::string::npos);
  CHECK(second->text().find("seconds_2 ") != std::string::npos);  // twice as long
  f.manager.stop();
}

TEST_CASE("a capture past the CPU budget is skipped, and the incident says why") {
  Fixture f;
  profile::ProfilingConfig c;
  c.baseline_interval = 0s;
  c.cpu_budget = 0.000001;  // under 4 ms of CPU an hour: less than any perf capture
  auto t = Fixture::commandTarget("app", 1h);
  t.command.clear();  // perf, whose cost is estimated before it runs
  t.duration = 10s;
  c.targets = {t};
  f.manager.apply(c);
  f.fire("a", "app", 1'700'000'000'000);
  const auto a = f.profilesOf("a");
  REQUIRE(a.size() == 1);
  CHECK(a[0].error.find("profiling budget spent") != std::string::npos);
  CHECK(f.manager.busy() == 0);
  f.manager.stop();
}

TEST_CASE("retention deletes the oldest profiles past the count but keeps each target's newest baseline") {
  Fixture f;
  profile::FoldedStacks stacks;
  stacks.add("app;work", 10);
  for (int i = 0; i < 5; ++i) {
    profile::ProfileRecord r;
    r.target = "app";
    r.kind = i == 0 ? profile::ProfileKind::baseline : profile::ProfileKind::hotspot;
    r.start_ms = 1'000'000 + i * 1000;
    r.samples = 10;
    REQUIRE(f.profiles.save(r, stacks, nullptr));
  }
  auto pruned = f.profiles.prune(1'010'000, 1'000'000'000, 2, 1u << 30);
  REQUIRE(pruned);
  CHECK(*pruned == 2);  // 5 profiles, limit 2: the two newest stay, and the old baseline
  auto left = f.profiles.list("app", "", 10);
  REQUIRE(left);
  CHECK(left->size() == 3);
  auto baseline = f.profiles.latestBaseline("app");
  REQUIRE(baseline);
  REQUIRE(*baseline);
  CHECK(std::filesystem::exists(f.profiles.pathOf((*baseline)->id) / "flamegraph.svg"));
}

TEST_CASE("a healthy baseline is taken on schedule, and a hotspot profile is diffed against it") {
  Fixture f;
  profile::ProfilingConfig c;
  c.baseline_interval = 1s;  // the first baseline comes one interval after start (a minute, with real settings)
  c.baseline_duration = 1s;
  auto t = Fixture::commandTarget("app", 1h);
  t.duration = 2s;  // the frame names carry the duration: the hotspot profile differs from the baseline
  c.targets = {t};
  f.manager.apply(c);
  f.runUntil([&] {
    auto b = f.profiles.latestBaseline("app");
    return b && *b;
  }, 20s);
  auto baseline = f.profiles.latestBaseline("app");
  REQUIRE(baseline);
  REQUIRE(*baseline);
  CHECK((*baseline)->kind == profile::ProfileKind::baseline);
  CHECK((*baseline)->incident_id.empty());

  const auto now = std::chrono::duration_cast<std::chrono::milliseconds>(
                       std::chrono::system_clock::now().time_since_epoch()).count();
  f.fire("a", "app", now);
  f.runUntil([&] { return f.profilesOf("a").size() == 1; }, 20s);
  const auto a = f.profilesOf("a");
  REQUIRE(a.size() == 1);
  auto listed = f.profiles.list("app", "a", 1);
  REQUIRE(listed);
  REQUIRE(listed->size() == 1);
  const auto& hot = listed->front();
  CHECK(hot.baseline_id == (*baseline)->id);
  CHECK(std::filesystem::exists(f.profiles.pathOf(hot.id) / "diff.svg"));
  REQUIRE(hot.summary.contains("grown"));
  CHECK(hot.summary["grown"][0]["name"] == "seconds_2");  // new since the baseline
  f.manager.stop();
}

TEST_CASE("a profile is written whole or not at all: a half-written directory a crash left is removed at open") {
  test::TempDir dir;
  auto db = *state::Database::open(dir.path() / "hotspotd.db");
  const auto profiles_dir = dir.path() / "profiles";
  std::filesystem::create_directories(profiles_dir / "0000000f4240-0001.partial");
  REQUIRE(writeFile(profiles_dir / "0000000f4240-0001.partial" / "stacks.folded", "app;work 1\n"));
  auto store = profile::ProfileStore::open(*db, profiles_dir);
  REQUIRE(store);
  CHECK_FALSE(std::filesystem::exists(profiles_dir / "0000000f4240-0001.partial"));

  profile::FoldedStacks stacks;
  stacks.add("app;work", 10);
  profile::ProfileRecord r;
  r.target = "app";
  r.start_ms = 1'000'000;
  r.samples = 10;
  auto saved = store->save(r, stacks, nullptr);
  REQUIRE(saved);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(profiles_dir)) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{saved->id});
  CHECK(std::filesystem::exists(profiles_dir / saved->id / "meta.json"));
}

TEST_CASE("a profile's files are drawn and written on another thread; it shows only once committed on the loop") {
  test::TempDir dir;
  auto db = *state::Database::open(dir.path() / "hotspotd.db");
  const auto profiles_dir = dir.path() / "profiles";
  auto store = profile::ProfileStore::open(*db, profiles_dir);
  REQUIRE(store);
  profile::FoldedStacks stacks;
  stacks.add("app;work", 10);
  profile::ProfileRecord r;
  r.target = "app";
  r.start_ms = 2'000'000;
  r.samples = 10;
  // Staged off the thread that owns the database, as a capture thread does.
  Result<profile::StagedProfile> staged = fail("not run");
  Result<profile::StagedProfile> dropped = fail("not run");
  std::thread worker([&] {
    staged = profile::stageProfile(profiles_dir, r, stacks, nullptr);
    dropped = profile::stageProfile(profiles_dir, r, stacks, nullptr);
  });
  worker.join();
  REQUIRE_MESSAGE(staged, staged.error().message);
  REQUIRE_MESSAGE(dropped, dropped.error().message);
  CHECK(std::filesystem::exists(staged->dir / "flamegraph.svg"));
  CHECK(staged->dir.filename().string().ends_with(".partial"));
  CHECK(store->list("", "", 10)->empty());  // not in the index, not in place

  const std::string dropped_id = dropped->record.id;
  profile::discardStaged(*dropped);
  auto committed = store->commit(std::move(*staged));
  REQUIRE(committed);
  const auto listed = store->list("", "", 10);
  REQUIRE(listed->size() == 1);
  CHECK(listed->front().id == committed->id);
  std::vector<std::string> names;
  for (const auto& e : std::filesystem::directory_iterator(profiles_dir)) names.push_back(e.path().filename());
  CHECK(names == std::vector<std::string>{committed->id});  // the discarded one left nothing
  CHECK(std::filesystem::exists(profiles_dir / committed->id / "flamegraph.svg"));
  CHECK(committed->id != dropped_id);
}
