// Grouping and timing as Alertmanager does them: group_wait gathers what fires together, group_interval spaces
// updates, repeat_interval reminds, resolutions go once to receivers that want them, flapping does not storm,
// silences and inhibition leave alerts out.
#include <doctest/doctest.h>

#include "alerting/notifier.h"

using namespace hotspotd;
using namespace hotspotd::alerting;
using namespace std::chrono_literals;

namespace {

constexpr std::int64_t kT0 = 1'700'000'000'000;

AlertInfo alert(const std::string& route, bool firing = true, const std::string& severity = "page") {
  AlertInfo a;
  a.id = route + "/" + severity;
  a.alertname = "Slow";
  a.severity = severity;
  a.firing = firing;
  a.labels = {{"alertname", "Slow"}, {"route", route}, {"severity", severity}};
  return a;
}

Route grouped(Duration wait = 30s, Duration interval = 5min, Duration repeat = 4h) {
  Route root;
  root.receiver = "team";
  root.group_by = {"alertname"};
  root.group_wait = wait;
  root.group_interval = interval;
  root.repeat_interval = repeat;
  return root;
}

std::vector<std::string> routesOf(const Flush& f) {
  std::vector<std::string> out;
  for (const auto& a : f.group.alerts) out.push_back(a.labels[1].second + (a.firing ? "" : ":resolved"));
  return out;
}

}  // namespace

