#include "core/toml_reader.h"

#include <charconv>
#include <limits>

#include <fmt/format.h>

namespace hotspotd {

void ConfigErrors::add(const toml::source_region& where, std::string_view key, std::string_view message) {
  if (where.begin.line > 0) {
    lines_.push_back(fmt::format("{}:{}:{}: {}: {}", file_, where.begin.line, where.begin.column, key, message));
  } else {
    lines_.push_back(fmt::format("{}: {}: {}", file_, key, message));
  }
}

void ConfigErrors::addFileLevel(std::string_view message) {
  lines_.push_back(fmt::format("{}: {}", file_, message));
}

std::string ConfigErrors::joined() const {
  std::string out;
  for (const auto& line : lines_) {
    if (!out.empty()) out += '\n';
    out += line;
  }
  return out;
}

std::string_view tomlTypeName(const toml::node& node) {
  switch (node.type()) {
    case toml::node_type::table: return "a table";
    case toml::node_type::array: return "an array";
    case toml::node_type::string: return "a string";
    case toml::node_type::integer: return "an integer";
    case toml::node_type::floating_point: return "a float";
    case toml::node_type::boolean: return "a boolean";
    case toml::node_type::date: return "a date";
    case toml::node_type::time: return "a time";
    case toml::node_type::date_time: return "a date-time";
    default: return "nothing";
  }
}

std::optional<toml::table> parseTomlDocument(std::string_view text, ConfigErrors& errors) {
  try {
    return toml::parse(text, errors.file());
  } catch (const toml::parse_error& e) {
    errors.add(e.source(), "syntax", e.description());
    return std::nullopt;
  }
}

TableReader::TableReader(const toml::table& table, std::string path, ConfigErrors& errors)
    : table_(table), path_(std::move(path)), errors_(errors) {}

std::string TableReader::keyPath(std::string_view key) const {
  return path_.empty() ? std::string(key) : fmt::format("{}.{}", path_, key);
}

const toml::node* TableReader::find(std::string_view key) {
  known_.emplace(key);
  return table_.get(key);
}

void TableReader::wrongType(std::string_view key, const toml::node& node, std::string_view expected) {
  errors_.add(node.source(), keyPath(key), fmt::format("expected {}, got {}", expected, tomlTypeName(node)));
}

void TableReader::invalid(std::string_view key, std::string_view message) {
  const toml::node* node = table_.get(key);
  errors_.add(node ? node->source() : table_.source(), keyPath(key), message);
}

std::optional<std::string> TableReader::string(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* v = node->as_string()) return v->get();
  wrongType(key, *node, "a string");
  return std::nullopt;
}

std::optional<std::int64_t> TableReader::integer(std::string_view key, std::int64_t min, std::int64_t max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const auto* v = node->as_integer();
  if (!v) {
    wrongType(key, *node, "an integer");
    return std::nullopt;
  }
  if (v->get() < min || v->get() > max) {
    errors_.add(node->source(), keyPath(key),
                fmt::format("{} is out of range (allowed: {} to {})", v->get(), min, max));
    return std::nullopt;
  }
  return v->get();
}

std::optional<double> TableReader::number(std::string_view key, double min, double max) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  double value = 0;
  if (const auto* f = node->as_floating_point()) {
    value = f->get();
  } else if (const auto* i = node->as_integer()) {
    value = static_cast<double>(i->get());
  } else {
    wrongType(key, *node, "a number");
    return std::nullopt;
  }
  if (!(value >= min && value <= max)) {
    errors_.add(node->source(), keyPath(key), fmt::format("{} is out of range (allowed: {} to {})", value, min, max));
    return std::nullopt;
  }
  return value;
}

std::optional<bool> TableReader::boolean(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  if (const auto* v = node->as_boolean()) return v->get();
  wrongType(key, *node, "a boolean (true or false)");
  return std::nullopt;
}

