#include <doctest/doctest.h>

#include <fstream>
#include <sstream>

#include <fmt/format.h>

#include "daemon/config.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd::daemon;
using hotspotd::test::TempDir;
using namespace std::chrono_literals;

namespace {

hotspotd::Result<Config> parse(std::string_view text) {
  return parseConfig(text, "test.toml", "/etc/hotspotd");
}

std::string errorOf(std::string_view text) {
  auto r = parse(text);
  REQUIRE_FALSE(r);
  return r.error().message;
}

}  // namespace

TEST_CASE("a full valid config is read into every field") {
  auto c = parse(R"(
[server]
listen = "[::1]:9500"
shutdown_timeout = "30s"
[storage]
state_dir = "/srv/hotspotd"
[log]
level = "debug"
format = "json"
)");
  REQUIRE(c);
  CHECK(c->server.listen.host == "::1");
  CHECK(c->server.listen.port == 9500);
  CHECK(c->server.listen.str() == "[::1]:9500");
  CHECK(c->server.shutdown_timeout == 30s);
  CHECK(c->storage.state_dir == "/srv/hotspotd");
  CHECK(c->log.level == hotspotd::log::Level::debug);
  CHECK(c->log.format == hotspotd::log::Format::json);
}

TEST_CASE("an empty config takes every default") {
  auto c = parse("");
  REQUIRE(c);
  CHECK(c->server.listen.str() == "127.0.0.1:9464");
  CHECK(c->server.shutdown_timeout == 10s);
  CHECK(c->log.level == hotspotd::log::Level::info);
  CHECK(c->storage.state_dir == defaultStateDir());
}

TEST_CASE("a relative state directory is taken relative to the config file") {
  auto c = parse("[storage]\nstate_dir = \"state\"\n");
  REQUIRE(c);
  CHECK(c->storage.state_dir == "/etc/hotspotd/state");
}

