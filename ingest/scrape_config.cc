#include "ingest/scrape_config.h"

#include <algorithm>
#include <charconv>
#include <filesystem>
#include <limits>
#include <set>

#include <fmt/format.h>

namespace hotspotd::ingest {

bool validTargetAddress(std::string_view address) {
  std::string_view port;
  if (!address.empty() && address.front() == '[') {
    const auto close = address.find(']');
    if (close == std::string_view::npos || close + 1 >= address.size() || address[close + 1] != ':') return false;
    port = address.substr(close + 2);
  } else {
    const auto colon = address.rfind(':');
    if (colon == std::string_view::npos || colon == 0) return false;
    if (address.substr(0, colon).find(':') != std::string_view::npos) return false;
    if (address.find('/') != std::string_view::npos) return false;
    port = address.substr(colon + 1);
  }
  unsigned p = 0;
  const auto [ptr, ec] = std::from_chars(port.data(), port.data() + port.size(), p);
  return !port.empty() && ec == std::errc() && ptr == port.data() + port.size() && p > 0 && p <= 65535;
}

std::vector<ScrapeConfig> readScrapeConfigs(const toml::array& array, const std::string& base_dir,
                                            ConfigErrors& errors) {
  std::vector<ScrapeConfig> out;
  std::set<std::string> jobs;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("scrape[{}]", i), errors);
    ScrapeConfig c;
    if (auto job = r.string("job")) {
      c.job = *job;
      if (c.job.empty()) r.invalid("job", "must not be empty");
      if (!jobs.insert(c.job).second) r.invalid("job", fmt::format("job \"{}\" is defined twice", c.job));
    } else if (!table.contains("job")) {
      errors.add(table.source(), r.keyPath("job"), "missing (every [[scrape]] needs a job name)");
    }
    if (auto targets = r.strings("targets")) {
      for (const auto& t : *targets) {
        if (!validTargetAddress(t)) {
          r.invalid("targets", fmt::format("\"{}\" is not host:port (the scheme and path have keys of their own)", t));
        }
      }
      c.targets = *targets;
    }
    if (auto files = r.strings("file_sd")) {
      for (const auto& f : *files) {
        std::filesystem::path p(f);
        c.file_sd.push_back(p.is_absolute() ? f : (std::filesystem::path(base_dir) / p).lexically_normal().string());
      }
    }
    if (c.targets.empty() && c.file_sd.empty() && table.contains("job")) {
      errors.add(table.source(), r.keyPath("targets"), "no targets: give targets, file_sd, or both");
    }
    if (auto d = r.duration("file_sd_refresh", std::chrono::seconds(1))) c.file_sd_refresh = *d;
    if (auto d = r.duration("interval", std::chrono::seconds(1))) c.interval = *d;
    if (auto d = r.duration("timeout", std::chrono::milliseconds(100))) c.timeout = *d;
    if (c.timeout > c.interval) {
      r.invalid(table.contains("timeout") ? "timeout" : "interval",
                fmt::format("timeout {} is longer than the interval {}", formatDuration(c.timeout),
                            formatDuration(c.interval)));
    }
    if (auto scheme = r.string("scheme")) {
      if (*scheme != "http" && *scheme != "https") r.invalid("scheme", "must be \"http\" or \"https\"");
      c.scheme = *scheme;
    }
    if (auto path = r.string("path")) {
      if (path->empty() || path->front() != '/') r.invalid("path", "must start with '/'");
      c.path = *path;
    }
    if (const toml::table* labels = r.table("labels")) {
      for (const auto& [k, v] : *labels) {
        const std::string name(k.str());
        const auto* value = v.as_string();
        const bool valid_name = !name.empty() && !name.starts_with("__") &&
                                std::all_of(name.begin(), name.end(),
                                            [](char ch) {
                                              return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
                                                     (ch >= '0' && ch <= '9') || ch == '_';
                                            }) &&
                                !(name[0] >= '0' && name[0] <= '9');
        if (!value) {
          errors.add(v.source(), r.keyPath("labels." + name), "label values must be strings");
        } else if (!valid_name || name == "job" || name == "instance") {
          errors.add(k.source(), r.keyPath("labels." + name),
                     "not a label name you can set here (letters, digits and _, not starting with a digit or __; "
                     "job and instance are set by hotspotd)");
        } else {
          c.labels.emplace_back(name, value->get());
        }
      }
      std::sort(c.labels.begin(), c.labels.end());
    }
    if (auto ca = r.string("tls_ca_file")) c.tls_ca_file = *ca;
    if (auto skip = r.boolean("tls_insecure_skip_verify")) c.tls_insecure_skip_verify = *skip;
    if (auto bytes = r.byteSize("body_size_limit")) {
      if (*bytes == 0) r.invalid("body_size_limit", "must be more than 0");
      c.limits.body_size = *bytes;
    }
    if (auto v = r.integer("sample_limit", 1, 100'000'000)) c.limits.parse.max_samples = static_cast<std::size_t>(*v);
    if (auto v = r.integer("label_limit", 1, 1000)) c.limits.parse.max_labels = static_cast<std::size_t>(*v);
    if (auto v = r.integer("label_name_length_limit", 1, 1 << 20)) {
      c.limits.parse.max_label_name_length = static_cast<std::size_t>(*v);
    }
    if (auto v = r.integer("label_value_length_limit", 1, 1 << 24)) {
      c.limits.parse.max_label_value_length = static_cast<std::size_t>(*v);
    }
    r.rejectUnknownKeys();
    out.push_back(std::move(c));
  }
  return out;
}

}  // namespace hotspotd::ingest
