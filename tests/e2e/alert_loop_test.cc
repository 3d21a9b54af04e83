// The whole loop with real components, nothing simulated but the traffic: the demo service under load, scraped by
// hotspotd; its regression switched on; the drift fires; perf profiles the shop; the page goes to Slack and
// PagerDuty (local stand-ins that check the vendors' schemas) and through a real Alertmanager to its webhook, each
// with links that work; hotspotd is killed with SIGKILL during the incident and comes back without a second page,
// delivering what was pending; the regression is switched off and every receiver hears the resolution.
#include <set>

#include "tests/e2e/e2e.h"
#include "tests/support/components.h"
#include "tests/support/vendor_receivers.h"

using namespace hotspotd::test;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

constexpr const char* kRoutingKey = "R0123456789abcdefghijklmnopqrstu";

// Every string under a "url", "href" or "src" key, anywhere in a JSON document (Slack buttons, PagerDuty links
// and images).
void collectUrls(const json& j, std::set<std::string>& out) {
  if (j.is_object()) {
    for (const auto& [k, v] : j.items()) {
      if ((k == "url" || k == "href" || k == "src") && v.is_string()) out.insert(v.get<std::string>());
      collectUrls(v, out);
    }
  } else if (j.is_array()) {
    for (const auto& v : j) collectUrls(v, out);
  }
}

// The alerts of Alertmanager's webhook messages with this status.
std::vector<json> forwardedAlerts(const VendorReceiver& r, const std::string& status) {
  std::vector<json> out;
  for (const auto& m : r.accepted()) {
    for (const auto& a : m.body["alerts"]) {
      if (a["status"] == status) out.push_back(a);
    }
  }
  return out;
}

int pagerDutyEvents(const VendorReceiver& r, const std::string& action) {
  int n = 0;
  for (const auto& m : r.accepted()) n += m.body["event_action"] == action;
  return n;
}

// The firing/resolved messages Slack took: the header says which.
int slackMessages(const VendorReceiver& r, const std::string& word) {
  int n = 0;
  for (const auto& m : r.accepted()) n += m.body["blocks"][0].dump().find(word) != std::string::npos;
  return n;
}

}  // namespace

