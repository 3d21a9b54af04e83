#include "daemon/cli.h"

#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <vector>

#include <fmt/format.h>
#include <CLI/CLI.hpp>

#include "core/allocator.h"
#include "core/version.h"
#include "daemon/auth.h"
#include "daemon/config.h"
#include "daemon/lifecycle.h"
#include "tools/client.h"
#include "tools/demo.h"
#include "tools/profile_cli.h"
#include "tools/replay.h"
#include "tools/test_rules.h"

namespace hotspotd::daemon {
namespace {

constexpr const char* kAbout =
    "hotspotd watches the latency and error metrics services export, finds the endpoint whose tail latency drifts "
    "or whose error budget burns, profiles the process behind it, and pages its owner with the flame graph "
    "attached.";

// Every command's usage errors say what is wrong and how to see the options; they exit 2.
int usageError(const std::string& message, const std::string& command) {
  std::fprintf(stderr, "hotspotd: %s\nRun 'hotspotd%s%s --help' for the options.\n", message.c_str(),
               command.empty() ? "" : " ", command.c_str());
  return 2;
}

// A Prometheus duration ("75s", "1h30m") for an option.
CLI::Option* durationOption(CLI::App* app, const std::string& name, Duration& into, const std::string& help) {
  const std::string flag = name.substr(0, name.find(','));
  return app
      ->add_option_function<std::string>(
          name,
          [&into, flag](const std::string& text) {
            auto d = parseDuration(text);
            if (!d) throw CLI::ValidationError(flag, d.error().message);
            into = *d;
          },
          help)
      ->type_name("DUR");
}

// A number within [min, max] (a check with our words, so the message says what to write).
CLI::Validator within(double min, double max, std::string what) {
  return CLI::Validator(
      [min, max, what](std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (text.empty() || *end != '\0' || !(v >= min && v <= max))
          return fmt::format("needs {}, not '{}'", what, text);
        return {};
      },
      "", "");
}

// A command: a one-line summary for `hotspotd --help`, and what it does in full under its own options.
CLI::App* command(CLI::App& app, const std::string& name, const std::string& summary, const std::string& details) {
  CLI::App* c = app.add_subcommand(name, summary);
  c->footer(details + "\n");
  return c;
}

int cmdRun(const std::optional<std::filesystem::path>& path) {
  tuneAllocatorForDaemon();  // before any thread starts
  auto config = path ? loadConfigFile(*path) : loadEmbeddedDefaultConfig();
  if (!config) {
    std::fprintf(stderr, "hotspotd: the configuration is not valid:\n%s\n", config.error().message.c_str());
    return 1;
  }
  Daemon daemon(path.value_or(std::filesystem::path()), std::move(*config));
  return daemon.run();
}

int cmdCheckConfig(const std::filesystem::path& path) {
  auto config = loadConfigFile(path);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  std::printf("%s: configuration is valid\n", path.c_str());
  return 0;
}

std::string versionLine() {
  const BuildInfo& b = buildInfo();
  return fmt::format("hotspotd version {} (revision {}, {} build, {})", b.version, b.revision, b.build_type,
                     b.compiler);
}

int cmdVersion() {
  std::printf("%s\n", versionLine().c_str());
  return 0;
}

int cmdHashPassword(int cost) {
  std::string password;
  if (!std::getline(std::cin, password)) return usageError("no password on standard input", "hash-password");
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto hash = hashPassword(password, cost);
  if (!hash) {
    std::fprintf(stderr, "hotspotd: %s\n", hash.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

// `replay`'s options as given, checked together once parsed.
struct ReplayArgs {
  tools::ReplayOptions options;
  std::optional<std::filesystem::path> config;
  std::string from, to;
};

int cmdReplay(ReplayArgs& a) {
  tools::ReplayOptions& o = a.options;
  auto bad = [](const std::string& message) { return usageError(message, "replay"); };
  if (o.source.empty() && (!a.from.empty() || !a.to.empty())) return bad("--from and --to go with --source");
  if (!o.source.empty()) {
    if (!o.input.empty()) return bad("give --input or --source, not both");
    if (!a.config) return bad("--source needs --config FILE (where [[sources]] is)");
    if (a.from.empty()) return bad("--source needs --from TIME");
    const std::int64_t now = nowUnixMs();
    auto from = tools::parseReplayTime(a.from, now);
    if (!from) return bad("--from: " + from.error().message);
    auto to = a.to.empty() ? Result<std::int64_t>(now) : tools::parseReplayTime(a.to, now);
    if (!to) return bad("--to: " + to.error().message);
    o.from_ms = *from;
    o.to_ms = *to;
    if (o.to_ms < o.from_ms) return bad("--to is before --from");
  } else if (o.input.empty()) {
    return bad("replay needs --input FILE (or --source NAME)");
  }
  if (a.config) {
    auto config = loadConfigFile(*a.config);
    if (!config) {
      std::fprintf(stderr, "hotspotd: the configuration is not valid:\n%s\n", config.error().message.c_str());
      return 1;
    }
    o.store = config->store;
    o.sources = config->sources;
  }
  return tools::runReplay(o);
}

// Every command's options as the parser fills them, and the commands themselves, to tell which one ran.
struct Commands {
  std::optional<std::filesystem::path> run_config;
  std::string check_path;
  ReplayArgs replay_args;
  std::filesystem::path rule_tests;
  tools::FoldOptions fold_options;
  bool fold_all = false;
  tools::FlamegraphOptions graph_options;
  std::string graph_title;
  tools::DiffOptions diff_options;
  std::vector<std::string> diff_files;
  tools::DemoOptions demo_options;
  int cost = 12;
  tools::ClientOptions client;
  tools::IncidentsQuery incidents_query;
  std::string incident_id;
  tools::SilenceAdd silence_add;
  std::vector<std::string> silence_matchers, silence_ids;
  bool silence_expired = false;
  std::string profiles_target, profiles_incident;
  std::size_t list_limit = 100;

  CLI::App* run = nullptr;
  CLI::App* check = nullptr;
  CLI::App* replay = nullptr;
  CLI::App* test_rules = nullptr;
  CLI::App* fold = nullptr;
  CLI::App* flamegraph = nullptr;
  CLI::App* diff = nullptr;
  CLI::App* demo = nullptr;
  CLI::App* hash = nullptr;
  CLI::App* version = nullptr;
  CLI::App* incidents = nullptr;
  CLI::App* incident = nullptr;
  CLI::App* silence = nullptr;
  CLI::App* silence_add_cmd = nullptr;
  CLI::App* silence_query = nullptr;
  CLI::App* silence_expire = nullptr;
  CLI::App* profiles = nullptr;
  CLI::App* hotspots = nullptr;
};

// run: the daemon in the foreground.
void addRun(CLI::App& app, Commands& c) {
  c.run = command(app, "run", "Run the daemon.",
                  "Runs in the foreground until SIGTERM or SIGINT (which drain and exit). SIGHUP, or POST "
                  "/-/reload, reloads the config: all of it or none.");
  c.run
      ->add_option("-c,--config", c.run_config,
                   "Config file (TOML). Without it, the built-in default config: the etc/hotspotd.toml shipped with "
                   "hotspotd.")
      ->type_name("FILE");
}

// check-config: validate a config and exit.
void addCheckConfig(CLI::App& app, Commands& c) {
  c.check = command(app, "check-config", "Validate a config file and its rules, and exit.",
                    "Reports every problem with its file, line and key. Exits 1 if there is any, 0 otherwise.");
  auto* check_option = c.check->add_option("-c,--config", c.check_path, "Config file to check.")->type_name("FILE");
  auto* check_positional =
      c.check->add_option("file", c.check_path, "The config file (instead of --config).")->type_name("FILE");
  check_option->excludes(check_positional);
}

// replay: the rules over a recording or a query source's history.
void addReplay(CLI::App& app, Commands& c) {
  tools::ReplayOptions& ro = c.replay_args.options;
  c.replay = command(
      app, "replay", "Run the rules over a recorded file (or a query source's history).",
      "Feeds a recorded exposition with timestamps (OpenMetrics as promtool tsdb create-blocks-from openmetrics reads "
      "it, or 0.0.4 text with millisecond timestamps; .gz accepted) through the daemon's evaluation engine on a "
      "simulated clock, and write one JSON object per line for every firing and resolved transition: {\"time\", "
      "\"state\", \"alertname\", \"labels\", \"severity\", \"value\", \"threshold\", \"id\", \"evidence\"}. With "
      "--source, run the rules over the history a query source holds instead (a backtest): one evaluation per "
      "source step from --from to --to, fetched as the daemon fetches; evaluations the source could not answer in "
      "full are reported and the exit code is 1.");
  c.replay->add_option("--input", ro.input, "The recording.")->type_name("FILE");
  c.replay->add_option("--source", ro.source, "A [[sources]] entry of --config to read the series from.")
      ->type_name("NAME");
  c.replay
      ->add_option("--from", c.replay_args.from,
                   "With --source: the first evaluation (RFC 3339, unix seconds, now, now-2h).")
      ->type_name("TIME");
  c.replay->add_option("--to", c.replay_args.to, "With --source: the last evaluation (default: now).")
      ->type_name("TIME");
  c.replay
      ->add_option("--rules", ro.rules,
                   "A rule file or a directory of *.toml rule files. Without it: the zero-config default, a "
                   "latency_drift rule on every histogram whose name ends in _seconds.")
      ->type_name("PATH");
  c.replay->add_option("--config", c.replay_args.config, "A config file, for its [store] section and [[sources]].")
      ->type_name("FILE");
  c.replay->add_option("--output", ro.output, "Where the alerts go; - for standard output.")
      ->type_name("FILE")
      ->required();
}

// test-rules: rule unit tests, as promtool test rules.
void addTestRules(CLI::App& app, Commands& c) {
  c.test_rules = command(
      app, "test-rules", "Run unit tests for rules, like promtool test rules.",
      "Runs rule unit tests, as promtool test rules does: FILE (TOML) names rule files and holds tests; each test "
      "feeds input series in promtool's notation (\"0+100x240\", \"_\" for a missing sample, \"_x10\") through "
      "ingest and the evaluation engine on a simulated clock, and checks the alerts firing at given times. Prints "
      "PASS or FAIL per test and a summary; exits 1 if a test failed, 2 if the file is not valid.\n\n"
      R"(A test file:
  rule_files = ["rules.toml"]          # relative to FILE

  [[tests]]
  name = "drift on /a pages"
  interval = "15s"                     # between input samples, and between evaluations

  [[tests.input_series]]
  series = 'http_request_duration_seconds_bucket{route="/a",le="0.1"}'
  values = "0+990x240 237600+900x40"

  [[tests.alerts]]
  at = "65m"
  alertname = "LatencyDrift"
  firing = [{ route = "/a" }]          # the labels of every alert firing then; none: firing = [])");
  c.test_rules->add_option("file", c.rule_tests, "The test file.")->type_name("FILE")->required();
}

// fold: perf script into folded stacks.
void addFold(CLI::App& app, Commands& c) {
  c.fold = command(
      app, "fold", "Fold `perf script` output into stacks (as stackcollapse-perf.pl does).",
      "Folds `perf script` output into stacks, one line per distinct stack: frames root first, joined by ';', then a "
      "space and the sample count (the sum of the samples' periods where perf printed them), sorted, on standard "
      "output: what stackcollapse-perf.pl prints for the same input and options, except that frames of C++ "
      "anonymous namespaces are kept (the Perl script takes them for process names).\n\nFor example:\n  perf record -F "
      "99 -g "
      "-p 1234 -- sleep 30 && perf script | hotspotd fold - > app.folded");
  c.fold->add_option("input", c.fold_options.input, "A file (gzip accepted) or - for standard input.")
      ->type_name("INPUT")
      ->required();
  c.fold->add_flag("--pid", c.fold_options.fold.include_pid, "Root frame: the command and its pid (comm-pid).");
  c.fold->add_flag("--tid", c.fold_options.fold.include_tid, "Root frame: the command, pid and tid (comm-pid/tid).");
  c.fold->add_flag("--kernel", c.fold_options.fold.annotate_kernel, "Mark kernel frames with _[k].");
  c.fold->add_flag("--jit", c.fold_options.fold.annotate_jit, "Mark JIT frames (from /tmp/perf-PID.map) with _[j].");
  c.fold->add_flag("--all", c.fold_all, "Both marks.");
  c.fold->add_flag("--addrs", c.fold_options.fold.include_addrs,
                   "Keep the address of unknown symbols: [module <addr>].");
  c.fold
      ->add_option("--event-filter", c.fold_options.fold.event_filter,
                   "Fold samples of this event type only (default: the first type in the input).")
      ->type_name("EVENT");
  c.fold->add_flag("--offcpu", c.fold_options.offcpu,
                   "Off-CPU time: fold context switches (perf record -e context-switches/period=1/ --switch-events "
                   "--call-graph dwarf, or -e sched:sched_switch -g; then perf script --show-switch-events) into "
                   "the microseconds each stack spent blocked, or waiting for a CPU, until its thread ran again; "
                   "frames marked _[o] (kernel frames _[k]), the leaf frame naming the wait's class.");
  durationOption(c.fold, "--min-block", c.fold_options.min_block,
                 "With --offcpu: leave out waits shorter than this (default 1ms).");
}

// flamegraph: an SVG from folded stacks, perf script or pprof.
void addFlamegraph(CLI::App& app, Commands& c) {
  c.flamegraph = command(
      app, "flamegraph", "Render folded stacks, perf script or pprof as an SVG flame graph.",
      "Renders a flame graph as a standalone SVG file (open it in a browser: hover for samples, click to zoom, Search "
      "to highlight frames by regular expression). INPUT and BASE are folded stacks, `perf script` output (gzip "
      "accepted; - for standard input; with context switches, as `perf script --show-switch-events` prints them, "
      "it is drawn as off-CPU time in microseconds, in blue) or pprof profiles. With --diff, the graph is INPUT's, "
      "each frame coloured by "
      "how its share of samples moved against BASE: red grew, blue shrank.");
  c.flamegraph->add_option("input", c.graph_options.input, "The profile.")->type_name("INPUT")->required();
  c.flamegraph->add_option("--diff", c.graph_options.base, "Differential graph against BASE.")->type_name("BASE");
  c.flamegraph
      ->add_option("--title", c.graph_title, "The title (default: \"Flame Graph\", or \"Differential Flame Graph\").")
      ->type_name("TEXT");
  c.flamegraph->add_option("--width", c.graph_options.graph.width, "Image width (default 1200).")
      ->type_name("PIXELS")
      ->check(within(200, 100000, "a number of pixels from 200 to 100000"));
  c.flamegraph->add_option("-o,--output", c.graph_options.output, "Where to write the SVG (- for standard output).")
      ->type_name("OUT.svg")
      ->required();
}

// diff: the frames that grew between two profiles.
void addDiff(CLI::App& app, Commands& c) {
  c.diff = command(
      app, "diff", "List the frames that grew between two profiles; exit 1 past limits.",
      "Compares two profiles (folded stacks, `perf script` output or pprof; gzip accepted) and list the frames whose "
      "share of samples grew from BASE to NEW, most first: the growth in percentage points, both shares, the "
      "relative growth, what kind of time it is (cpu, allocation/gc, lock wait, syscall/io) and its usual caller. "
      "As a gate in CI it exits 1 when a frame grew past a limit, 0 within them (2 on a usage error).");
  c.diff->add_option("profiles", c.diff_files, "BASE NEW")->type_name("BASE NEW")->expected(2)->required();
  const auto non_negative = within(0, 1e300, "a non-negative number");
  c.diff
      ->add_option("--max-abs", c.diff_options.max_abs,
                   "Fail when a frame grew by more than PP percentage points (10).")
      ->type_name("PP")
      ->check(non_negative);
  c.diff
      ->add_option("--max-rel", c.diff_options.max_rel,
                   "Fail when a frame holding at least --min-share of the samples grew by more than PCT percent of "
                   "its base share (30).")
      ->type_name("PCT")
      ->check(non_negative);
  c.diff->add_option("--min-share", c.diff_options.min_share, "See --max-rel (1).")
      ->type_name("PCT")
      ->check(non_negative);
  c.diff->add_option("--top", c.diff_options.top, "Frames listed (20).")->type_name("N");
}

// demo: the whole loop on a demo service.
void addDemo(CLI::App& app, Commands& c) {
  c.demo = command(
      app, "demo", "Run the whole loop on a demo service: its regression, the page with its profile.",
      "Runs the whole loop on this machine: a demo shop service under load, hotspotd watching it, and a webhook "
      "receiver that prints the alerts. After a healthy baseline profile, the shop's /checkout turns slow (real CPU "
      "work in Pricing::recalculateAll); hotspotd sees the p99 drift, profiles the shop with perf, and the alert "
      "arrives with the flame graph, its diff against the baseline and the frames that grew. Ctrl-C stops "
      "everything it started.");
  c.demo
      ->add_option("--listen", c.demo_options.listen,
                   "hotspotd's address (default 127.0.0.1:9464, or a free port if that one is taken).")
      ->type_name("ADDR");
  c.demo
      ->add_option("--dir", c.demo_options.dir,
                   "Work directory: config, rules, state, profiles, logs (default: a new one in $TMPDIR).")
      ->type_name("DIR");
  c.demo->add_option("--load", c.demo_options.load, "Requests a second the shop drives itself with (default 60).")
      ->type_name("RPS")
      ->check(within(1e-9, 1e9, "a positive number of requests a second"));
  durationOption(c.demo, "--regression-after", c.demo_options.regression_after,
                 "Switch the regression on this long after start, once a baseline exists (default 75s).");
  c.demo
      ->add_option("--regression", c.demo_options.regression,
                   "Which regression: cpu (Pricing::recalculateAll, seen on-CPU) or lock (a stock lock held during a "
                   "slow call, seen off-CPU). Default cpu.")
      ->type_name("KIND")
      ->check(CLI::IsMember({"cpu", "lock"}));
  durationOption(c.demo, "--resolve-after", c.demo_options.resolve_after,
                 "Switch it off again this long after the alert arrived (default: leave it on).");
  c.demo
      ->add_option("--demo-service", c.demo_options.demo_service,
                   "The demo service (default: hotspotd_demo_service beside hotspotd).")
      ->type_name("PATH");
}

// hash-password: a bcrypt hash for basic_auth_users.
void addHashPassword(CLI::App& app, Commands& c) {
  c.hash = command(
      app, "hash-password", "Print the bcrypt hash of a password read from standard input.",
      "Reads one line (the password) from standard input and print its bcrypt hash, for [server] basic_auth_users = "
      "{ alice = \"<the hash>\" }.");
  c.hash->add_option("--cost", c.cost, "bcrypt cost, 4 to 31 (default 12: about a quarter of a second per check).")
      ->type_name("N")
      ->check(within(4, 31, "a cost from 4 to 31"));
}

// The options every client command shares: where the daemon is, how to log in, how to print.
void clientOptions(CLI::App* app, tools::ClientOptions& o) {
  app->add_option("--url", o.url,
                  "The daemon (default: $HOTSPOTD_URL, else http://127.0.0.1:9464).")
      ->type_name("URL");
  app->add_option("--auth-file", o.auth_file,
                  "Basic auth: a file whose first line is user:password (default: $HOTSPOTD_AUTH_FILE, else "
                  "$HOTSPOTD_AUTH=user:password).")
      ->type_name("FILE");
  app->add_option("-o,--output", o.output, "table (for people) or json (the API's data, for scripts).")
      ->type_name("FORMAT")
      ->check(CLI::IsMember({"table", "json"}));
  durationOption(app, "--timeout", o.timeout, "Give up on the daemon after this long (default 10s).");
  app->add_option("--tls-ca-file", o.tls_ca_file, "CA bundle for an https:// daemon with its own CA.")
      ->type_name("FILE");
  app->add_flag("--tls-insecure-skip-verify", o.tls_insecure_skip_verify, "Do not check the daemon's certificate.");
}

constexpr const char* kClientFooter =
    "Talks to a running daemon's API (as amtool does to Alertmanager's). Exits 0 when done, 1 when the daemon "
    "cannot be reached, refuses the credentials or answers an error (said on standard error), 2 on a usage error.";

// incidents, incident, silence, profiles, hotspots: the terminal client.
void addClient(CLI::App& app, Commands& c) {
  c.incidents = command(app, "incidents", "List incidents of a running daemon (newest first).",
                        std::string("Lists incidents: id, state, alert, severity, since when, labels and why it "
                                    "fired.\n\nFor example:\n  hotspotd incidents --state firing --match "
                                    "route=/checkout\n\n") +
                            kClientFooter);
  clientOptions(c.incidents, c.client);
  c.incidents->add_option("--state", c.incidents_query.state, "open (pending or firing), pending, firing or resolved.")
      ->type_name("STATE")
      ->check(CLI::IsMember({"open", "pending", "firing", "resolved"}));
  c.incidents->add_option("--rule", c.incidents_query.rule, "Only this rule's incidents.")->type_name("NAME");
  c.incidents
      ->add_option("-m,--match", c.incidents_query.matchers,
                   "A label matcher (name=value, name!=value, name=~regex, name!~regex; alertname too). Repeat: all "
                   "must hold.")
      ->type_name("MATCHER");
  c.incidents->add_option("--limit", c.incidents_query.limit, "At most N (default 100).")->type_name("N");

  c.incident = command(app, "incident", "Show one incident: evidence, timeline, profiles, notifications.",
                       std::string("Shows everything the daemon holds about one incident.\n\n") + kClientFooter);
  clientOptions(c.incident, c.client);
  c.incident->add_option("id", c.incident_id, "The incident's id (from hotspotd incidents).")
      ->type_name("ID")
      ->required();

  c.silence = command(app, "silence", "Add, query or expire silences of a running daemon.",
                      std::string("Silences mute the notifications of the incidents they match, as Alertmanager's "
                                  "do.\n\n") +
                          kClientFooter);
  c.silence->require_subcommand(1);
  c.silence_add_cmd = c.silence->add_subcommand("add", "Add a silence; prints its id.");
  c.silence_add_cmd->footer(
      "For example:\n  hotspotd silence add alertname=CheckoutSlow route=/checkout --duration 2h --comment 'deploy "
      "rollback under way'\n");
  clientOptions(c.silence_add_cmd, c.client);
  c.silence_add_cmd->add_option("matchers", c.silence_add.matchers, "Label matchers; all must hold.")
      ->type_name("MATCHER...")
      ->required();
  c.silence_add_cmd->add_option("-d,--duration", c.silence_add.duration, "How long (default 1h).")->type_name("DUR");
  c.silence_add_cmd->add_option("--start", c.silence_add.start, "When it starts (RFC 3339; default now).")
      ->type_name("TIME");
  c.silence_add_cmd->add_option("--end", c.silence_add.end, "When it ends (RFC 3339), instead of --duration.")
      ->type_name("TIME");
  c.silence_add_cmd->add_option("-a,--author", c.silence_add.author, "Who adds it (default: $USER).")
      ->type_name("NAME");
  c.silence_add_cmd->add_option("-c,--comment", c.silence_add.comment, "Why (required).")->type_name("TEXT");
  c.silence_query = c.silence->add_subcommand("query", "List silences in effect or pending.");
  c.silence_query->footer("With matchers: only the silences that have all of them.\n");
  clientOptions(c.silence_query, c.client);
  c.silence_query->add_option("matchers", c.silence_matchers, "Label matchers the silences must have.")
      ->type_name("MATCHER...");
  c.silence_query->add_flag("--expired", c.silence_expired, "List the expired ones too.");
  c.silence_expire = c.silence->add_subcommand("expire", "End silences now.");
  clientOptions(c.silence_expire, c.client);
  c.silence_expire->add_option("ids", c.silence_ids, "Silence ids (from hotspotd silence query).")
      ->type_name("ID...")
      ->required();

  c.profiles = command(app, "profiles", "List the profiles a running daemon captured (newest first).",
                       std::string("Lists captured profiles: id, target, kind, incident, when, samples and the top "
                                   "frame. The flame graphs are at /api/v1/profiles/ID.svg.\n\n") +
                           kClientFooter);
  clientOptions(c.profiles, c.client);
  c.profiles->add_option("--target", c.profiles_target, "Only this profile target's.")->type_name("NAME");
  c.profiles->add_option("--incident", c.profiles_incident, "Only this incident's.")->type_name("ID");
  c.profiles->add_option("--limit", c.list_limit, "At most N (default 100).")->type_name("N");

  c.hotspots = command(app, "hotspots", "Rank a running daemon's endpoints by share of server time and drift.",
                       std::string("The hotspot ranking: each endpoint's share of server time, request rate, p50, "
                                   "p99 and drift against its baseline.\n\n") +
                           kClientFooter);
  clientOptions(c.hotspots, c.client);
  c.hotspots->add_option("--limit", c.list_limit, "At most N (default 100).")->type_name("N");
}

// Runs the command the parser found.
int dispatch(Commands& c) {
  if (c.run->parsed()) return cmdRun(c.run_config);
  if (c.check->parsed()) {
    if (c.check_path.empty()) return usageError("check-config needs --config FILE", "check-config");
    return cmdCheckConfig(c.check_path);
  }
  if (c.replay->parsed()) return cmdReplay(c.replay_args);
  if (c.test_rules->parsed()) return tools::runRuleTests(c.rule_tests);
  if (c.fold->parsed()) {
    if (c.fold_all) c.fold_options.fold.annotate_kernel = c.fold_options.fold.annotate_jit = true;
    return tools::runFold(c.fold_options);
  }
  if (c.flamegraph->parsed()) {
    if (!c.graph_title.empty()) {
      c.graph_options.graph.title = c.graph_title;
      c.graph_options.titled = true;
    }
    return tools::runFlamegraph(c.graph_options);
  }
  if (c.diff->parsed()) {
    c.diff_options.base = c.diff_files.at(0);
    c.diff_options.now = c.diff_files.at(1);
    return tools::runDiff(c.diff_options);
  }
  if (c.demo->parsed()) return tools::runDemo(c.demo_options);
  if (c.hash->parsed()) return cmdHashPassword(c.cost);
  if (c.version->parsed()) return cmdVersion();
  if (c.incidents->parsed()) return tools::runIncidents(c.client, c.incidents_query);
  if (c.incident->parsed()) return tools::runIncident(c.client, c.incident_id);
  if (c.silence_add_cmd->parsed()) return tools::runSilenceAdd(c.client, c.silence_add);
  if (c.silence_query->parsed()) return tools::runSilenceQuery(c.client, c.silence_matchers, c.silence_expired);
  if (c.silence_expire->parsed()) return tools::runSilenceExpire(c.client, c.silence_ids);
  if (c.profiles->parsed()) return tools::runProfiles(c.client, c.profiles_target, c.profiles_incident, c.list_limit);
  if (c.hotspots->parsed()) return tools::runHotspots(c.client, c.list_limit);
  return usageError("missing command", "");
}

}  // namespace

int runCli(int argc, char** argv) {
  CLI::App app(kAbout, "hotspotd");
  app.set_help_flag("-h,--help", "Show this help.");
  app.require_subcommand(1);
  app.get_formatter()->column_width(30);
  app.footer("Run 'hotspotd <command> --help' for the options of a command.");
  app.set_version_flag("--version", versionLine, "Print the version and exit.");

  Commands c;
  for (auto add :
       {addRun, addCheckConfig, addReplay, addTestRules, addFold, addFlamegraph, addDiff, addDemo, addHashPassword,
        addClient}) {
    add(app, c);
  }
  c.version = command(app, "version", "Print the version and exit.",
                      "Prints the version, the source revision and the compiler of this build.");

  // Commands are named the way people type them; anything else is not a command.
  if (argc >= 2 && argv[1][0] != '-') {
    const std::string command = argv[1];
    const auto subs = app.get_subcommands([&](const CLI::App* s) { return s->get_name() == command; });
    if (subs.empty()) return usageError(fmt::format("unknown command '{}'", command), "");
  }
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::CallForVersion& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::string command;
    for (const CLI::App* sub : app.get_subcommands()) {
      command = sub->get_name();
      for (const CLI::App* inner : sub->get_subcommands()) command += " " + inner->get_name();
    }
    if (app.get_subcommands().empty() && argc < 2) return usageError("missing command", "");
    return usageError(e.what(), command);
  }

  return dispatch(c);
}

}  // namespace hotspotd::daemon
