#include "daemon/cli.h"

#include <charconv>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <fmt/format.h>

#include "core/version.h"
#include "daemon/auth.h"
#include "daemon/config.h"
#include "daemon/demo.h"
#include "daemon/lifecycle.h"
#include "daemon/profile_cli.h"
#include "daemon/replay.h"
#include "daemon/test_rules.h"

namespace hotspotd::daemon {
namespace {

constexpr std::string_view kUsage = R"(Usage: hotspotd <command> [options]

hotspotd watches the latency and error metrics services export, finds the endpoint whose tail latency drifts or
whose error budget burns, profiles the process behind it, and pages its owner with the flame graph attached.

Commands:
  run            Run the daemon.
  demo           Run the whole loop on this machine: a demo service, its regression, the alert with its profile.
  check-config   Validate a config file and exit.
  replay         Run the detectors over a recorded file and write the alerts they raise.
  test-rules     Run unit tests for rules (input series and the alerts expected to fire).
  fold           Fold `perf script` output into stacks (as stackcollapse-perf.pl does).
  flamegraph     Render folded stacks or `perf script` output as an interactive SVG flame graph.
  diff           List the frames that grew between two profiles; exit 1 past limits (a CI gate).
  hash-password  Read a password from standard input, print its bcrypt hash (for [server] basic_auth_users).
  version        Print the version and exit.

Run 'hotspotd <command> --help' for the options of a command.
)";

constexpr std::string_view kRunUsage = R"(Usage: hotspotd run [--config FILE]

Runs the daemon in the foreground until SIGTERM or SIGINT. SIGHUP (or POST /-/reload) reloads the config.

Options:
  --config FILE   Config file (TOML). Without it, the built-in default config is used, which is the
                  etc/hotspotd.toml shipped with hotspotd.
  -h, --help      Show this help.
)";

constexpr std::string_view kCheckUsage = R"(Usage: hotspotd check-config --config FILE

Parses and validates a config file, reports every problem with its file, line and key, and exits 1 if there is
any, 0 otherwise.

Options:
  --config FILE   Config file to check (may also be given as the only argument).
  -h, --help      Show this help.
)";

constexpr std::string_view kReplayUsage =
    R"(Usage: hotspotd replay --input FILE [--rules FILE|DIR] [--config FILE] --output FILE
       hotspotd replay --source NAME --config FILE --from TIME --to TIME [--rules FILE|DIR] --output FILE

Feeds a recorded exposition with timestamps (OpenMetrics as promtool tsdb create-blocks-from openmetrics reads
it, or 0.0.4 text with millisecond timestamps; .gz accepted) through the detectors on a simulated clock, one
evaluation per recorded scrape, and writes one JSON object per line for every firing and resolved transition:
{"time": <unix seconds>, "state": "firing"|"resolved", "alertname": ..., "labels": {...}, "severity": ...,
 "value": ..., "threshold": ..., "id": ..., "evidence": {...}}.

With --source, the rules are run over the history a query source holds instead (a backtest): one evaluation per
source step from --from to --to, every rule taking its series from the source as the daemon fetches them (a first
round reaching back as far as the rules read, then the new steps at each evaluation). Evaluations the source could
not answer in full are reported and not judged; the exit code is then 1.

Options:
  --input FILE    The recording.
  --source NAME   A [[sources]] entry of --config to read the series from, instead of --input.
  --from TIME     With --source: the first evaluation (RFC 3339, unix seconds, now, or now-2h).
  --to TIME       With --source: the last evaluation (default: now).
  --rules PATH    A rule file or a directory of *.toml rule files. Without it: the zero-config default, a
                  latency_drift rule on every histogram whose name ends in _seconds.
  --config FILE   A config file, for its [store] section (and [[sources]]).
  --output FILE   Where the alerts go; - for standard output.
  -h, --help      Show this help.
)";

constexpr std::string_view kTestRulesUsage = R"(Usage: hotspotd test-rules FILE

Runs rule unit tests, as promtool test rules does for Prometheus: FILE (TOML) names rule files and holds tests.
Each test feeds input series, written in promtool's notation ("0+100x240" is 0, 100, ... 24000; "_" is a missing
sample; "_x10" ten of them), through ingest, the detectors and the incident tracker on a simulated clock, and
checks the alerts firing at given times. Prints PASS or FAIL per test and a summary; exits 1 if a test failed,
2 if the file is not valid.

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
  firing = [{ route = "/a" }]          # the labels of every alert firing then; none: firing = []