TEST_CASE(
    "the demo service's regression pages Slack, PagerDuty and Alertmanager with working flame graph links; "
    "a SIGKILL mid-incident pages no one twice; the resolution reaches everyone") {
  if (!hotspotd::test::needComponent(Alertmanager::installed(),
                                     "prometheus-alertmanager (scripts/bootstrap installs it)")) {
    return;
  }
  const std::string no_perf = perfUnavailable();
  if (!no_perf.empty()) MESSAGE("perf cannot run here (" << no_perf << "): profiles and their links are not checked");

  DemoService shop(60);
  VendorReceiver slack(VendorReceiver::Kind::slack), pager(VendorReceiver::Kind::pagerduty),
      forwarded(VendorReceiver::Kind::webhook);
  const std::string slack_url = slack.start(), pager_url = pager.start(), forwarded_url = forwarded.start();
  TempDir dir;
  Alertmanager am(dir, forwarded_url);
  // Slack is down (500) from the start: its message waits in the outbox across the SIGKILL below.
  slack.outage(VendorReceiver::Answer(500));

  dir.write("rules.toml", R"([[rules]]
name = "ShopLatencyDrift"
kind = "latency_drift"
histogram = 'http_request_duration_seconds{job="shop"}'
by = ["service", "route", "method"]
window = "30s"
baseline = "2m"
min_rate = 1
for = "5s"
keep_firing_for = "20s"
annotations = { summary = "{{ $labels.route }} p99 {{ $value | humanizeDuration }}" }
profile = "shop"
)");
  // One port for both runs of the daemon: the links in messages written before the SIGKILL must still work after.
  const int port = freePort();
  const auto config =
      dir.write("hotspotd.toml",
                configHead(port, dir.path() / "state", "shop", shop.address()) +
                    fmt::format(R"(labels = {{ service = "shop" }}
[profiling]
baseline_duration = "4s"
baseline_frequency = 199
cpu_budget = 0.5
[[profile_targets]]
name = "shop"
pid = {pid}
duration = "4s"
frequency = 199
cooldown = "10m"
[alerting]
resend_interval = "5s"
retry_min = "200ms"
retry_max = "1s"
[[receivers]]
name = "slack"
type = "slack"
url = "{slack}"
[[receivers]]
name = "pagerduty"
type = "pagerduty"
url = "{pager}"
routing_key = "{key}"
[[receivers]]
name = "am"
type = "alertmanager"
url = "{am}"
[route]
receiver = "slack"
group_by = ["alertname", "route"]
group_wait = "8s"
group_interval = "2s"
repeat_interval = "1h"
[[route.routes]]
receiver = "slack"
continue = true
[[route.routes]]
receiver = "pagerduty"
continue = true
[[route.routes]]
receiver = "am"
)",
                                fmt::arg("pid", shop.process.pid()), fmt::arg("slack", slack_url),
                                fmt::arg("pager", pager_url), fmt::arg("key", kRoutingKey), fmt::arg("am", am.url())));
  std::optional<ChildProcess> daemon;
  daemon.emplace(std::vector<std::string>{HOTSPOTD_BINARY, "run", "--config", config.string()});
  REQUIRE(listenPort(*daemon) == port);

  // A healthy baseline first (a minute after start), then the regression.
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto j = getJson(port, "/api/v1/profiles?target=shop");
                        return j && !(*j)["data"]["profiles"].empty();
                      },
                      100s),
                  daemon->output());
  shop.regression(true);

  // The incident fires on /checkout; PagerDuty and Alertmanager (through to its webhook) are paged.
  std::string incident_id;
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        auto j = getJson(port, "/api/v1/incidents?state=firing&match=%7Broute%3D%22/checkout%22%7D");
                        if (!j || (*j)["data"]["incidents"].empty()) return false;
                        incident_id = (*j)["data"]["incidents"][0]["id"];
                        return true;
                      },
                      60s),
                  daemon->output());
  REQUIRE_MESSAGE(
      eventually(
          [&] { return pagerDutyEvents(pager, "trigger") >= 1 && !forwardedAlerts(forwarded, "firing").empty(); }, 60s),
      (daemon->output() + am.process->output()));
  CHECK(pager.violations().empty());
  CHECK(forwarded.violations().empty());
  const json trigger = pager.accepted().front().body;
  CHECK(trigger["dedup_key"] == incident_id);
  CHECK(trigger["payload"]["summary"].get<std::string>().find("/checkout") != std::string::npos);
  const json alert = forwardedAlerts(forwarded, "firing").front();
  CHECK(alert["labels"]["route"] == "/checkout");
  CHECK(alert["labels"]["alertname"] == "ShopLatencyDrift");
  // The links the page carries work: the incident page; with perf, the flame graph and the diff, which show the
  // regression's function.
  const Fetched page = fetch(alert["generatorURL"]);
  CHECK(page.status == 200);
  CHECK(page.body.find("<html") != std::string::npos);
  if (no_perf.empty()) {
    const json& annotations = alert["annotations"];
    REQUIRE_MESSAGE(annotations.contains("flamegraph_url"),
                    (alert.dump() + "\n" + daemon->output() + "\n" +
                     getJson(port, "/api/v1/notifications").value_or(json()).dump()));
    REQUIRE(annotations.contains("flamegraph_diff_url"));
    const std::string context =
        alert.dump() + "\n" + getJson(port, "/api/v1/profiles").value_or(json()).dump() + "\n" + daemon->output();
    INFO(context);
    CHECK(annotations["grown_frames"].get<std::string>().find("Pricing::recalculateAll") != std::string::npos);
    for (const char* key : {"flamegraph_url", "flamegraph_diff_url"}) {
      const Fetched svg = fetch(annotations[key]);
      CHECK_MESSAGE(svg.status == 200, annotations[key]);
      CHECK(svg.content_type.find("image/svg+xml") != std::string::npos);
      CHECK(svg.body.find("recalculateAll") != std::string::npos);
    }
    std::set<std::string> urls;
    collectUrls(trigger, urls);
    CHECK(urls.size() >= 3);  // the flame graph, its diff, the incident
    for (const auto& url : urls) CHECK_MESSAGE(fetch(url).status == 200, url);
    CHECK(trigger["images"][0]["src"].get<std::string>().find(".svg") != std::string::npos);
  }

  // SIGKILL during the incident, while Slack's message is still pending (Slack answered 500 so far).
  REQUIRE(eventually([&] { return slack.requests() >= 1; }, 20s));
  CHECK(slack.accepted().empty());
  daemon->signal(SIGKILL);
  daemon->wait(10s);
  daemon.reset();
  slack.outage(VendorReceiver::Answer(0));  // Slack is back
  daemon.emplace(std::vector<std::string>{HOTSPOTD_BINARY, "run", "--config", config.string()});
  REQUIRE(listenPort(*daemon) == port);

  // The pending Slack message is delivered, once, with its links; the incident goes on under its id.
  REQUIRE_MESSAGE(eventually([&] { return slackMessages(slack, "ShopLatencyDrift") >= 1; }, 30s), daemon->output());
  CHECK(slack.violations().empty());
  if (no_perf.empty()) {
    std::set<std::string> urls;
    collectUrls(slack.accepted().front().body, urls);
    CHECK(std::any_of(urls.begin(), urls.end(), [](const std::string& u) { return u.ends_with(".diff.svg"); }));
    for (const auto& url : urls) CHECK_MESSAGE(fetch(url).status == 200, url);
  }
  std::this_thread::sleep_for(10s);  // long enough for a second page to show up, were one sent
  auto firing = getJson(port, "/api/v1/incidents?state=firing");
  REQUIRE(firing);
  REQUIRE((*firing)["data"]["incidents"].size() >= 1);
  CHECK((*firing)["data"]["incidents"][0]["id"] == incident_id);
  CHECK(pagerDutyEvents(pager, "trigger") == 1);
  CHECK(forwardedAlerts(forwarded, "firing").size() == 1);
  CHECK(slack.accepted().size() == 1);

  // The regression is switched off: the incident resolves and every receiver hears it.
  shop.regression(false);
  REQUIRE_MESSAGE(eventually(
                      [&] {
                        return pagerDutyEvents(pager, "resolve") >= 1 &&
                               !forwardedAlerts(forwarded, "resolved").empty() && slack.accepted().size() >= 2;
                      },
                      150s),
                  (daemon->output() + am.process->output()));
  CHECK(pager.accepted().back().body["dedup_key"] == incident_id);
  CHECK(slackMessages(slack, "FIRING") == 1);
  CHECK(slackMessages(slack, "RESOLVED") == 1);
  CHECK(forwardedAlerts(forwarded, "resolved").front()["labels"]["route"] == "/checkout");
  auto resolved = getJson(port, "/api/v1/incidents/" + incident_id);
  REQUIRE(resolved);
  CHECK((*resolved)["data"]["state"] == "resolved");
  CHECK(pager.violations().empty());
  CHECK(slack.violations().empty());
  CHECK(forwarded.violations().empty());
  daemon->signal(SIGTERM);
  CHECK(daemon->wait(20s) == 0);
}
