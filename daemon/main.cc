// hotspotd: find the endpoint whose tail latency drifts, profile the process behind it, page its owner.
#include "daemon/cli.h"

int main(int argc, char** argv) {
  return hotspotd::daemon::runCli(argc, argv);
}