Options:
  -h, --help      Show this help.
)";

constexpr std::string_view kHashUsage = R"(Usage: hotspotd hash-password [--cost N] < password

Reads one line (the password) from standard input and prints its bcrypt hash, for
  [server]
  basic_auth_users = { alice = "<the hash>" }

Options:
  --cost N        bcrypt cost, 4 to 31 (default 12: about a quarter of a second per check, remembered after a
                  successful login).
  -h, --help      Show this help.
)";

int cmdHashPassword(const std::vector<std::string_view>& args) {
  int cost = 12;
  for (std::size_t i = 0; i < args.size(); ++i) {
    if (args[i] == "-h" || args[i] == "--help") return std::fputs(kHashUsage.data(), stdout), 0;
    if (args[i] == "--cost" && i + 1 < args.size()) {
      const std::string_view v = args[++i];
      const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), cost);
      if (ec != std::errc() || ptr != v.data() + v.size()) return usageError("--cost needs a number", kHashUsage);
      continue;
    }
    return usageError(fmt::format("unknown option '{}'", args[i]), kHashUsage);
  }
  std::string password;
  if (!std::getline(std::cin, password)) return usageError("no password on standard input", kHashUsage);
  if (!password.empty() && password.back() == '\r') password.pop_back();
  auto hash = hashPassword(password, cost);
  if (!hash) {
    std::fprintf(stderr, "hotspotd: %s\n", hash.error().message.c_str());
    return 1;
  }
  std::printf("%s\n", hash->c_str());
  return 0;
}

constexpr std::string_view kVersionUsage = R"(Usage: hotspotd version

Prints the version, the source revision and the compiler of this build.
)";

struct Args {
  std::optional<std::filesystem::path> config;
  bool help = false;
};

// Parses the options of one subcommand. Returns an exit code on a usage error.
std::optional<int> parseArgs(const std::vector<std::string_view>& argv, bool takes_config, bool positional_config,
                             std::string_view usage, Args& out) {
  for (std::size_t i = 0; i < argv.size(); ++i) {
    const std::string_view arg = argv[i];
    if (arg == "-h" || arg == "--help") {
      out.help = true;
    } else if (takes_config && (arg == "--config" || arg == "-c")) {
      if (i + 1 >= argv.size()) return usageError("--config needs a file name", usage);
      out.config = std::filesystem::path(argv[++i]);
    } else if (takes_config && arg.starts_with("--config=")) {
      out.config = std::filesystem::path(arg.substr(9));
    } else if (positional_config && !arg.starts_with("-") && !out.config) {
      out.config = std::filesystem::path(arg);
    } else {
      return usageError(fmt::format("unknown option '{}'", arg), usage);
    }
  }
  return std::nullopt;
}

int cmdRun(const Args& args) {
  auto config = args.config ? loadConfigFile(*args.config) : loadEmbeddedDefaultConfig();
  if (!config) {
    std::fprintf(stderr, "hotspotd: the configuration is not valid:\n%s\n", config.error().message.c_str());
    return 1;
  }
  Daemon daemon(args.config.value_or(std::filesystem::path()), std::move(*config));
  return daemon.run();
}

int cmdCheckConfig(const Args& args) {
  auto config = loadConfigFile(*args.config);
  if (!config) {
    std::fprintf(stderr, "%s\n", config.error().message.c_str());
    return 1;
  }
  std::printf("%s: configuration is valid\n", args.config->c_str());
  return 0;
}

int cmdVersion() {
  const BuildInfo& b = buildInfo();
  std::printf("hotspotd version %.*s (revision %.*s, %.*s build, %.*s)\n", static_cast<int>(b.version.size()),
              b.version.data(), static_cast<int>(b.revision.size()), b.revision.data(),
              static_cast<int>(b.build_type.size()), b.build_type.data(), static_cast<int>(b.compiler.size()),
              b.compiler.data());
  return 0;
}

}  // namespace

int usageError(std::string_view message, std::string_view usage) {
  std::fprintf(stderr, "hotspotd: %.*s\n\n%.*s", static_cast<int>(message.size()), message.data(),
               static_cast<int>(usage.size()), usage.data());
  return 2;
}

