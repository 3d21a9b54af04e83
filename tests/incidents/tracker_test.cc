// The incident tracker: pending, firing and resolved with `for` and `keep_firing_for`, no change on missing data,
// flaps damped, annotations rendered per endpoint, and only endpoints with something going on kept.
#include <doctest/doctest.h>

#include "incidents/tracker.h"
#include "rules/rule_loader.h"

using namespace hotspotd;
using namespace hotspotd::rules;
using hotspotd::incidents::IncidentTracker;
using hotspotd::incidents::incidentId;
using namespace std::chrono_literals;

namespace {

Finding finding(bool judged, bool active) {
  Finding f;
  f.endpoint = {{"route", "/api"}};
  f.judged = judged;
  f.active = active;
  return f;
}

}  // namespace

TEST_CASE("incidents go pending, fire after `for`, and resolve after keep_firing_for; no data changes nothing") {
  Rule rule = defaultRules().front();
  rule.for_duration = 1min;
  rule.keep_firing_for = 2min;
  IncidentTracker t;
  std::vector<IncidentEvent> ev;
  const std::int64_t s = 15'000;
  t.observe(rule, 0, {finding(true, true)}, ev);
  t.observe(rule, 3 * s, {finding(true, true)}, ev);
  CHECK(ev.empty());  // pending for 45 s
  t.observe(rule, 4 * s, {finding(true, true)}, ev);
  REQUIRE(ev.size() == 1);
  CHECK(ev[0].state == IncidentEvent::State::firing);
  CHECK(ev[0].started_ms == 0);
  CHECK(ev[0].fired_ms == 4 * s);  // an alert's startsAt, as Prometheus sends it
  CHECK(ev[0].id == incidentId(rule.name, {{"route", "/api"}}));
  // Missing data for a long time: still firing, nothing resolves by itself.
  for (int i = 5; i < 40; ++i) t.observe(rule, i * s, {finding(false, false)}, ev);
  CHECK(ev.size() == 1);
  CHECK(t.firingCount() == 1);
  // The condition clears; keep_firing_for (2 min) must pass before the resolve.
  t.observe(rule, 40 * s, {finding(true, false)}, ev);
  CHECK(ev.size() == 1);
  t.observe(rule, 47 * s, {finding(true, false)}, ev);
  CHECK(ev.size() == 1);
  t.observe(rule, 48 * s, {finding(true, false)}, ev);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].state == IncidentEvent::State::resolved);
  CHECK(ev[1].id == ev[0].id);
  CHECK(ev[1].started_ms == 0);
  CHECK(ev[1].fired_ms == 4 * s);
}

TEST_CASE("a condition that clears before `for` never fires, and a flap inside keep_firing_for does not re-page") {
  Rule rule = defaultRules().front();
  rule.for_duration = 1min;
  rule.keep_firing_for = 5min;
  IncidentTracker t;
  std::vector<IncidentEvent> ev;
  t.observe(rule, 0, {finding(true, true)}, ev);
  t.observe(rule, 30'000, {finding(true, false)}, ev);
  t.observe(rule, 45'000, {finding(true, true)}, ev);
  t.observe(rule, 90'000, {finding(true, true)}, ev);
  CHECK(ev.empty());  // the pending clock restarted at 45 s
  t.observe(rule, 105'000, {finding(true, true)}, ev);
  REQUIRE(ev.size() == 1);
  // Flapping: off and on within keep_firing_for stays one incident.
  t.observe(rule, 120'000, {finding(true, false)}, ev);
  t.observe(rule, 180'000, {finding(true, true)}, ev);
  t.observe(rule, 240'000, {finding(true, false)}, ev);
  CHECK(ev.size() == 1);
}

TEST_CASE("only endpoints with a pending or firing incident are tracked; a resolved one is forgotten") {
  Rule rule = defaultRules().front();
  rule.for_duration = 0s;
  rule.keep_firing_for = 0s;
  IncidentTracker t;
  std::vector<IncidentEvent> ev;
  for (int i = 0; i < 100; ++i) {
    Finding quiet;
    quiet.endpoint = {{"route", "/r" + std::to_string(i)}};
    quiet.judged = true;
    t.observe(rule, 0, {quiet}, ev);
  }
  CHECK(t.trackedCount() == 0);
  t.observe(rule, 15'000, {finding(true, true)}, ev);
  CHECK(t.trackedCount() == 1);
  REQUIRE(ev.size() == 1);
  t.observe(rule, 30'000, {finding(true, false)}, ev);
  REQUIRE(ev.size() == 2);
  CHECK(ev[1].state == IncidentEvent::State::resolved);
  CHECK(t.trackedCount() == 0);
}
TEST_CASE("incident events carry the rule's annotations rendered for their endpoint") {
  auto rules = parseRules(R"([[rules]]
name = "Slow"
kind = "latency_drift"
histogram = "http_request_duration_seconds"
for = "0s"
annotations = { summary = "{{ $labels.route }} p99 {{ $value | humanizeDuration }}", runbook = "https://r/x" }
)",
                          "rules.toml");
  REQUIRE(rules);
  Finding f;
  f.endpoint = {{"route", "/pay"}};
  f.judged = f.active = true;
  f.value = 2.5;
  IncidentTracker t;
  std::vector<IncidentEvent> events;
  t.observe(rules->front(), 0, {f}, events);
  REQUIRE(events.size() == 1);
  CHECK(events[0].annotations == OwnedLabels{{"runbook", "https://r/x"}, {"summary", "/pay p99 2.5s"}});
}
