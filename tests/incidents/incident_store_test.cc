// The state database: incidents written by evaluation and read back as a restarted daemon would, resolved
// history and its retention, detector state keyed by the rule's definition, and a database from a newer version.
#include <doctest/doctest.h>

#include "rules/rule_loader.h"
#include "state/database.h"
#include "incidents/incident_store.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

namespace {

rules::Finding finding(std::string route, bool active, double value = 1) {
  rules::Finding f;
  f.endpoint = {{"route", std::move(route)}};
  f.judged = true;
  f.active = active;
  f.value = value;
  f.threshold = 0.5;
  f.evidence = {{"confidence", 0.9999}, {"quantile_lower", NAN}};
  f.reason = "because";
  return f;
}

rules::Rule rule(std::string name) {
  rules::Rule r = rules::defaultRules().front();
  r.name = std::move(name);
  r.for_duration = 30s;
  r.keep_firing_for = 0s;
  r.annotations = {{"summary", "{{ $labels.route }} at {{ $value }}"}};
  return r;
}

// Observes and saves one evaluation, as the engine does.
void step(incidents::IncidentTracker& t, incidents::IncidentStore& store, const rules::Rule& r, std::int64_t at,
          std::vector<rules::Finding> findings, std::vector<rules::IncidentEvent>* out = nullptr) {
  std::vector<rules::IncidentEvent> events;
  t.observe(r, at, findings, events);
  REQUIRE(store.save(t, t.takeChanged(), events, at));
  if (out) out->insert(out->end(), events.begin(), events.end());
}

}  // namespace