TEST_CASE("the shipped etc/hotspotd.toml is valid, is the embedded default, and states the defaults") {
  std::ifstream in(HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml");
  std::stringstream text;
  text << in.rdbuf();
  CHECK(text.str() == embeddedDefaultConfig());
  auto shipped = loadConfigFile(HOTSPOTD_SOURCE_DIR "/etc/hotspotd.toml");
  REQUIRE_MESSAGE(shipped, shipped.error().message);
  auto defaults = parse("");
  REQUIRE(defaults);
  CHECK(shipped->server.listen == defaults->server.listen);
  CHECK(shipped->server.shutdown_timeout == defaults->server.shutdown_timeout);
  CHECK(shipped->log.level == defaults->log.level);
  CHECK(shipped->log.format == defaults->log.format);
  CHECK(shipped->store.full_resolution == defaults->store.full_resolution);
  CHECK(shipped->store.retention == defaults->store.retention);
  CHECK(shipped->store.coarse_step == defaults->store.coarse_step);
  CHECK(shipped->store.staleness == defaults->store.staleness);
  CHECK(shipped->scrape.empty());
  CHECK(shipped->profiling.max_concurrent == defaults->profiling.max_concurrent);
  CHECK(shipped->profiling.cpu_budget == defaults->profiling.cpu_budget);
  CHECK(shipped->profiling.baseline_interval == defaults->profiling.baseline_interval);
  CHECK(shipped->profiling.baseline_duration == defaults->profiling.baseline_duration);
  CHECK(shipped->profiling.baseline_frequency == defaults->profiling.baseline_frequency);
  CHECK(shipped->profiling.retention == defaults->profiling.retention);
  CHECK(shipped->profiling.max_profiles == defaults->profiling.max_profiles);
  CHECK(shipped->profiling.max_bytes == defaults->profiling.max_bytes);
  CHECK(shipped->profiling.targets.empty());
  CHECK(shipped->incidents.retention == defaults->incidents.retention);
  CHECK(shipped->incidents.exemplars == defaults->incidents.exemplars);
  CHECK(shipped->alerting.resend_interval == defaults->alerting.resend_interval);
  CHECK(shipped->alerting.history_retention == defaults->alerting.history_retention);
  CHECK(shipped->alerting.retry_min == defaults->alerting.retry_min);
  CHECK(shipped->alerting.retry_max == defaults->alerting.retry_max);
  CHECK(shipped->alerting.receivers.empty());
}

TEST_CASE("[[scrape]] jobs are read with their targets, settings, labels and limits") {
  auto c = parse(R"(
[[scrape]]
job = "api"
targets = ["127.0.0.1:8080", "[::1]:9090"]
file_sd = ["targets/*.json", "/abs/x.json"]
interval = "30s"
timeout = "5s"
scheme = "https"
path = "/admin/metrics"
labels = { team = "payments", env = "prod" }
body_size_limit = "10MB"
sample_limit = 1000
[[scrape]]
job = "db"
targets = ["db:9187"]
)");
  REQUIRE_MESSAGE(c, c.error().message);
  REQUIRE(c->scrape.size() == 2);
  const auto& api = c->scrape[0];
  CHECK(api.job == "api");
  CHECK(api.targets == std::vector<std::string>{"127.0.0.1:8080", "[::1]:9090"});
  CHECK(api.file_sd == std::vector<std::string>{"/etc/hotspotd/targets/*.json", "/abs/x.json"});
  CHECK(api.interval == 30s);
  CHECK(api.timeout == 5s);
  CHECK(api.scheme == "https");
  CHECK(api.path == "/admin/metrics");
  CHECK(api.labels == std::vector<std::pair<std::string, std::string>>{{"env", "prod"}, {"team", "payments"}});
  CHECK(api.limits.body_size == 10'000'000);
  CHECK(api.limits.parse.max_samples == 1000);
  CHECK(c->scrape[1].interval == 15s);
  CHECK(c->scrape[1].limits.body_size == 64u << 20);
}

TEST_CASE("[[scrape]] mistakes are reported with their line and key") {
  CHECK(errorOf("[[scrape]]\ntargets = [\"a:1\"]\n").find("scrape[0].job: missing") != std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\n[[scrape]]\njob = \"a\"\ntargets = [\"b:1\"]\n")
            .find("test.toml:5:7: scrape[1].job: job \"a\" is defined twice") != std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"http://a:1/metrics\"]\n").find("is not host:port") !=
        std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\ninterval = \"10s\"\ntimeout = \"20s\"\n")
            .find("test.toml:5:11: scrape[0].timeout: timeout 20s is longer than the interval 10s") !=
        std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\n").find("no targets") != std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\nlabels = { instance = \"x\" }\n")
            .find("scrape[0].labels.instance: not a label name you can set here") != std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\nbody_size_limit = \"10 parsecs\"\n")
            .find("unknown unit") != std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\nscheme = \"ftp\"\n").find("\"http\" or \"https\"") !=
        std::string::npos);
  CHECK(errorOf("[[scrape]]\njob = \"a\"\ntargets = [\"a:1\"]\nintervall = \"1s\"\n")
            .find("scrape[0].intervall: unknown key") != std::string::npos);
  CHECK(errorOf("scrape = 3\n").find("expected an array of tables ([[scrape]])") != std::string::npos);
}

TEST_CASE("[store] windows must nest") {
  CHECK(errorOf("[store]\nfull_resolution = \"2h\"\nretention = \"1h\"\n").find("store.retention: 1h is shorter") !=
        std::string::npos);
  CHECK(errorOf("[store]\ncoarse_step = \"30m\"\n").find("store.coarse_step: 30m is longer") != std::string::npos);
}