std::optional<Duration> TableReader::duration(std::string_view key, Duration min) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const auto* v = node->as_string();
  if (!v) {
    wrongType(key, *node, "a duration string such as \"30s\"");
    return std::nullopt;
  }
  auto parsed = parseDuration(v->get());
  if (!parsed) {
    errors_.add(node->source(), keyPath(key), parsed.error().message);
    return std::nullopt;
  }
  if (*parsed < min) {
    errors_.add(node->source(), keyPath(key),
                fmt::format("{} is too short (at least {})", v->get(), formatDuration(min)));
    return std::nullopt;
  }
  return *parsed;
}

std::optional<std::vector<std::string>> TableReader::strings(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return std::nullopt;
  const auto* arr = node->as_array();
  if (!arr) {
    wrongType(key, *node, "an array of strings");
    return std::nullopt;
  }
  std::vector<std::string> out;
  for (std::size_t i = 0; i < arr->size(); ++i) {
    const auto* s = (*arr)[i].as_string();
    if (!s) {
      errors_.add((*arr)[i].source(), fmt::format("{}[{}]", keyPath(key), i),
                  fmt::format("expected a string, got {}", tomlTypeName((*arr)[i])));
      return std::nullopt;
    }
    out.push_back(s->get());
  }
  return out;
}

const toml::table* TableReader::table(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return nullptr;
  if (const auto* t = node->as_table()) return t;
  wrongType(key, *node, "a table");
  return nullptr;
}

const toml::array* TableReader::arrayOfTables(std::string_view key) {
  const toml::node* node = find(key);
  if (!node) return nullptr;
  const auto* arr = node->as_array();
  if (!arr || (!arr->empty() && !arr->is_array_of_tables())) {  // [] is an array of no tables
    wrongType(key, *node, fmt::format("an array of tables ([[{}]])", keyPath(key)));
    return nullptr;
  }
  return arr;
}

void TableReader::rejectUnknownKeys() {
  for (const auto& [key, node] : table_) {
    if (known_.count(key.str())) continue;
    std::string known_list;
    for (const auto& k : known_) {
      if (!known_list.empty()) known_list += ", ";
      known_list += k;
    }
    errors_.add(key.source(), keyPath(key.str()),
                known_list.empty() ? std::string("unknown key (this table takes no keys)")
                                   : fmt::format("unknown key (known keys{}: {})",
                                                 path_.empty() ? "" : " in [" + path_ + "]", known_list));
  }
}

Result<std::size_t> parseByteSize(std::string_view text) {
  std::size_t i = 0;
  while (i < text.size() && text[i] >= '0' && text[i] <= '9') ++i;
  std::uint64_t value = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + i, value);
  if (i == 0 || ec != std::errc() || ptr != text.data() + i) {
    return fail(fmt::format("invalid size \"{}\" (write e.g. 64MiB, 10MB or a number of bytes)", text));
  }
  const std::string_view unit = text.substr(i);
  static const std::pair<std::string_view, std::uint64_t> kUnits[] = {{"", 1},
                                                                      {"B", 1},
                                                                      {"KB", 1000},
                                                                      {"MB", 1000000},
                                                                      {"GB", 1000000000},
                                                                      {"KiB", 1ULL << 10},
                                                                      {"MiB", 1ULL << 20},
                                                                      {"GiB", 1ULL << 30}};
  for (const auto& [name, mult] : kUnits) {
    if (unit == name) {
      if (value > std::numeric_limits<std::uint64_t>::max() / mult)
        return fail(fmt::format("size \"{}\" is too large", text));
      return static_cast<std::size_t>(value * mult);
    }
  }
  return fail(fmt::format("unknown unit in \"{}\" (use B, KB, MB, GB, KiB, MiB or GiB)", text));
}

std::optional<std::uint64_t> TableReader::byteSize(std::string_view key) {
  auto text = string(key);
  if (!text) return std::nullopt;
  auto size = parseByteSize(*text);
  if (!size) {
    invalid(key, size.error().message);
    return std::nullopt;
  }
  return *size;
}

}  // namespace hotspotd
