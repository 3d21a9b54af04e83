// The README's first command ends in `hotspotd demo`: run it as a user would, read what it prints, follow the
// links it prints, press Ctrl-C, and check that nothing it started is left running.
#include <fstream>
#include <iterator>

#include "tests/e2e/e2e.h"
#include "tests/support/components.h"

using namespace hotspotd::test;
using namespace std::chrono_literals;

namespace {

// The value after `label` on the first line of `text` (after `after`) that has it.
std::string valueAfter(const std::string& text, const std::string& label, std::size_t after = 0) {
  const auto at = text.find(label, after);
  if (at == std::string::npos) return {};
  const auto begin = at + label.size();
  return text.substr(begin, text.find('\n', begin) - begin);
}

}  // namespace

TEST_CASE(
    "hotspotd demo: the regression fires, the shop is profiled, the alert arrives with working links; "
    "Ctrl-C stops everything") {
  const std::string no_perf = perfUnavailable();
  TempDir dir;
  const auto work = dir.path() / "demo";
  // --regression-after 62s: as soon as the baseline profile (at 60s) is there.
  ChildProcess demo(
      {HOTSPOTD_BINARY, "demo", "--dir", work.string(), "--listen", "127.0.0.1:0", "--regression-after", "62s"});
  auto webhook = demo.waitForLine("Webhook received: firing", 180s);
  // The alert's lines follow the "Webhook received" line; give them a moment to be printed.
  REQUIRE_MESSAGE(demo.waitForLine("That is the loop", 10s), demo.output());
  const std::string out = demo.output();
  REQUIRE_MESSAGE(webhook, out);
  INFO(out);

  // The story in order: the regression, the incident on /checkout, the alert.
  const auto on = out.find("Regression switched ON");
  const auto firing = out.find("Incident firing: ShopLatencyDrift");
  const auto received = out.find("Webhook received: firing ShopLatencyDrift");
  REQUIRE(on != std::string::npos);
  REQUIRE(firing != std::string::npos);
  CHECK(on < firing);
  CHECK(firing < received);
  CHECK(out.substr(firing, out.find('\n', firing) - firing).find("route=\"/checkout\"") != std::string::npos);
  CHECK(webhook->find("route=\"/checkout\"") != std::string::npos);

  // The links in the alert work: the incident page and, with perf, the flame graph and its diff.
  const std::string incident = valueAfter(out, "incident     ", received);
  REQUIRE(incident.find("/incidents/") != std::string::npos);
  const Fetched page = fetch(incident);
  CHECK(page.status == 200);
  CHECK(page.content_type.find("text/html") != std::string::npos);
  const int daemon_pid = std::stoi(valueAfter(out, "hotspotd (pid "));
  const int shop_pid = std::stoi(valueAfter(out, "Shop (the demo service, pid "));
  if (!no_perf.empty()) {
    MESSAGE("perf cannot run here (" << no_perf << "): the flame graph links are not checked");
  } else {
    CHECK(out.find("Baseline profile of the healthy shop captured") < on);
    const std::string flame = valueAfter(out, "flame graph  http", received);
    const std::string diff = valueAfter(out, "diff         http", received);
    REQUIRE(!flame.empty());
    REQUIRE(!diff.empty());
    const Fetched svg = fetch("http" + flame);
    CHECK(svg.status == 200);
    CHECK(svg.content_type.find("image/svg+xml") != std::string::npos);
    CHECK(svg.body.find("recalculateAll") != std::string::npos);
    const Fetched diff_svg = fetch("http" + diff);
    CHECK(diff_svg.status == 200);
    CHECK(diff_svg.body.find("recalculateAll") != std::string::npos);
    // The frame that grew most against the healthy baseline is the regression's function.
    const std::string grown = valueAfter(out, "grew most    ", received);
    CHECK_MESSAGE(grown.substr(0, grown.find("; ")).find("Pricing::recalculateAll +") != std::string::npos, grown);
    // The files the demo said it wrote are there.
    const std::string written = valueAfter(out, "flame graph  /");
    CHECK(std::filesystem::exists("/" + written));
  }
  CHECK(std::filesystem::exists(work / "hotspotd.toml"));
  CHECK(std::filesystem::exists(work / "rules.toml"));

  // Ctrl-C: everything it started stops, and it says so.
  demo.signal(SIGINT);
  CHECK(demo.wait(30s) == 0);
  CHECK(demo.output().find("Stopped hotspotd, the shop and the webhook receiver") != std::string::npos);
  CHECK_FALSE(processExists(daemon_pid));
  CHECK_FALSE(processExists(shop_pid));
  // The daemon drained on its way out (it was stopped, not killed).
  auto log = std::ifstream(work / "hotspotd.log");
  const std::string daemon_log((std::istreambuf_iterator<char>(log)), std::istreambuf_iterator<char>());
  CHECK(daemon_log.find("Stopped") != std::string::npos);
}

TEST_CASE("hotspotd demo --regression lock: checkouts queue on a lock; the page names the lock, from off-CPU time") {
  const std::string no_perf = perfUnavailable();
  if (!needComponent(no_perf.empty(), "perf (off-CPU capture): " + no_perf)) return;
  TempDir dir;
  const auto work = dir.path() / "demo";
  ChildProcess demo({HOTSPOTD_BINARY, "demo", "--regression", "lock", "--dir", work.string(), "--listen", "127.0.0.1:0",
                     "--regression-after", "62s"});
  // The on-CPU capture explains nothing (the CPU idles while checkouts wait); the wall-clock capture that
  // follows names the lock, and the webhook hears the alert again with that explanation.
  const auto explained = demo.waitForLine("explains     off-CPU", 240s);
  const std::string out = demo.output();
  INFO(out);
  REQUIRE(explained);
  CHECK(out.find("Regression switched ON: every /checkout now takes the stock lock") != std::string::npos);
  const auto received = out.find("Webhook received: firing ShopLatencyDrift");
  REQUIRE(received != std::string::npos);
  // Wait for the webhook's update, which carries the explanation and the off-CPU graph's link.
  const auto update = demo.waitForLine("off-CPU      http", 60s);
  const std::string after = demo.output();
  INFO(after);
  REQUIRE(update);
  const std::string why = valueAfter(after, "explains     off-CPU", after.find("off-CPU      http"));
  // perf names an inlined function without its class: "reserve".
  CHECK(why.find("is lock in") != std::string::npos);
  CHECK(why.find("reserve") != std::string::npos);
  const Fetched offcpu = fetch(update->substr(update->find("http")));
  CHECK(offcpu.status == 200);
  CHECK(offcpu.body.find("reserve") != std::string::npos);
  CHECK(offcpu.body.find("[lock wait]") != std::string::npos);
  demo.signal(SIGINT);
  CHECK(demo.wait(30s) == 0);
}