TEST_CASE("[rules] files are loaded and checked with the config; none means the zero-config default") {
  TempDir dir;
  dir.write("rules/slo.toml",
            "[[rules]]\nname = \"Availability\"\nkind = \"burn_rate\"\nerrors = 'x_total{code=\"500\"}'\n"
            "total = 'x_total'\n");
  dir.write("rules/drift.toml", "[[rules]]\nname = \"Drift\"\nkind = \"latency_drift\"\nhistogram = \"x_seconds\"\n");
  const auto config =
      dir.write("hotspotd.toml", "[rules]\nfiles = [\"rules/*.toml\"]\nevaluation_interval = \"30s\"\n");
  auto c = loadConfigFile(config);
  REQUIRE_MESSAGE(c, c.error().message);
  CHECK(c->rules.loaded.size() == 2);
  CHECK(c->rules.evaluation_interval == 30s);
  CHECK(parse("")->rules.loaded.size() == 1);  // the default drift rule

  dir.write("rules/bad.toml", "[[rules]]\nname = \"Bad\"\nkind = \"latency_drift\"\nhistogram = 'x{'\n");
  auto bad = loadConfigFile(config);
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.find("bad.toml:4:13: rules[0].histogram: invalid selector") != std::string::npos);

  const auto missing = dir.write("missing.toml", "[rules]\nfiles = [\"nope.toml\"]\n");
  auto m = loadConfigFile(missing);
  REQUIRE_FALSE(m);
  CHECK(m.error().message.find("rule file " + (dir.path() / "nope.toml").string() + " does not exist") !=
        std::string::npos);
}

TEST_CASE("a syntax error names the file, line and column") {
  const auto e = errorOf("[server]\nlisten = \"127.0.0.1:1\"\nshutdown_timeout = \n");
  CHECK(e.starts_with("test.toml:3:"));
  CHECK(e.find("syntax") != std::string::npos);
}

TEST_CASE("an unknown key names its line and the keys that exist") {
  const auto e = errorOf("[server]\nlisten = \"127.0.0.1:1\"\nlisen = \"x\"\n");
  CHECK(e ==
        "test.toml:3:1: server.lisen: unknown key (known keys in [server]: allowed_hosts, basic_auth_users, "
        "header_timeout, listen, max_connections, max_connections_per_client, request_timeout, "
        "shutdown_timeout, tls_cert_file, tls_key_file)");
}

TEST_CASE("an unknown section is an unknown key at the top") {
  const auto e = errorOf("[servre]\nlisten = \"x\"\n");
  CHECK(e.starts_with("test.toml:1:"));
  CHECK(e.find("servre: unknown key (known keys: alerting, incidents, inhibit_rules, log, profile_targets, profiling, "
               "receivers, route, rules, scrape, server, sources, storage, store)") != std::string::npos);
}

TEST_CASE("a wrong type names the key and the expected type") {
  CHECK(errorOf("[server]\nlisten = 9464\n") == "test.toml:2:10: server.listen: expected a string, got an integer");
  CHECK(errorOf("[log]\nlevel = true\n") == "test.toml:2:9: log.level: expected a string, got a boolean");
  CHECK(errorOf("server = 1\n") == "test.toml:1:10: server: expected a table, got an integer");
}

TEST_CASE("out-of-range and malformed values are errors that say what to write") {
  CHECK(errorOf("[server]\nlisten = \"127.0.0.1:70000\"\n").find("port must be a number from 0 to 65535") !=
        std::string::npos);
  CHECK(errorOf("[server]\nlisten = \"localhost\"\n").find("missing :port") != std::string::npos);
  CHECK(errorOf("[server]\nlisten = \"::1:9464\"\n").find("IPv6 addresses go in brackets") != std::string::npos);
  CHECK(errorOf("[server]\nshutdown_timeout = \"100ms\"\n") ==
        "test.toml:2:20: server.shutdown_timeout: 100ms is too short (at least 1s)");
  CHECK(errorOf("[log]\nlevel = \"verbose\"\n") ==
        "test.toml:2:9: log.level: unknown log level \"verbose\" (use debug, info, warn or error)");
  CHECK(errorOf("[storage]\nstate_dir = \"\"\n").find("storage.state_dir: must not be empty") != std::string::npos);
}

TEST_CASE("every problem in a file is reported, not just the first") {
  const auto e = errorOf("[server]\nlisten = 1\nfoo = 2\n[log]\nformat = \"xml\"\n");
  CHECK(std::count(e.begin(), e.end(), '\n') == 2);
  CHECK(e.find("server.listen") != std::string::npos);
  CHECK(e.find("server.foo") != std::string::npos);
  CHECK(e.find("log.format") != std::string::npos);
}

