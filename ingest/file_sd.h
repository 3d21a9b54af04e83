// Prometheus file-based service discovery: JSON files (paths or globs) holding
// [{"targets": ["host:port", ...], "labels": {"name": "value", ...}}, ...]. refresh() re-reads the files whose
// modification time or size changed; a file that fails to read or parse keeps its last good content (and says
// why), as Prometheus does. Single-threaded: the scrape manager calls it from its timer.
#pragma once

#include <ctime>
#include <map>
#include <string>
#include <utility>
#include <vector>

namespace hotspotd::ingest {

struct DiscoveredGroup {
  std::vector<std::string> targets;
  std::vector<std::pair<std::string, std::string>> labels;  // may include __scheme__ and __metrics_path__
  std::string source;                                       // file it came from
};

class FileSd {
 public:
  explicit FileSd(std::vector<std::string> patterns) : patterns_(std::move(patterns)) {}

  // Returns true if the discovered groups changed. Problems (unreadable file, bad JSON, bad target) are appended
  // to `errors`, one message each.
  bool refresh(std::vector<std::string>& errors);
  std::vector<DiscoveredGroup> groups() const;

 private:
  struct File {
    std::timespec mtime{};
    std::uintmax_t size = 0;
    std::vector<DiscoveredGroup> groups;
  };
  std::vector<std::string> patterns_;
  std::map<std::string, File> files_;
};

}  // namespace hotspotd::ingest
