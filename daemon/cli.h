// The `hotspotd` command line: subcommands run, check-config and version, each with --help. Called from main();
// returns the process exit code (0 success, 1 failure, 2 usage error).
#pragma once

namespace hotspotd::daemon {

int runCli(int argc, char** argv);

}  // namespace hotspotd::daemon