TEST_CASE("a missing config file says which file and why") {
  TempDir dir;
  auto r = loadConfigFile(dir.path() / "nope.toml");
  REQUIRE_FALSE(r);
  CHECK(
      r.error().message.find("nope.toml: cannot open: No such file or directory (check the path given to --config)") !=
      std::string::npos);
}

TEST_CASE("[profiling] and [[profile_targets]] are read; every way to reach a process; paths relative to the file") {
  auto c = parse(R"(
[profiling]
max_concurrent = 3
cpu_budget = 0.05
baseline_interval = "30m"
baseline_duration = "5s"
baseline_frequency = 19
retention = "3d"
max_profiles = 100
max_bytes = "200MiB"

[[profile_targets]]
name = "shop"
match = '{service="shop", route=~"/api/.*"}'
systemd_unit = "shop.service"
duration = "5s"
max_duration = "40s"
frequency = 199
cooldown = "10m"
max_size = "32MiB"
kinds = "both"
min_block = "5ms"
max_switches = 5000
call_graph = "fp"

[[profile_targets]]
name = "worker"
pid_file = "run/worker.pid"

[[profile_targets]]
name = "go"
pprof_url = "http://127.0.0.1:6060/debug/pprof/profile"

[[profile_targets]]
name = "py"
process_name = "python3"
command = ["py-spy", "record", "--pid", "{pid}", "--duration", "{seconds}", "--format", "raw", "--output", "/dev/stdout"]
)");
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  const auto& p = c->profiling;
  CHECK(p.max_concurrent == 3);
  CHECK(p.cpu_budget == 0.05);
  CHECK(p.baseline_interval == 30min);
  CHECK(p.baseline_frequency == 19);
  CHECK(p.max_bytes == 200u << 20);
  REQUIRE(p.targets.size() == 4);
  CHECK(p.targets[0].process.systemd_unit == "shop.service");
  CHECK(p.targets[0].max_duration == 40s);
  CHECK(p.targets[0].frequency == 199);
  CHECK(p.targets[0].max_size == 32u << 20);
  CHECK(p.targets[0].kinds == "both");
  CHECK(p.targets[0].min_block == 5ms);
  CHECK(p.targets[0].max_switches == 5000);
  CHECK(p.targets[1].kinds == "auto");  // the default
  CHECK(p.targets[0].call_graph == hotspotd::profile::CallGraph::fp);
  CHECK(p.targets[1].call_graph == hotspotd::profile::CallGraph::dwarf);  // the default
  CHECK(p.targets[0].stackFormat() == "perf-fp");
  CHECK(p.targets[1].stackFormat() == "perf-dwarf");
  CHECK(p.targets[2].stackFormat() == "pprof");
  CHECK(p.targets[2].offcpuCapable());  // a Go endpoint's block and mutex profiles
  CHECK_FALSE(p.targets[3].offcpuCapable());
  hotspotd::LabelView shop{{"service", "shop"}, {"route", "/api/cart"}};
  CHECK(p.targets[0].match.matches("", shop));
  CHECK(p.targets[1].process.pid_file == "/etc/hotspotd/run/worker.pid");
  CHECK(p.targets[2].pprof_url == "http://127.0.0.1:6060/debug/pprof/profile");
  CHECK(p.targets[3].command.size() == 10);
}

