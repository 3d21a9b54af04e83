// The terminal client (hotspotd incidents, incident, silence, profiles, hotspots) against a real daemon with basic
// auth: what an on-call types, what a script parses (-o json), the silence round trip, and the errors when the
// credentials are missing or wrong, the daemon is down, --url names something else, or it does not answer.
#include <doctest/doctest.h>

#include <netinet/in.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <regex>

#include "core/file.h"
#include "tests/support/daemon_fixture.h"
#include "tests/support/vendor_receivers.h"

using hotspotd::test::ChildProcess;
using hotspotd::test::eventually;
using hotspotd::test::listenPort;
using hotspotd::test::TempDir;
using hotspotd::test::VendorReceiver;
using hotspotd::test::webhookOnly;
using hotspotd::test::writeConfig;
using namespace std::chrono_literals;
using nlohmann::json;

namespace {

// The client's exit code and everything it printed (standard output and standard error).
ChildProcess::Result client(std::vector<std::string> args, std::vector<std::string> env = {}) {
  args.insert(args.begin(), HOTSPOTD_BINARY);
  ChildProcess p(std::move(args), std::move(env));
  const auto rc = p.wait(30s);
  return {rc.value_or(-1), p.output()};
}

bool has(const ChildProcess::Result& r, const std::string& text) {
  return r.output.find(text) != std::string::npos;
}

json parsed(const ChildProcess::Result& r) {
  return json::parse(r.output, nullptr, false);
}

// A loopback port nothing listens on (bound, then closed).
int closedPort() {
  const int fd = socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  REQUIRE(bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  socklen_t len = sizeof a;
  REQUIRE(getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
  close(fd);
  return ntohs(a.sin_port);
}

}  // namespace

TEST_CASE("the terminal client against a real daemon with basic auth") {
  // A service with a deep queue and a checkout endpoint, profiled by a command that prints folded stacks.
  std::atomic<int> scrapes{0};
  hotspotd::test::HttpTarget target;
  target.server().Get("/metrics", [&](const httplib::Request&, httplib::Response& res) {
    const int n = ++scrapes * 100;
    res.set_content(fmt::format("# TYPE queue_depth gauge\nqueue_depth{{queue=\"q1\"}} 100\n"
                                "# TYPE http_request_duration_seconds histogram\n"
                                "http_request_duration_seconds_bucket{{route=\"/checkout\",le=\"0.1\"}} {}\n"
                                "http_request_duration_seconds_bucket{{route=\"/checkout\",le=\"+Inf\"}} {}\n"
                                "http_request_duration_seconds_sum{{route=\"/checkout\"}} {}\n"
                                "http_request_duration_seconds_count{{route=\"/checkout\"}} {}\n",
                                n - 1, n, n * 0.05, n),
                    "text/plain; version=0.0.4");
  });
  // Under a path prefix (as behind a proxy), an API of another shape than the client reads.
  target.server().Get("/odd/api/v1/incidents", [](const httplib::Request&, httplib::Response& res) {
    res.set_content(R"({"status":"success","data":{"incidents":"none"}})", "application/json");
  });
  target.server().Get("/", [](const httplib::Request&, httplib::Response& res) {
    res.set_content("<html>not hotspotd</html>", "text/html");
  });
  const std::string address = target.start();
  VendorReceiver hook(VendorReceiver::Kind::webhook);
  const std::string hook_url = hook.start();
  TempDir dir;
  const auto config =
      writeConfig(dir, address,
                  webhookOnly(hook_url) +
                      hotspotd::test::foldedProfileTarget(
                          dir, "shop", "shop;main;handle_checkout;Pricing::recalculate 900\nshop;main;render 100\n"),
                  "profile = \"shop\"\n");
  auto hash = ChildProcess::run({HOTSPOTD_BINARY, "hash-password", "--cost", "4"}, "open sesame\n");
  REQUIRE(hash.exit_code == 0);
  std::string text = *hotspotd::readFile(config);
  text.replace(
      text.find("[server]\n"), 9,
      fmt::format("[server]\nbasic_auth_users = {{ ana = \"{}\" }}\n", hash.output.substr(0, hash.output.find('\n'))));
  dir.write("hotspotd.toml", text);
  const std::string auth_file = dir.write("auth", "ana:open sesame\n").string();

  ChildProcess daemon({HOTSPOTD_BINARY, "run", "--config", config.string()});
  const int port = listenPort(daemon);
  const std::string url = "http://127.0.0.1:" + std::to_string(port);
  REQUIRE_MESSAGE(daemon.waitForLine("Profile captured", 30s), daemon.output());
  const std::vector<std::string> as_ana = {"--url", url, "--auth-file", auth_file};
  auto with = [&](std::vector<std::string> args) {
    args.insert(args.end(), as_ana.begin(), as_ana.end());
    return client(std::move(args));
  };

  SUBCASE("without credentials, or with wrong ones, it says so and exits 1") {
    auto none = client({"incidents", "--url", url});
    CHECK(none.exit_code == 1);
    CHECK_MESSAGE((has(none, "HTTP 401") && has(none, "--auth-file")), none.output);
    auto wrong = client({"incidents", "--url", url}, {"HOTSPOTD_AUTH=ana:open sesame?"});
    CHECK(wrong.exit_code == 1);
    CHECK_MESSAGE(has(wrong, "the user or password is wrong"), wrong.output);
    auto env = client({"incidents", "--url", url}, {"HOTSPOTD_AUTH=ana:open sesame"});
    CHECK_MESSAGE(env.exit_code == 0, env.output);
    auto env_file = client({"incidents", "--url", url}, {"HOTSPOTD_AUTH_FILE=" + auth_file});
    CHECK_MESSAGE(env_file.exit_code == 0, env_file.output);
  }

  SUBCASE("incidents: a table for people, the API's data for scripts, filtered by state and labels") {
    auto table = with({"incidents", "--state", "firing"});
    REQUIRE_MESSAGE(table.exit_code == 0, table.output);
    CHECK(table.output.starts_with("ID"));
    CHECK_MESSAGE((has(table, "QueueDeep") && has(table, "firing") && has(table, "queue=\"q1\"")), table.output);
    auto matching = with({"incidents", "-o", "json", "--match", "queue=q1", "--match", "alertname=~\"Queue.*\""});
    REQUIRE_MESSAGE(matching.exit_code == 0, matching.output);
    const json list = parsed(matching);
    REQUIRE_MESSAGE(list.is_array(), matching.output);
    REQUIRE(list.size() == 1);
    CHECK(list[0]["alertname"] == "QueueDeep");
    CHECK(list[0]["labels"]["queue"] == "q1");
    auto other = with({"incidents", "-o", "json", "--match", "queue=q2"});
    CHECK(parsed(other) == json::array());
    auto bad = with({"incidents", "--match", "queue"});
    CHECK(bad.exit_code == 1);
    CHECK_MESSAGE(has(bad, "matcher 'queue'"), bad.output);
    auto bad_state = with({"incidents", "--state", "burning"});
    CHECK(bad_state.exit_code == 2);

    // One incident in full: why it fired, its timeline, its profile and the page sent.
    const std::string id = list[0]["id"];
    REQUIRE(eventually([&] { return !hook.accepted().empty(); }, 20s));
    REQUIRE(eventually([&] { return has(with({"incident", id}), "delivered"); }, 20s));
    auto one = with({"incident", id});
    CHECK(one.exit_code == 0);
    CHECK_MESSAGE((has(one, "QueueDeep") && has(one, "queue q1 at 100") && has(one, "Timeline:") &&
                   has(one, "firing") && has(one, "hook") && has(one, "/incidents/" + id)),
                  one.output);
    auto one_json = parsed(with({"incident", id, "-o", "json"}));
    CHECK(one_json["id"] == id);
    CHECK(one_json["profiles"].size() >= 1);
    auto missing = with({"incident", "abcdef"});
    CHECK(missing.exit_code == 1);
    CHECK_MESSAGE(has(missing, "no incident has id abcdef"), missing.output);
  }

  SUBCASE("silences: add, query, expire") {
    auto no_comment = with({"silence", "add", "alertname=QueueDeep"});
    CHECK(no_comment.exit_code == 1);
    CHECK_MESSAGE(has(no_comment, "--comment"), no_comment.output);
    auto added = with({"silence", "add", "alertname=QueueDeep", "queue=q1", "--duration", "2h", "--comment",
                       "draining q1", "--author", "ana"});
    REQUIRE_MESSAGE(added.exit_code == 0, added.output);
    const std::string silence = added.output.substr(0, added.output.find('\n'));
    CHECK(std::regex_match(silence, std::regex("[A-Za-z0-9-]+")));

    auto query = parsed(with({"silence", "query", "-o", "json", "queue=\"q1\""}));
    REQUIRE_MESSAGE(query.size() == 1, query.dump());
    CHECK(query[0]["id"] == silence);
    CHECK(query[0]["status"]["state"] == "active");
    CHECK(query[0]["createdBy"] == "ana");
    CHECK(query[0]["comment"] == "draining q1");
    const json matchers = {"alertname=\"QueueDeep\"", "queue=\"q1\""};
    CHECK(query[0]["matchers"] == matchers);
    CHECK(parsed(with({"silence", "query", "-o", "json", "queue=q2"})) == json::array());
    auto table = with({"silence", "query"});
    CHECK_MESSAGE((has(table, silence) && has(table, "draining q1")), table.output);

    auto expired = with({"silence", "expire", silence});
    CHECK_MESSAGE(expired.exit_code == 0, expired.output);
    CHECK(parsed(with({"silence", "query", "-o", "json"})) == json::array());
    auto all = parsed(with({"silence", "query", "-o", "json", "--expired"}));
    REQUIRE(all.size() == 1);
    CHECK(all[0]["status"]["state"] == "expired");
    auto unknown = with({"silence", "expire", "no-such-silence"});
    CHECK(unknown.exit_code == 1);
    CHECK_MESSAGE(has(unknown, "no silence has id no-such-silence"), unknown.output);
  }

  SUBCASE("profiles and hotspots") {
    auto profiles = with({"profiles"});
    CHECK(profiles.exit_code == 0);
    CHECK_MESSAGE((has(profiles, "shop") && has(profiles, "Pricing::recalculate (90.0%)")), profiles.output);
    auto profiles_json = parsed(with({"profiles", "-o", "json", "--target", "shop"}));
    REQUIRE(profiles_json.is_array());
    CHECK(profiles_json.size() >= 1);
    CHECK(parsed(with({"profiles", "-o", "json", "--target", "nobody"})) == json::array());
    // The ranking is refreshed every 30 s: wait for the checkout endpoint to be in it.
    REQUIRE_MESSAGE(eventually([&] { return has(with({"hotspots"}), "route=\"/checkout\""); }, 60s), daemon.output());
    auto hot = parsed(with({"hotspots", "-o", "json"}));
    REQUIRE(hot.size() >= 1);
    CHECK(hot[0]["labels"]["route"] == "/checkout");
    auto table = with({"hotspots"});
    CHECK(table.output.starts_with("RANK"));
  }

  SUBCASE("a daemon that is down, something that is not hotspotd, and one that never answers") {
    auto down = client({"incidents", "--url", "http://127.0.0.1:" + std::to_string(closedPort())});
    CHECK(down.exit_code == 1);
    CHECK_MESSAGE((has(down, "cannot reach hotspotd") && has(down, "Connection refused")), down.output);
    auto env_url = client({"hotspots"}, {"HOTSPOTD_URL=http://127.0.0.1:" + std::to_string(closedPort())});
    CHECK(env_url.exit_code == 1);
    CHECK_MESSAGE(has(env_url, "cannot reach hotspotd"), env_url.output);
    auto other = client({"incidents", "--url", "http://" + address});
    CHECK(other.exit_code == 1);
    CHECK_MESSAGE(has(other, "is not hotspotd's API"), other.output);
    auto odd = client({"incidents", "--url", "http://" + address + "/odd/"});
    CHECK(odd.exit_code == 1);
    CHECK_MESSAGE(has(odd, "not what this client reads"), odd.output);
    hotspotd::test::SilentListener silent;
    auto slow = client({"incidents", "--url", "http://" + silent.address(), "--timeout", "1s"});
    CHECK(slow.exit_code == 1);
    CHECK_MESSAGE(has(slow, "did not answer within 1s"), slow.output);
  }

  daemon.signal(SIGTERM);
  CHECK(daemon.wait(20s) == 0);
}
