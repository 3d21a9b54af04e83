// The API's read-only connection to the state database: it sees what the lifecycle thread's connection committed,
// reads while that connection holds a write transaction open (WAL), and cannot write.
#include <doctest/doctest.h>

#include "alerting/outbox.h"
#include "daemon/state_reader.h"
#include "incidents/incident_store.h"
#include "profile/profile_store.h"
#include "rules/rule_loader.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("the API's reader sees committed incidents and notifications, reads during a write, and never writes") {
  test::TempDir dir;
  const auto path = dir.path() / "hotspotd.db";
  auto db = state::Database::open(path);
  REQUIRE(db);
  auto incidents = incidents::IncidentStore::open(**db);
  REQUIRE(incidents);
  auto outbox = alerting::Outbox::open(**db);
  REQUIRE(outbox);
  REQUIRE(profile::ProfileStore::open(**db, dir.path() / "profiles"));

  auto reader = daemon::StateReader::open(path, dir.path() / "profiles");
  REQUIRE_MESSAGE(reader, (reader ? "" : reader.error().message));

  // An incident firing, and a notification about it, committed by the writer.
  rules::Rule rule = rules::defaultRules().front();
  rule.name = "Slow";
  rule.for_duration = 0s;
  incidents::IncidentTracker tracker(true);
  rules::Finding f;
  f.endpoint = {{"route", "/a"}};
  f.judged = true;
  f.active = true;
  f.value = 2;
  std::vector<rules::IncidentEvent> events;
  tracker.observe(rule, 1'000, {f}, events);
  REQUIRE(incidents->save(tracker, tracker.takeChanged(), events, 1'000));
  REQUIRE_FALSE(events.empty());
  const std::string id = events.front().id;
  REQUIRE(outbox->enqueue("hook", "k", "{}", "application/json", 1'000, {id}));

  (*reader)->with([&](daemon::StateReader& r) {
    auto rows = r.incidents().query("firing", "", 0, 10);
    REQUIRE(rows);
    REQUIRE(rows->size() == 1);
    CHECK(rows->front().id == id);
    auto sent = r.notifications(id, 10);
    REQUIRE(sent);
    CHECK(sent->size() == 1);
  });

  // The writer holds a write transaction open: the reader still answers, from the last commit.
  REQUIRE((*db)->exec("BEGIN IMMEDIATE; DELETE FROM incidents;"));
  const auto start = std::chrono::steady_clock::now();
  (*reader)->with([&](daemon::StateReader& r) {
    auto rows = r.incidents().query("", "", 0, 10);
    REQUIRE(rows);
    CHECK(rows->size() == 1);
  });
  CHECK(std::chrono::steady_clock::now() - start < 1s);
  REQUIRE((*db)->exec("ROLLBACK;"));

  // Writing through the reader fails; it never takes the write lock.
  (*reader)->with([&](daemon::StateReader& r) {
    CHECK_FALSE(r.incidents().prune(10'000'000));
  });
}