TEST_CASE("profile target mistakes: no way or two ways to reach the process, a bad URL, a rule naming no target") {
  const std::string e = errorOf(R"(
[[profile_targets]]
name = "a"

[[profile_targets]]
name = "b"
pid = 12
process_name = "x"

[[profile_targets]]
name = "c"
pprof_url = "localhost:6060/debug/pprof/profile"

[[profile_targets]]
name = "d"
pid = 12
kinds = "wall"

[[profile_targets]]
name = "e"
process_name = "python3"
command = ["py-spy", "record", "--pid", "{pid}", "--format", "raw", "--output", "/dev/stdout"]
kinds = "offcpu"

[[profile_targets]]
name = "f"
pid = 12
call_graph = "lbr"

[[profile_targets]]
name = "g"
pprof_url = "http://127.0.0.1:6060/debug/pprof/profile"
call_graph = "dwarf"
)");
  CHECK(e.find("no way to reach the process") != std::string::npos);
  CHECK(e.find("profile_targets[3].kinds: one of \"cpu\", \"offcpu\", \"both\", \"auto\"") != std::string::npos);
  CHECK(e.find("profile_targets[4].kinds: off-CPU capture is perf's or a Go pprof endpoint's") != std::string::npos);
  CHECK(e.find("profile_targets[5].call_graph: \"dwarf\" or \"fp\"") != std::string::npos);
  CHECK(e.find("profile_targets[6].call_graph: call chains are perf's") != std::string::npos);
  CHECK(e.find("give only one of pid") != std::string::npos);
  CHECK(e.find("profile_targets[2].pprof_url: must start with http:// or https://") != std::string::npos);

  TempDir dir;
  dir.write("rules.toml",
            "[[rules]]\nname = \"Slow\"\nkind = \"latency_drift\"\nhistogram = \"h_seconds\"\n"
            "profile = \"nosuch\"\n");
  const auto config = dir.write("hotspotd.toml", "[rules]\nfiles = [\"rules.toml\"]\n");
  auto r = loadConfigFile(config);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("rule \"Slow\" names profile target \"nosuch\", which no [[profile_targets]] defines") !=
        std::string::npos);
}

TEST_CASE("[[receivers]], [route] and [[inhibit_rules]] are read with their defaults, secrets from files") {
  hotspotd::test::TempDir dir;
  dir.write("pd.key", "0123456789abcdef0123456789abcdef\n");
  auto c = hotspotd::daemon::parseConfig(R"(
[alerting]
external_url = "https://hotspotd.example.com/"
resend_interval = "30s"
[[receivers]]
name = "chat"
type = "slack"
url = "https://hooks.slack.com/services/T0/B0/x"
title = "{{ $alertname }} on {{ $labels.route }}"
[[receivers]]
name = "pager"
type = "pagerduty"
routing_key_file = "pd.key"
send_resolved = false
[[receivers]]
name = "am"
type = "alertmanager"
urls = ["http://am1:9093", "http://am2:9093"]
[[receivers]]
name = "hook"
type = "webhook"
url = "http://127.0.0.1:8080/hook"
basic_auth_user = "u"
basic_auth_password = "p"
headers = { X-Team = "shop" }
timeout = "3s"
tls_verify = false
rate_limit = 5
burst = 3
[route]
receiver = "chat"
group_by = ["alertname", "route"]
group_wait = "10s"
[[route.routes]]
receiver = "pager"
matchers = ["severity=\"page\""]
continue = true
[[route.routes.routes]]
receiver = "hook"
matchers = ["team=~\"db|api\""]
[[inhibit_rules]]
source_matchers = ["severity=\"page\""]
target_matchers = ["severity=\"ticket\""]
equal = ["route"]
)",
                                         "test.toml", dir.path());
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  const auto& a = c->alerting;
  CHECK(a.external_url == "https://hotspotd.example.com");
  CHECK(a.resend_interval == std::chrono::seconds(30));
  REQUIRE(a.receivers.size() == 4);
  CHECK(a.receivers[0].rate == 0.9);  // Slack's pace by default, a margin under one a second
  CHECK(a.receivers[0].title == "{{ $alertname }} on {{ $labels.route }}");
  CHECK(a.receivers[1].routing_key == "0123456789abcdef0123456789abcdef");
  CHECK(a.receivers[1].urls == std::vector<std::string>{"https://events.pagerduty.com/v2/enqueue"});
  CHECK(a.receivers[1].rate == 2.0);  // 120 events a minute
  CHECK_FALSE(a.receivers[1].send_resolved);
  CHECK(a.receivers[2].urls.size() == 2);
  CHECK(a.receivers[3].headers == std::vector<std::pair<std::string, std::string>>{{"X-Team", "shop"}});
  CHECK_FALSE(a.receivers[3].verify_tls);
  CHECK(a.receivers[3].timeout == std::chrono::seconds(3));
  CHECK(a.receivers[3].rate == 5.0);
  CHECK(a.route.receiver == "chat");
  CHECK(a.route.group_by == std::vector<std::string>{"alertname", "route"});
  REQUIRE(a.route.routes.size() == 1);
  CHECK(a.route.routes[0].continue_matching);
  REQUIRE(a.route.routes[0].routes.size() == 1);
  CHECK(a.route.routes[0].routes[0].receiver == "hook");
  REQUIRE(a.inhibit_rules.size() == 1);
  CHECK(a.inhibit_rules[0].equal == std::vector<std::string>{"route"});
  // One receiver and no [route]: it gets everything.
  auto one = parse("[[receivers]]\nname = \"hook\"\ntype = \"webhook\"\nurl = \"http://h/\"\n");
  REQUIRE(one);
  CHECK(one->alerting.route.receiver == "hook");
}

