// The `hotspotd` command line: run, check-config, replay, test-rules, fold, flamegraph, diff and version, each
// with --help. Called from main();
// returns the process exit code (0 success, 1 failure, 2 usage error).
#pragma once

#include <string_view>

namespace hotspotd::daemon {

int runCli(int argc, char** argv);

// Prints "hotspotd: <message>" and the command's usage to standard error; returns 2, the usage-error exit code.
int usageError(std::string_view message, std::string_view usage);

}  // namespace hotspotd::daemon
