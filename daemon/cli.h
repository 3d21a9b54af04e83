// The `hotspotd` command line (CLI11): run, check-config, replay, test-rules, fold, flamegraph, diff, demo,
// hash-password and version, each with --help. Parses and checks the options, then hands plain option values to the
// daemon or to the offline commands. Called from main(); returns the process exit code (0 success, 1 failure, 2
// usage error).
#pragma once

namespace hotspotd::daemon {

int runCli(int argc, char** argv);

}  // namespace hotspotd::daemon
