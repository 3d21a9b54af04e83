// The Prometheus rules that watch hotspotd (etc/prometheus/hotspotd-alerts.yml): promtool accepts them, their unit
// tests pass, and every hotspotd_* and process_* metric they name - in an expression or in a description's advice
// - is one a real daemon exports. The daemon runs in the states that make each family appear: a target down, a
// query source failing, a capture failing, a notification retried and then given up.
#include <doctest/doctest.h>

#include <unistd.h>

#include <fstream>
#include <regex>
#include <set>
#include <sstream>

#include "tests/support/components.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::eventually;
using hotspotd::test::listenPort;
using hotspotd::test::QueueService;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using hotspotd::test::webhookOnly;
using hotspotd::test::writeConfig;
using namespace std::chrono_literals;

namespace {

const std::string kRules = HOTSPOTD_SOURCE_DIR "/etc/prometheus/hotspotd-alerts.yml";
const std::string kRuleTests = HOTSPOTD_SOURCE_DIR "/etc/prometheus/hotspotd-alerts.test.yml";

// Every hotspotd_* and process_* name in the rule file.
std::set<std::string> namesInRules() {
  std::ifstream in(kRules);
  std::stringstream text;
  text << in.rdbuf();
  const std::string s = text.str();
  std::set<std::string> out;
  const std::regex name(R"(\b((hotspotd|process)_[a-z0-9_]+)\b)");
  for (auto it = std::sregex_iterator(s.begin(), s.end(), name); it != std::sregex_iterator(); ++it) {
    out.insert((*it)[1]);
  }
  return out;
}

// The names a scrape of /metrics holds: each family's, and a histogram's _bucket, _sum and _count.
std::set<std::string> exportedNames(int port) {
  httplib::Client c("127.0.0.1", port);
  auto res = c.Get("/metrics");
  std::set<std::string> out;
  if (!res) return out;
  std::istringstream lines(res->body);
  for (std::string line; std::getline(lines, line);) {
    if (!line.starts_with("# TYPE ")) continue;
    std::istringstream words(line.substr(7));
    std::string family, type;
    words >> family >> type;
    out.insert(family);
    if (type == "histogram" || type == "summary") {
      for (const char* suffix : {"_bucket", "_sum", "_count"}) out.insert(family + suffix);
    }
  }
  return out;
}

}  // namespace

TEST_CASE("the self-monitoring rules: promtool checks them and runs their tests") {
  const std::string promtool = hotspotd::test::findProgram("promtool");
  if (!hotspotd::test::needComponent(!promtool.empty(), "promtool (Debian package prometheus; scripts/bootstrap)")) {
    return;
  }
  auto check = ChildProcess::run({promtool, "check", "rules", kRules});
  CHECK_MESSAGE(check.exit_code == 0, check.output);
  CHECK_MESSAGE(check.output.find("SUCCESS: 13 rules found") != std::string::npos, check.output);
  auto tests = ChildProcess::run({promtool, "test", "rules", kRuleTests});
  CHECK_MESSAGE(tests.exit_code == 0, tests.output);
  CHECK_MESSAGE(tests.output.find("SUCCESS") != std::string::npos, tests.output);
}

TEST_CASE("every metric the self-monitoring rules name is one a real daemon exports") {
  const std::set<std::string> wanted = namesInRules();
  REQUIRE(wanted.size() >= 15);

  QueueService service;
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string hook_url = hook.start();
  hook.script({VendorReceiver::Answer(500), VendorReceiver::Answer(400), VendorReceiver::Answer(400)});
  // A query source that refuses every query.
  hotspotd::test::HttpTarget source;
  source.server().Get(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"status":"error","errorType":"bad_data","error":"refused"})", "application/json");
  });
  source.server().Post(".*", [](const httplib::Request&, httplib::Response& res) {
    res.status = 400;
    res.set_content(R"({"status":"error","errorType":"bad_data","error":"refused"})", "application/json");
  });
  const std::string source_address = source.start();

  TempDir dir;
  dir.write("self.pid", std::to_string(getpid()) + "\n");
  const auto config = writeConfig(
      dir, service.address,
      webhookOnly(hook_url) +
          fmt::format("[[profile_targets]]\nname = \"broken\"\npid_file = \"self.pid\"\ncommand = [\"false\"]\n"
                      "duration = \"1s\"\n"
                      "[[scrape]]\njob = \"gone\"\ntargets = [\"127.0.0.1:1\"]\ninterval = \"1s\"\ntimeout = \"1s\"\n"
                      "[[sources]]\nname = \"prom\"\nurl = \"http://{}\"\nstep = \"1s\"\ntimeout = \"2s\"\n"
                      "[store]\nmax_series = 100000\n",
                      source_address),
      "profile = \"broken\"\n\n[[rules]]\nname = \"RemoteQueueDeep\"\nkind = \"threshold\"\ngauge = \"queue_depth\"\n"
      "above = 50\nwindow = \"30s\"\nsource = \"prom\"\n");
  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);

  std::set<std::string> missing;
  const bool all = eventually(
      [&] {
        const auto have = exportedNames(port);
        missing.clear();
        std::set_difference(wanted.begin(), wanted.end(), have.begin(), have.end(),
                            std::inserter(missing, missing.end()));
        return missing.empty();
      },
      40s);
  std::string list;
  for (const auto& m : missing) list += " " + m;
  CHECK_MESSAGE(all, "named in " << kRules << " but not exported:" << list << "\n" << daemon.output());
  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