int runCli(int argc, char** argv) {
  std::vector<std::string_view> args(argv + 1, argv + argc);
  if (args.empty()) return usageError("missing command", kUsage);
  const std::string_view command = args.front();
  args.erase(args.begin());

  if (command == "-h" || command == "--help" || command == "help") {
    std::fputs(kUsage.data(), stdout);
    return 0;
  }
  if (command == "--version") return cmdVersion();

  Args parsed;
  if (command == "run") {
    if (auto rc = parseArgs(args, true, false, kRunUsage, parsed)) return *rc;
    if (parsed.help) return std::fputs(kRunUsage.data(), stdout), 0;
    return cmdRun(parsed);
  }
  if (command == "demo") return cmdDemo(args);
  if (command == "check-config") {
    if (auto rc = parseArgs(args, true, true, kCheckUsage, parsed)) return *rc;
    if (parsed.help) return std::fputs(kCheckUsage.data(), stdout), 0;
    if (!parsed.config) return usageError("check-config needs --config FILE", kCheckUsage);
    return cmdCheckConfig(parsed);
  }
  if (command == "replay") {
    ReplayOptions options;
    std::optional<std::int64_t> from, to;
    bool help = false;
    for (std::size_t i = 0; i < args.size(); ++i) {
      const std::string_view arg = args[i];
      auto value = [&]() -> std::optional<std::string_view> {
        if (i + 1 >= args.size()) return std::nullopt;
        return args[++i];
      };
      if (arg == "-h" || arg == "--help") {
        help = true;
      } else if (arg == "--input" || arg == "--rules" || arg == "--config" || arg == "--output" || arg == "--source" ||
                 arg == "--from" || arg == "--to") {
        auto v = value();
        if (!v) return usageError(fmt::format("{} needs a value", arg), kReplayUsage);
        if (arg == "--input") options.input = *v;
        if (arg == "--source") options.source = *v;
        if (arg == "--from" || arg == "--to") {
          auto t = parseReplayTime(*v, nowUnixMs());
          if (!t) return usageError(fmt::format("{}: {}", arg, t.error().message), kReplayUsage);
          (arg == "--from" ? from : to) = *t;
        }
        if (arg == "--rules") options.rules = std::filesystem::path(*v);
        if (arg == "--config") options.config = std::filesystem::path(*v);
        if (arg == "--output") options.output = *v;
      } else {
        return usageError(fmt::format("unknown option '{}'", arg), kReplayUsage);
      }
    }
    if (help) return std::fputs(kReplayUsage.data(), stdout), 0;
    if (options.source.empty() && (from || to)) {
      return usageError("--from and --to go with --source", kReplayUsage);
    }
    if (!options.source.empty()) {
      if (!options.input.empty()) return usageError("give --input or --source, not both", kReplayUsage);
      if (!options.config) return usageError("--source needs --config FILE (where [[sources]] is)", kReplayUsage);
      if (!from) return usageError("--source needs --from TIME", kReplayUsage);
      options.from_ms = *from;
      options.to_ms = to.value_or(nowUnixMs());
      if (options.to_ms < options.from_ms) return usageError("--to is before --from", kReplayUsage);
    } else if (options.input.empty()) {
      return usageError("replay needs --input FILE (or --source NAME)", kReplayUsage);
    }
    if (options.output.empty())
      return usageError("replay needs --output FILE (or - for standard output)", kReplayUsage);
    return runReplay(options);
  }
  if (command == "test-rules") {
    if (args.size() == 1 && (args[0] == "-h" || args[0] == "--help"))
      return std::fputs(kTestRulesUsage.data(), stdout), 0;
    if (args.size() != 1 || args[0].starts_with("-"))
      return usageError("test-rules needs one test file", kTestRulesUsage);
    return runRuleTests(std::filesystem::path(args[0]));
  }
  if (command == "fold") return runFold(args);
  if (command == "flamegraph") return runFlamegraph(args);
  if (command == "diff") return runDiff(args);
  if (command == "hash-password") return cmdHashPassword(args);
  if (command == "version") {
    if (auto rc = parseArgs(args, false, false, kVersionUsage, parsed)) return *rc;
    if (parsed.help) return std::fputs(kVersionUsage.data(), stdout), 0;
    return cmdVersion();
  }
  return usageError(fmt::format("unknown command '{}'", command), kUsage);
}

}  // namespace hotspotd::daemon
