#include "ingest/file_sd.h"

#include <glob.h>
#include <sys/stat.h>

#include <set>

#include <fmt/format.h>
#include <nlohmann/json.hpp>

#include "core/text.h"
#include "core/file.h"
#include "ingest/scrape_config.h"

namespace hotspotd::ingest {
namespace {

std::vector<std::string> expand(const std::string& pattern) {
  std::vector<std::string> out;
  glob_t g{};
  if (glob(pattern.c_str(), GLOB_NOSORT, nullptr, &g) == 0) {
    for (std::size_t i = 0; i < g.gl_pathc; ++i) out.emplace_back(g.gl_pathv[i]);
  }
  globfree(&g);
  return out;
}

std::vector<DiscoveredGroup> parseFile(const std::string& path, const std::string& text, std::string& error) {
  std::vector<DiscoveredGroup> out;
  // Every JSON error, not only syntax: a number too large for a double (1e400) is nlohmann's out_of_range.
  nlohmann::json doc;
  try {
    doc = nlohmann::json::parse(text);
  } catch (const nlohmann::json::exception& e) {
    error = fmt::format("{}: not valid JSON: {}", path, e.what());
    return {};
  }
  if (!doc.is_array()) {
    error = fmt::format("{}: expected a JSON array of {{\"targets\": [...], \"labels\": {{...}}}} objects", path);
    return {};
  }
  for (std::size_t i = 0; i < doc.size(); ++i) {
    const auto& entry = doc[i];
    DiscoveredGroup g;
    g.source = path;
    if (!entry.is_object() || !entry.contains("targets") || !entry["targets"].is_array()) {
      error = fmt::format("{}: entry {} needs a \"targets\" array", path, i);
      return {};
    }
    for (const auto& t : entry["targets"]) {
      if (!t.is_string() || !validTargetAddress(t.get<std::string>())) {
        error = fmt::format("{}: entry {}: target {} is not \"host:port\"", path, i, jsonText(t));
        return {};
      }
      g.targets.push_back(t.get<std::string>());
    }
    if (entry.contains("labels")) {
      if (!entry["labels"].is_object()) {
        error = fmt::format("{}: entry {}: \"labels\" must be an object of strings", path, i);
        return {};
      }
      for (const auto& [k, v] : entry["labels"].items()) {
        if (!v.is_string()) {
          error = fmt::format("{}: entry {}: label \"{}\" must be a string", path, i, k);
          return {};
        }
        g.labels.emplace_back(k, v.get<std::string>());
      }
    }
    out.push_back(std::move(g));
  }
  return out;
}

}  // namespace

bool FileSd::refresh(std::vector<std::string>& errors) {
  std::set<std::string> seen;
  bool changed = false;
  for (const auto& pattern : patterns_) {
    for (const auto& path : expand(pattern)) {
      seen.insert(path);
      struct stat st {};
      if (stat(path.c_str(), &st) != 0) continue;
      auto it = files_.find(path);
      if (it != files_.end() && it->second.mtime.tv_sec == st.st_mtim.tv_sec &&
          it->second.mtime.tv_nsec == st.st_mtim.tv_nsec &&
          it->second.size == static_cast<std::uintmax_t>(st.st_size)) {
        continue;
      }
      auto text = readFile(path);
      std::string error;
      auto groups = text ? parseFile(path, *text, error) : std::vector<DiscoveredGroup>{};
      if (!text) error = text.error().message;
      File& f = files_[path];
      f.mtime = st.st_mtim;
      f.size = static_cast<std::uintmax_t>(st.st_size);
      if (!error.empty()) {
        errors.push_back(error + " (keeping its previous targets)");
        continue;
      }
      f.groups = std::move(groups);
      changed = true;
    }
  }
  for (auto it = files_.begin(); it != files_.end();) {
    if (!seen.count(it->first)) {
      it = files_.erase(it);
      changed = true;
    } else {
      ++it;
    }
  }
  return changed;
}

std::vector<DiscoveredGroup> FileSd::groups() const {
  std::vector<DiscoveredGroup> out;
  for (const auto& [path, file] : files_) out.insert(out.end(), file.groups.begin(), file.groups.end());
  return out;
}

}  // namespace hotspotd::ingest