TEST_CASE("receiver and route mistakes are reported with their key and what to do") {
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"email\"\nurl = \"http://h/\"\n")
            .find("receivers[0].type: \"email\" is not one of") != std::string::npos);
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"slack\"\n").find("receivers[0].url: missing") !=
        std::string::npos);
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"pagerduty\"\nrouting_key = \"short\"\n").find("32 characters") !=
        std::string::npos);
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"webhook\"\nurl_file = \"/no/such/file\"\n")
            .find("receivers[0].url_file") != std::string::npos);
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"h:1\"\n").find("http://") !=
        std::string::npos);
  CHECK(errorOf("[[receivers]]\nname = \"x\"\ntype = \"webhook\"\nurl = \"http://h/\"\ntitle = \"{{ $nope }}\"\n")
            .find("receivers[0].title") != std::string::npos);
  const std::string two =
      "[[receivers]]\nname = \"a\"\ntype = \"webhook\"\nurl = \"http://h/\"\n"
      "[[receivers]]\nname = \"b\"\ntype = \"webhook\"\nurl = \"http://h/\"\n";
  CHECK(errorOf(two).find("[route]: missing") != std::string::npos);
  CHECK(errorOf(two + "[route]\nreceiver = \"c\"\n").find("route.receiver: no [[receivers]] is named \"c\"") !=
        std::string::npos);
  CHECK(errorOf(two + "[route]\nreceiver = \"a\"\n[[route.routes]]\nreceiver = \"b\"\nmatchers = [\"sev\"]\n")
            .find("route.routes[0].matchers") != std::string::npos);
  CHECK(errorOf(two + "[route]\nreceiver = \"a\"\n[[inhibit_rules]]\nequal = [\"route\"]\n")
            .find("inhibit_rules[0].source_matchers: missing") != std::string::npos);
}

TEST_CASE("[server] TLS and basic auth mistakes are reported") {
  CHECK(errorOf("[server]\ntls_cert_file = \"/etc/hostname\"\n")
            .find("server.tls_cert_file: give both tls_cert_file and tls_key_file") != std::string::npos);
  CHECK(errorOf("[server]\ntls_cert_file = \"/no/cert.pem\"\ntls_key_file = \"/no/key.pem\"\n")
            .find("server.tls_cert_file: cannot read /no/cert.pem") != std::string::npos);
  CHECK(errorOf("[server]\nbasic_auth_users = { ana = \"hunter2\" }\n").find("hotspotd hash-password") !=
        std::string::npos);
  auto c = parse(
      "[server]\nbasic_auth_users = { ana = \"$2b$04$SwLCG0DSCDXR1efE0KjdUuub0tFii46r7KrLGfxIYG/ZnF89pmYje\" }\n");
  REQUIRE(c);
  CHECK(c->server.basic_auth_users.count("ana") == 1);
}