TEST_CASE("alerts that fire together go together after group_wait; later ones wait for group_interval") {
  Notifier n(grouped(), {}, {"team"});
  n.observe(alert("/a"), kT0);
  n.observe(alert("/b"), kT0 + 10'000);
  CHECK(n.due(kT0 + 29'000, {}).empty());
  CHECK(n.nextWakeMs() == kT0 + 30'000);
  auto f = n.due(kT0 + 30'000, {});
  REQUIRE(f.size() == 1);
  CHECK(f[0].group.receiver == "team");
  CHECK(f[0].group.group_key == "0:{alertname=\"Slow\"}");
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a", "/b"});
  n.observe(alert("/c"), kT0 + 60'000);
  CHECK(n.due(kT0 + 60'000, {}).empty());  // group_interval since the last notification
  f = n.due(kT0 + 330'000, {});
  REQUIRE(f.size() == 1);
  CHECK(f[0].group.alerts.size() == 3);
  // Nothing new: quiet until repeat_interval.
  CHECK(n.due(kT0 + 700'000, {}).empty());
  f = n.due(kT0 + 330'000 + 4 * 3'600'000, {});
  REQUIRE(f.size() == 1);
  CHECK(f[0].group.alerts.size() == 3);
}

TEST_CASE("resolutions go once to receivers that want them, and an emptied group is forgotten") {
  Notifier n(grouped(0s), {}, {"team"});
  n.observe(alert("/a"), kT0);
  REQUIRE(n.due(kT0, {}).size() == 1);
  n.observe(alert("/a", false), kT0 + 400'000);
  auto f = n.due(kT0 + 400'000, {});
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a:resolved"});
  CHECK(n.groupCount() == 0);
  // A resolution of an alert the notifier never saw fire makes no group and no wake-up.
  n.observe(alert("/never"), kT0 + 500'000);
  n.observe(alert("/other", false), kT0 + 500'000);
  CHECK(n.groupCount() == 1);
  n.observe(alert("/never", false), kT0 + 500'001);
  CHECK(n.due(kT0 + 500'001, {}).empty());  // it never went out: its resolution does not either
  CHECK(n.groupCount() == 0);
  CHECK(n.nextWakeMs() == 0);
  // A receiver that does not want resolutions hears only the firing.
  Notifier quiet(grouped(0s), {}, {});
  quiet.observe(alert("/a"), kT0);
  REQUIRE(quiet.due(kT0, {}).size() == 1);
  quiet.observe(alert("/a", false), kT0 + 400'000);
  CHECK(quiet.due(kT0 + 400'000, {}).empty());
  CHECK(quiet.groupCount() == 0);
}

TEST_CASE("a flapping alert makes at most one notification per group_interval") {
  Notifier n(grouped(0s, 5min), {}, {"team"});
  int sent = 0;
  for (int i = 0; i < 60; ++i) {  // flips every 10 s for 10 minutes
    const std::int64_t t = kT0 + i * 10'000;
    n.observe(alert("/a", i % 2 == 0), t);
    sent += static_cast<int>(n.due(t, {}).size());
  }
  CHECK(sent >= 2);  // it is notified, at 0 and 5 minutes
  CHECK(sent <= 3);  // and no more often: at 0, 5 and 10 minutes at most
}

TEST_CASE("silenced and inhibited alerts are left out; a group with nothing left sends nothing") {
  const auto page_mutes_ticket =
      std::vector<InhibitRule>{{*parseMatchers({"severity=\"page\""}), *parseMatchers({"severity=\"ticket\""}), {"route"}}};
  Route root = grouped(0s);
  root.group_by = {"severity"};
  Notifier n(root, page_mutes_ticket, {"team"});
  n.observe(alert("/a", true, "page"), kT0);
  n.observe(alert("/a", true, "ticket"), kT0);
  n.observe(alert("/b", true, "ticket"), kT0);
  auto f = n.due(kT0, {});
  REQUIRE(f.size() == 2);
  for (const auto& flush : f) {
    if (flush.group.group_labels[0].second == "ticket") {
      CHECK(routesOf(flush) == std::vector<std::string>{"/b"});  // /a's ticket is muted by its page
    }
  }
  Notifier s(grouped(0s), {}, {"team"});
  const std::vector<Silence> silences{{"s1", *parseMatchers({"route=\"/a\""}), {}, kT0 - 1, kT0 + 3'600'000, "ana", "deploy"}};
  s.observe(alert("/a"), kT0);
  CHECK(s.due(kT0, silences).empty());
  s.observe(alert("/b"), kT0 + 1000);
  f = s.due(kT0 + 400'000, silences);
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/b"});
}

TEST_CASE("grouping state saved and restored: no second page before repeat_interval, nothing observed is lost") {
  Notifier n(grouped(), {}, {"team"});
  n.observe(alert("/a"), kT0);
  REQUIRE(n.due(kT0 + 30'000, {}).size() == 1);
  n.observe(alert("/b"), kT0 + 40'000);  // observed, not yet notified (group_interval)
  const auto saved = n.takeDirty();
  REQUIRE(saved.size() == 1);
  CHECK(n.takeDirty().empty());  // nothing changed since

  // The restart: a new notifier given the saved rows.
  Notifier restarted(grouped(), {}, {"team"});
  restarted.restore(saved, kT0 + 50'000);
  CHECK(restarted.alerts() == std::map<std::string, bool>{{"/a/page", true}, {"/b/page", true}});
  CHECK(restarted.due(kT0 + 60'000, {}).empty());  // still inside group_interval of the last notification
  auto f = restarted.due(kT0 + 330'000, {});
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a", "/b"});  // /b was not forgotten
  // /a was notified before the restart: only repeat_interval brings it (with /b) back.
  CHECK(restarted.due(kT0 + 330'000 + 3'600'000, {}).empty());
  CHECK(restarted.due(kT0 + 330'000 + 4 * 3'600'000, {}).size() == 1);

  // A resolution after the restart reaches the receiver that heard it fire.
  restarted.observe(alert("/a", false), kT0 + 5 * 3'600'000);
  f = restarted.due(kT0 + 5 * 3'600'000, {});
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a:resolved", "/b"});
}

TEST_CASE("a restored group whose route changed joins its new group as new") {
  Notifier n(grouped(), {}, {"team"});
  n.observe(alert("/a"), kT0);
  REQUIRE(n.due(kT0 + 30'000, {}).size() == 1);
  Route other = grouped(10s);
  other.group_by = {"route"};
  Notifier changed(other, {}, {"team"});
  changed.restore(n.saveAll(), kT0 + 40'000);
  CHECK(changed.due(kT0 + 49'000, {}).empty());
  auto f = changed.due(kT0 + 50'000, {});  // its new group's group_wait
  REQUIRE(f.size() == 1);
  CHECK(f[0].group.group_key == "0:{route=\"/a\"}");
}

TEST_CASE("an alert muted by a silence goes out at the next group_interval after the silence ends") {
  Notifier n(grouped(0s, 60s), {}, {"team"});
  const std::vector<Silence> silences{{"s1", *parseMatchers({"route=\"/a\""}), {}, kT0, kT0 + 100'000, "ana", "deploy"}};
  n.observe(alert("/a"), kT0);
  CHECK(n.due(kT0, silences).empty());
  CHECK(n.due(kT0 + 60'000, silences).empty());
  CHECK(n.nextWakeMs() > kT0);  // not a busy loop while muted
  auto f = n.due(kT0 + 120'000, silences);  // the silence ended at +100s
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a"});
  CHECK(n.due(kT0 + 180'000, silences).empty());  // sent: no more until repeat_interval
}

TEST_CASE("alerts survive their JSON form") {
  AlertInfo a = alert("/a");
  a.value = 1.5;
  a.threshold = NAN;
  a.evidence = {{"confidence", 0.99}};
  a.annotations = {{"summary", "slow \"checkout\""}};
  a.starts_ms = kT0;
  auto back = alertFromJson(alertToJson(a));
  REQUIRE(back);
  CHECK(back->id == a.id);
  CHECK(back->labels == a.labels);
  CHECK(back->annotations == a.annotations);
  CHECK(back->value == 1.5);
  CHECK(std::isnan(back->threshold));
  CHECK(back->evidence == a.evidence);
  CHECK(back->starts_ms == kT0);
  CHECK_FALSE(alertFromJson("{\"id\": 3}"));
}

TEST_CASE("a refreshed alert (its profile came) is told again at once to the receivers named, and only those") {
  Route root = grouped(0s, 0s, 1min);  // an Alertmanager receiver's timing: at once, resent every minute
  root.receiver = "am";
  Route team;
  team.receiver = "team";
  team.group_by = {"alertname"};
  team.group_wait = 0s;
  team.group_interval = 5min;
  team.repeat_interval = 4h;
  team.continue_matching = true;
  Route am;
  am.receiver = "am";
  root.routes = {team, am};
  finishRoutes(root);
  Notifier n(root, {}, {});
  n.observe(alert("/a"), kT0);
  REQUIRE(n.due(kT0, {}).size() == 2);
  CHECK(n.due(kT0 + 5'000, {}).empty());
  // Refreshing an alert nobody told yet, or for another receiver, changes nothing.
  n.refresh("/b/page", {"am"}, kT0 + 5'000);
  n.refresh("/a/page", {"nobody"}, kT0 + 5'000);
  CHECK(n.due(kT0 + 5'000, {}).empty());
  n.refresh("/a/page", {"am"}, kT0 + 5'000);
  auto f = n.due(kT0 + 5'000, {});
  REQUIRE(f.size() == 1);
  CHECK(f[0].group.receiver == "am");
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a"});
  CHECK(n.due(kT0 + 6'000, {}).empty());
}

TEST_CASE("a first notification waits for the profile being captured, past group_wait, until it is stored") {
  // group_wait 5 s; the capture takes 10 s and is stored 12 s in: the page goes then, with its flame graph.
  Notifier n(grouped(5s), {}, {"team"});
  n.observe(alert("/a"), kT0);
  n.hold("/a/page", kT0 + 20'000);
  CHECK(n.due(kT0 + 5'000, {}).empty());
  CHECK(n.nextWakeMs() == kT0 + 20'000);
  n.release("/a/page");
  CHECK(n.nextWakeMs() == kT0 + 5'000);
  auto f = n.due(kT0 + 12'000, {});
  REQUIRE(f.size() == 1);
  CHECK(routesOf(f[0]) == std::vector<std::string>{"/a"});

  // A capture that never ends: the hold is bounded by its deadline.
  Notifier m(grouped(5s), {}, {"team"});
  m.observe(alert("/b"), kT0);
  m.hold("/b/page", kT0 + 20'000);
  CHECK(m.due(kT0 + 19'999, {}).empty());
  CHECK(m.due(kT0 + 20'000, {}).size() == 1);
  // Once told, an alert is never held again: a later capture's hold does not delay its updates.
  m.hold("/b/page", kT0 + 99'000);
  m.refresh("/b/page", {"team"}, kT0 + 30'000);
  CHECK(m.due(kT0 + 30'000, {}).size() == 1);
}
