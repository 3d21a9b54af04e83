// Typed, checked reading of one TOML table, for config and rule files. Every problem becomes one message that
// names the file, line and column, the full key (`server.listen`), what is wrong and what to write instead;
// keys nobody asked for are reported as unknown with the known ones listed. Problems are collected, not thrown,
// so one run of `hotspotd check-config` shows all of them. Single-threaded: one reader per table being parsed.
#pragma once

#include <cstdint>
#include <optional>
#include <set>
#include <string>
#include <string_view>
#include <vector>

#include <toml++/toml.h>

#include "core/duration.h"
#include "core/result.h"

namespace hotspotd {

// The problems found while reading one file.
class ConfigErrors {
 public:
  explicit ConfigErrors(std::string file) : file_(std::move(file)) {}

  void add(const toml::source_region& where, std::string_view key, std::string_view message);
  void addFileLevel(std::string_view message);

  const std::string& file() const { return file_; }
  bool empty() const { return lines_.empty(); }
  const std::vector<std::string>& lines() const { return lines_; }
  std::string joined() const;

 private:
  std::string file_;
  std::vector<std::string> lines_;
};

class TableReader {
 public:
  // `path` is the dotted name of this table ("server", "scrape[2]"), empty for the root.
  TableReader(const toml::table& table, std::string path, ConfigErrors& errors);

  std::optional<std::string> string(std::string_view key);
  std::optional<std::int64_t> integer(std::string_view key, std::int64_t min, std::int64_t max);
  std::optional<double> number(std::string_view key, double min, double max);
  std::optional<bool> boolean(std::string_view key);
  std::optional<Duration> duration(std::string_view key, Duration min = Duration::zero());
  std::optional<std::vector<std::string>> strings(std::string_view key);
  // A size in bytes written as a string ("64MiB", "10MB", "4096").
  std::optional<std::uint64_t> byteSize(std::string_view key);
  const toml::table* table(std::string_view key);
  const toml::array* arrayOfTables(std::string_view key);

  // Reports a value the caller found wrong after reading it (e.g. an address that does not parse).
  void invalid(std::string_view key, std::string_view message);

  // Reports every key that no accessor asked for. Call once, after reading.
  void rejectUnknownKeys();

  std::string keyPath(std::string_view key) const;
  const toml::table& raw() const { return table_; }

 private:
  const toml::node* find(std::string_view key);
  void wrongType(std::string_view key, const toml::node& node, std::string_view expected);

  const toml::table& table_;
  std::string path_;
  ConfigErrors& errors_;
  std::set<std::string, std::less<>> known_;
};

std::string_view tomlTypeName(const toml::node& node);

// "64MiB", "10MB", "1GiB", "4096": a size in bytes (B, KB, MB, GB, KiB, MiB, GiB).
Result<std::size_t> parseByteSize(std::string_view text);

// Parses a TOML document; a syntax error goes to `errors` (with its line and column) and gives nothing.
std::optional<toml::table> parseTomlDocument(std::string_view text, ConfigErrors& errors);

}  // namespace hotspotd