TEST_CASE("[[sources]] are read: the API's base split from its URL, credentials, headers, TLS, step, shard") {
  hotspotd::test::TempDir dir;
  const auto token = dir.write("mimir-token", "t0ken\n");
  auto c = hotspotd::daemon::parseConfig(fmt::format(R"(
[[sources]]
name = "mimir"
url = "https://mimir.example:8443/prometheus/"
bearer_token_file = "{}"
headers = {{ "X-Scope-OrgID" = "team-shop" }}
tls_ca_file = "ca.pem"
timeout = "20s"
step = "30s"
query_offset = "1m"
shard = "1/3"

[[sources]]
name = "local"
kind = "prometheus"
url = "http://[::1]:9090"
basic_auth_username = "hotspotd"
basic_auth_password = "pw"
)",
                                                     token.string()),
                                         "test.toml", "/etc/hotspotd");
  REQUIRE_MESSAGE(c, (c ? "" : c.error().message));
  REQUIRE(c->sources.size() == 2);
  const auto& m = c->sources[0];
  CHECK(m.scheme == "https");
  CHECK(m.host == "mimir.example");
  CHECK(m.port == "8443");
  CHECK(m.base_path == "/prometheus");
  CHECK(m.headers == std::vector<std::pair<std::string, std::string>>{{"X-Scope-OrgID", "team-shop"}});
  CHECK(m.tls_ca_file == "/etc/hotspotd/ca.pem");
  CHECK(m.timeout == std::chrono::seconds(20));
  CHECK(m.step == std::chrono::seconds(30));
  CHECK(m.query_offset == std::chrono::minutes(1));
  CHECK(m.shard.index == 1);
  CHECK(m.shard.count == 3);
  auto headers = hotspotd::ingest::sourceHeaders(m);
  REQUIRE(headers);
  CHECK(headers->back() == std::pair<std::string, std::string>{"Authorization", "Bearer t0ken"});
  const auto& l = c->sources[1];
  CHECK(l.host == "::1");
  CHECK(l.port == "9090");
  CHECK(l.base_path.empty());
  CHECK(l.step == std::chrono::seconds(30));  // the default
  CHECK(l.shard.count == 1);
}

TEST_CASE("[[sources]] mistakes say what to write; a rule naming no source is an error") {
  const std::string e = errorOf(R"(
[[sources]]
name = "a"
url = "http://prometheus:9090/api/v1"

[[sources]]
name = "a"
url = "prometheus:9090"
shard = "3/3"

[[sources]]
name = "c"
url = "http://p:9090"
bearer_token = "x"
basic_auth_username = "u"
step = "1500ms"
headers = { Authorization = "Bearer y" }

[[sources]]
name = "d"
kind = "graphite"
)");
  CHECK(e.find("sources[0].url") != std::string::npos);
  CHECK(e.find("without /api/v1") != std::string::npos);
  CHECK(e.find("source \"a\" is defined twice") != std::string::npos);
  CHECK(e.find("is not a URL") != std::string::npos);
  CHECK(e.find("sources[1].shard") != std::string::npos);
  CHECK(e.find("a bearer token or basic auth, not both") != std::string::npos);
  CHECK(e.find("must be whole seconds") != std::string::npos);
  CHECK(e.find("sources[2].headers.Authorization") != std::string::npos);
  CHECK(e.find("sources[3].kind") != std::string::npos);
  CHECK(e.find("sources[3].url: missing") != std::string::npos);

  hotspotd::test::TempDir dir;
  dir.write("rules.toml",
            "[[rules]]\nname = \"Slow\"\nkind = \"latency_drift\"\nhistogram = \"h_seconds\"\n"
            "source = \"nosuch\"\n");
  const auto config = dir.write("hotspotd.toml", "[rules]\nfiles = [\"rules.toml\"]\n");
  auto r = loadConfigFile(config);
  REQUIRE_FALSE(r);
  CHECK(r.error().message.find("rule \"Slow\" takes its series from source \"nosuch\", which no [[sources]] defines") !=
        std::string::npos);
}