TEST_CASE("open incidents written at each evaluation come back after a restart, and firing ones do not fire again") {
  test::TempDir dir;
  const auto path = dir.path() / "hotspotd.db";
  const rules::Rule slow = rule("Slow");
  {
    auto db = state::Database::open(path);
    REQUIRE(db);
    auto store = incidents::IncidentStore::open(**db);
    REQUIRE(store);
    incidents::IncidentTracker t(true);
    std::vector<rules::IncidentEvent> events;
    step(t, *store, slow, 0, {finding("/a", true), finding("/b", true)}, &events);
    step(t, *store, slow, 15'000, {finding("/a", true), finding("/b", false)}, &events);  // /b never fires
    step(t, *store, slow, 30'000, {finding("/a", true, 2)}, &events);
    step(t, *store, slow, 45'000, {finding("/c", true)}, &events);  // /c pending at the "crash"
    REQUIRE(events.size() == 1);
    CHECK(events[0].annotations == rules::OwnedLabels{{"summary", "/a at 2"}});
  }
  auto db = state::Database::open(path);
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE(store);
  auto open = store->loadOpen();
  REQUIRE(open);
  REQUIRE(open->size() == 2);
  incidents::IncidentTracker t(true);
  for (auto& [id, incident] : *open) t.restore(id, incident);
  CHECK(t.firingCount() == 1);
  const auto* a = t.find(incidents::incidentId("Slow", {{"route", "/a"}}));
  REQUIRE(a);
  CHECK(a->state == incidents::TrackedIncident::State::firing);
  CHECK(a->since_ms == 0);
  CHECK(a->last.value == 2);
  CHECK(std::isnan(a->last.evidence[1].second));  // NaN evidence survives as NaN

  // Still active after the restart: no second firing event. /c keeps its pending clock and fires at 30 s.
  std::vector<rules::IncidentEvent> events;
  step(t, *store, slow, 60'000, {finding("/a", true), finding("/c", true)}, &events);
  CHECK(events.empty());
  step(t, *store, slow, 75'000, {finding("/a", true), finding("/c", true)}, &events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].labels == rules::OwnedLabels{{"route", "/c"}});
  // /a clears and resolves; the row keeps both ends.
  step(t, *store, slow, 90'000, {finding("/a", false, 0.4)}, &events);
  REQUIRE(events.size() == 2);
  CHECK(events[1].state == rules::IncidentEvent::State::resolved);
  CHECK(events[1].started_ms == 0);

  auto all = store->list(false, 10);
  REQUIRE(all);
  REQUIRE(all->size() == 2);  // /b was only pending and went away
  const auto& resolved = (*all)[1];
  CHECK(resolved.labels == rules::OwnedLabels{{"route", "/a"}});
  CHECK(resolved.state == incidents::IncidentState::resolved);
  CHECK(resolved.pending_ms == 0);
  CHECK(resolved.firing_ms == 30'000);
  CHECK(resolved.resolved_ms == 90'000);
  CHECK(resolved.resolved.value == 0.4);
  CHECK((*all)[0].state == incidents::IncidentState::firing);
  auto open_only = store->list(true, 10);
  REQUIRE(open_only);
  CHECK(open_only->size() == 1);

  // A second occurrence of the same incident is a new row with the same id.
  step(t, *store, slow, 100'000, {finding("/a", true)}, &events);
  step(t, *store, slow, 130'000, {finding("/a", true)}, &events);
  REQUIRE(events.size() == 3);
  CHECK(events[2].id == events[1].id);  // /a again
  auto again = store->list(false, 10);
  REQUIRE(again);
  CHECK(again->size() == 3);

  // Retention deletes resolved rows only.
  auto pruned = store->prune(95'000);
  REQUIRE(pruned);
  CHECK(*pruned == 1);
  auto left = store->list(false, 10);
  REQUIRE(left);
  CHECK(left->size() == 2);
}

TEST_CASE("incidents of a removed rule: firing ones resolve, pending ones are forgotten") {
  auto db = state::Database::open(":memory:");
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE(store);
  incidents::IncidentTracker t(true);
  step(t, *store, rule("Gone"), 0, {finding("/a", true)});
  step(t, *store, rule("Gone"), 30'000, {finding("/a", true)});
  step(t, *store, rule("Pending"), 30'000, {finding("/a", true)});
  std::vector<rules::IncidentEvent> events;
  t.retainRules({"Other"}, 40'000, events);
  REQUIRE(store->save(t, t.takeChanged(), events, 40'000));
  REQUIRE(events.size() == 1);
  CHECK(events[0].state == rules::IncidentEvent::State::resolved);
  CHECK(events[0].reason.find("removed") != std::string::npos);
  CHECK(t.trackedCount() == 0);
  auto open = store->loadOpen();
  REQUIRE(open);
  CHECK(open->empty());
}

TEST_CASE("exemplars attach to the firing incident, one per trace, newest first, capped") {
  auto db = state::Database::open(":memory:");
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE(store);
  incidents::IncidentTracker t(true);
  const rules::Rule r = rule("Slow");
  step(t, *store, r, 0, {finding("/a", true)});
  const std::string id = incidents::incidentId("Slow", {{"route", "/a"}});
  REQUIRE(store->addExemplars(id, {{"t1", "", {{"trace_id", "t1"}}, 2.5, 1000}}, 3));  // pending: not attached
  step(t, *store, r, 30'000, {finding("/a", true)});
  REQUIRE(store->addExemplars(id, {{"t1", "", {{"trace_id", "t1"}}, 2.5, 31'000}, {"t2", "", {{"trace_id", "t2"}}, 3, 32'000}},
                              3));
  REQUIRE(store->addExemplars(id, {{"t1", "", {{"trace_id", "t1"}}, 2.5, 31'000}, {"t3", "", {{"trace_id", "t3"}}, 4, 33'000},
                                   {"t4", "", {{"trace_id", "t4"}}, 5, 34'000}},
                              3));
  auto all = store->list(true, 1);
  REQUIRE(all);
  REQUIRE(all->size() == 1);
  const auto& x = all->front().exemplars;
  REQUIRE(x.size() == 3);
  CHECK(x[0].trace_id == "t4");
  CHECK(x[1].trace_id == "t3");
  CHECK(x[2].trace_id == "t2");
  CHECK(x[0].value == 5);
}

TEST_CASE("detector state is kept per rule definition") {
  auto db = state::Database::open(":memory:");
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE(store);
  nlohmann::json baseline = {{"bounds", {0.1, 0.5}}, {"counts", {90, 99, 100}}, {"frozen", true}};
  REQUIRE(store->saveDetectorState("Slow", "def-1", {{"route=/a", baseline}, {"route=/b", baseline}}, 1000));
  auto same = store->loadDetectorState("Slow", "def-1");
  REQUIRE(same);
  REQUIRE(same->size() == 2);
  CHECK((*same)[0].second == baseline);
  auto changed = store->loadDetectorState("Slow", "def-2");
  REQUIRE(changed);
  CHECK(changed->empty());
  // Saving again replaces what the rule had.
  REQUIRE(store->saveDetectorState("Slow", "def-1", {{"route=/a", baseline}}, 2000));
  auto replaced = store->loadDetectorState("Slow", "def-1");
  REQUIRE(replaced);
  CHECK(replaced->size() == 1);
  REQUIRE(store->retainDetectorState({"Other"}));
  auto gone = store->loadDetectorState("Slow", "def-1");
  REQUIRE(gone);
  CHECK(gone->empty());
}

TEST_CASE("a database written by a newer hotspotd is refused with what to do") {
  test::TempDir dir;
  const auto path = dir.path() / "hotspotd.db";
  {
    auto db = state::Database::open(path);
    REQUIRE(db);
    REQUIRE(incidents::IncidentStore::open(**db));
    REQUIRE((*db)->setSchemaVersion("incidents", 99));
  }
  auto db = state::Database::open(path);
  REQUIRE(db);
  auto store = incidents::IncidentStore::open(**db);
  REQUIRE_FALSE(store);
  CHECK(store.error().message.find("newer hotspotd") != std::string::npos);
  CHECK(store.error().message.find(path.string()) != std::string::npos);
}

TEST_CASE("a state directory that cannot hold the database is a clear error") {
  auto db = state::Database::open("/nonexistent-dir/hotspotd.db");
  REQUIRE_FALSE(db);
  CHECK(db.error().message.find("/nonexistent-dir/hotspotd.db") != std::string::npos);
}
