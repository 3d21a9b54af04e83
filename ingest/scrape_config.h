// What a [[scrape]] section of the config says: a job, its static targets and file_sd files, how and how often to
// scrape them, the labels to add, and the per-target limits. Read and validated with the other config sections;
// a plain value the scrape manager compares on reload.
#pragma once

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include "core/duration.h"
#include "core/toml_reader.h"
#include "ingest/text_parser.h"

namespace hotspotd::ingest {

struct ScrapeLimits {
  std::size_t body_size = 64ull << 20;  // decompressed bytes
  ParseLimits parse;
  bool operator==(const ScrapeLimits& o) const {
    return body_size == o.body_size && parse.max_samples == o.parse.max_samples &&
           parse.max_labels == o.parse.max_labels && parse.max_label_name_length == o.parse.max_label_name_length &&
           parse.max_label_value_length == o.parse.max_label_value_length;
  }
};

struct ScrapeConfig {
  std::string job;
  std::vector<std::string> targets;  // host:port
  std::vector<std::string> file_sd;  // file paths or globs of Prometheus file_sd JSON files
  Duration file_sd_refresh = std::chrono::seconds(30);
  Duration interval = std::chrono::seconds(15);
  Duration timeout = std::chrono::seconds(10);
  std::string scheme = "http";
  std::string path = "/metrics";
  std::vector<std::pair<std::string, std::string>> labels;  // sorted by name
  std::string tls_ca_file;
  bool tls_insecure_skip_verify = false;
  ScrapeLimits limits;

  bool operator==(const ScrapeConfig&) const = default;
};

// Reads the [[scrape]] array (each entry checked; problems go to `errors`). Relative file_sd paths resolve against
// `base_dir`.
std::vector<ScrapeConfig> readScrapeConfigs(const toml::array& array, const std::string& base_dir,
                                            ConfigErrors& errors);

// A target address "host:port" or "[v6]:port"; true if well formed.
bool validTargetAddress(std::string_view address);

}  // namespace hotspotd::ingest
