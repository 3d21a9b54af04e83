#include "ingest/text_parser.h"

#include <algorithm>
#include <array>
#include <charconv>
#include <cmath>
#include <cstring>
#include <limits>

#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include <fmt/format.h>

namespace hotspotd::ingest {
namespace {

// Where the '}' closing a label set is, from p (just after its '{'), stepping over quoted values (which may hold
// '}' and escaped quotes); line.size() if there is none, with `quoted` set when a value is left open. Sixteen bytes
// at a time: most of a line is names and values with nothing to look at.
std::size_t closingBrace(std::string_view line, std::size_t p, bool& quoted) {
  const char* data = line.data();
  const std::size_t n = line.size();
  quoted = false;
  while (p < n) {
#if defined(__SSE2__)
    if (n - p >= 16) {
      const __m128i block = _mm_loadu_si128(reinterpret_cast<const __m128i*>(data + p));
      const __m128i hits = _mm_or_si128(
          _mm_or_si128(_mm_cmpeq_epi8(block, _mm_set1_epi8('"')), _mm_cmpeq_epi8(block, _mm_set1_epi8('}'))),
          _mm_cmpeq_epi8(block, _mm_set1_epi8('\\')));
      const auto mask = static_cast<unsigned>(_mm_movemask_epi8(hits));
      if (mask == 0) {
        p += 16;
        continue;
      }
      p += static_cast<std::size_t>(__builtin_ctz(mask));
    }
#endif
    const char c = data[p];
    if (quoted) {
      if (c == '\\') {
        p += 2;  // the escaped character, whatever it is
        continue;
      }
      if (c == '"') quoted = false;
    } else if (c == '"') {
      quoted = true;
    } else if (c == '}') {
      return p;
    }
    ++p;
  }
  return n;
}

enum CharClass : std::uint8_t { kNameStart = 1, kNameChar = 2, kLabelStart = 4, kLabelChar = 8, kSpace = 16 };

constexpr std::array<std::uint8_t, 256> makeClasses() {
  std::array<std::uint8_t, 256> t{};
  for (int c = 0; c < 256; ++c) {
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    std::uint8_t v = 0;
    if (alpha || c == ':') v |= kNameStart | kNameChar;
    if (digit) v |= kNameChar | kLabelChar;
    if (alpha) v |= kLabelStart | kLabelChar;
    if (c == ' ' || c == '\t') v |= kSpace;
    t[static_cast<std::size_t>(c)] = v;
  }
  return t;
}
constexpr std::array<std::uint8_t, 256> kClasses = makeClasses();

inline bool is(char c, std::uint8_t cls) {
  return (kClasses[static_cast<unsigned char>(c)] & cls) != 0;
}

inline void skipSpaces(std::string_view s, std::size_t& p) {
  while (p < s.size() && is(s[p], kSpace)) ++p;
}

std::optional<MetricType> parseType(std::string_view token, ExpositionFormat format) {
  if (token == "counter") return MetricType::counter;
  if (token == "gauge") return MetricType::gauge;
  if (token == "histogram") return MetricType::histogram;
  if (token == "summary") return MetricType::summary;
  if (format == ExpositionFormat::prometheus_text) {
    if (token == "untyped") return MetricType::unknown;
    return std::nullopt;
  }
  if (token == "unknown") return MetricType::unknown;
  if (token == "gaugehistogram") return MetricType::gaugehistogram;
  if (token == "info") return MetricType::info;
  if (token == "stateset") return MetricType::stateset;
  return std::nullopt;
}

// The part of a family a sample with this suffix is, or nothing if the suffix does not belong to the type.
std::optional<SampleKind> kindOf(MetricType type, std::string_view suffix) {
  switch (type) {
    case MetricType::counter:
      if (suffix == "_total") return SampleKind::total;
      if (suffix == "_created") return SampleKind::created;
      if (suffix.empty()) return SampleKind::value;  // 0.0.4 writes `# TYPE x_total counter` / `x_total 3`
      return std::nullopt;
    case MetricType::histogram:
      if (suffix == "_bucket") return SampleKind::bucket;
      if (suffix == "_sum") return SampleKind::sum;
      if (suffix == "_count") return SampleKind::count;
      if (suffix == "_created") return SampleKind::created;
      return std::nullopt;
    case MetricType::gaugehistogram:
      if (suffix == "_bucket") return SampleKind::bucket;
      if (suffix == "_gsum") return SampleKind::gsum;
      if (suffix == "_gcount") return SampleKind::gcount;
      return std::nullopt;
    case MetricType::summary:
      if (suffix.empty()) return SampleKind::value;
      if (suffix == "_sum") return SampleKind::sum;
      if (suffix == "_count") return SampleKind::count;
      if (suffix == "_created") return SampleKind::created;
      return std::nullopt;
    case MetricType::info:
      if (suffix == "_info") return SampleKind::info;
      return std::nullopt;
    case MetricType::gauge:
    case MetricType::stateset:
    case MetricType::unknown:
      if (suffix.empty()) return SampleKind::value;
      return std::nullopt;
  }
  return std::nullopt;
}

bool isKnownSuffix(std::string_view suffix) {
  return suffix.empty() || suffix == "_total" || suffix == "_created" || suffix == "_bucket" || suffix == "_sum" ||
         suffix == "_count" || suffix == "_gsum" || suffix == "_gcount" || suffix == "_info";
}

std::size_t countRunes(std::string_view s) {
  std::size_t n = 0;
  for (char c : s) n += (static_cast<unsigned char>(c) & 0xC0) != 0x80 ? 1 : 0;
  return n;
}

int lineOfOffset(std::string_view body, std::size_t offset) {
  int line = 1;
  for (std::size_t i = 0; i < offset && i < body.size(); ++i) line += body[i] == '\n' ? 1 : 0;
  return line;
}

}  // namespace

ExpositionFormat formatFromContentType(std::string_view content_type) {
  return content_type.find("application/openmetrics-text") != std::string_view::npos
             ? ExpositionFormat::openmetrics
             : ExpositionFormat::prometheus_text;
}

std::string_view metricTypeName(MetricType type) {
  switch (type) {
    case MetricType::unknown: return "unknown";
    case MetricType::counter: return "counter";
    case MetricType::gauge: return "gauge";
    case MetricType::histogram: return "histogram";
    case MetricType::gaugehistogram: return "gaugehistogram";
    case MetricType::summary: return "summary";
    case MetricType::info: return "info";
    case MetricType::stateset: return "stateset";
  }
  return "unknown";
}

std::string_view failureReasonName(FailureReason reason) {
  switch (reason) {
    case FailureReason::parse_error: return "parse_error";
    case FailureReason::invalid_utf8: return "invalid_utf8";
    case FailureReason::body_size_limit: return "body_size_limit";
    case FailureReason::sample_limit: return "sample_limit";
    case FailureReason::label_limit: return "label_limit";
    case FailureReason::label_name_length_limit: return "label_name_length_limit";
    case FailureReason::label_value_length_limit: return "label_value_length_limit";
    case FailureReason::missing_inf_bucket: return "missing_inf_bucket";
  }
  return "parse_error";
}

std::optional<double> TextParser::parseFloat(std::string_view text) {
  if (text.empty()) return std::nullopt;
  // Fast path: a plain non-negative integer, by far the most common value in an exposition.
  if (text.size() <= 15) {
    std::uint64_t v = 0;
    std::size_t i = 0;
    for (; i < text.size(); ++i) {
      const unsigned d = static_cast<unsigned char>(text[i]) - '0';
      if (d > 9) break;
      v = v * 10 + d;
    }
    if (i == text.size()) return static_cast<double>(v);
  }
  bool negative = false;
  if (text[0] == '+' || text[0] == '-') {
    negative = text[0] == '-';
    text.remove_prefix(1);
    if (text.empty() || text[0] == '+' || text[0] == '-') return std::nullopt;
  }
  double v = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), v);
  if (ec == std::errc::result_out_of_range && ptr == text.data() + text.size()) {
    // Go's ParseFloat gives +Inf for 1e400 and 0 for 1e-400; from_chars reports both as out of range.
    const auto e = text.find_first_of("eE");
    v = (e != std::string_view::npos && e + 1 < text.size() && text[e + 1] == '-')
            ? 0.0
            : std::numeric_limits<double>::infinity();
  } else if (ec != std::errc() || ptr != text.data() + text.size()) {
    return std::nullopt;
  }
  return negative ? -v : v;
}

TextParser::TextParser(std::string_view body, ExpositionFormat format, const ParseLimits& limits)
    : body_(body), format_(format), limits_(limits) {
  if (limits_.check_encoding) validateEncoding();
}

bool TextParser::fail(FailureReason reason, std::string message) {
  if (!error_) error_ = ParseError{reason, line_, fmt::format("line {}: {}", line_, message)};
  return false;
}

std::optional<TextParser::EncodingFault> TextParser::findEncodingFault(std::string_view body) {
  const auto* data = reinterpret_cast<const unsigned char*>(body.data());
  const std::size_t n = body.size();
  std::size_t i = 0;
  while (i < n) {
    if (n - i >= 8) {
      std::uint64_t w;
      std::memcpy(&w, data + i, 8);
      const bool ascii = (w & 0x8080808080808080ULL) == 0;
      const bool has_zero = ((w - 0x0101010101010101ULL) & ~w & 0x8080808080808080ULL) != 0;
      if (ascii && !has_zero) {
        i += 8;
        continue;
      }
    }
    const unsigned char c = data[i];
    if (c == 0) return EncodingFault{i, true};
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t len = 0;
    std::uint32_t cp = 0;
    if ((c & 0xE0) == 0xC0) {
      len = 2;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      len = 3;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      len = 4;
      cp = c & 0x07;
    }
    bool ok = len != 0 && i + len <= n;
    for (std::size_t k = 1; ok && k < len; ++k) {
      ok = (data[i + k] & 0xC0) == 0x80;
      cp = (cp << 6) | (data[i + k] & 0x3F);
    }
    // Overlong forms, UTF-16 surrogates and code points past U+10FFFF are not UTF-8.
    if (ok) {
      ok = !((len == 2 && cp < 0x80) || (len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) ||
             (cp >= 0xD800 && cp <= 0xDFFF) || cp > 0x10FFFF);
    }
    if (!ok) return EncodingFault{i, false};
    i += len;
  }
  return std::nullopt;
}

ParseError TextParser::encodingError(std::string_view body, const EncodingFault& fault) {
  const int line = lineOfOffset(body, fault.offset);
  const std::string what =
      fault.nul ? std::string("NUL byte in the exposition") : fmt::format("invalid UTF-8 at byte offset {}", fault.offset);
  return ParseError{FailureReason::invalid_utf8, line, fmt::format("line {}: {}", line, what)};
}

bool TextParser::validateEncoding() {
  if (auto fault = findEncodingFault(body_)) {
    if (!error_) error_ = encodingError(body_, *fault);
    return false;
  }
  return true;
}

bool TextParser::next() {
  if (error_) return false;
  exemplar_.reset();
  while (pos_ < body_.size()) {
    if (seen_eof_) {
      ++line_;
      return fail(FailureReason::parse_error, "content after # EOF");
    }
    const char* start = body_.data() + pos_;
    const void* nl = std::memchr(start, '\n', body_.size() - pos_);
    const std::size_t eol = nl ? static_cast<std::size_t>(static_cast<const char*>(nl) - body_.data()) : body_.size();
    const std::string_view line = body_.substr(pos_, eol - pos_);
    pos_ = eol + 1;
    ++line_;
    if (line.empty() ||
        (format_ == ExpositionFormat::prometheus_text && line.find_first_not_of(" \t") == std::string_view::npos)) {
      if (format_ == ExpositionFormat::openmetrics) return fail(FailureReason::parse_error, "empty line");
      continue;  // 0.0.4 ignores blank lines, whitespace-only ones included
    }
    if (line[0] == '#') {
      if (!metadataLine(line)) return false;
      continue;
    }
    return sampleLine(line);
  }
  if (format_ == ExpositionFormat::openmetrics && !seen_eof_) {
    return fail(FailureReason::parse_error, "missing \"# EOF\" at the end of an OpenMetrics body (cut short?)");
  }
  return false;
}

bool TextParser::startFamily(std::string_view name, MetricType type, bool declared) {
  const auto [it, inserted] = family_names_.emplace(name, families_.size());
  if (!inserted) {
    if (!limits_.allow_repeated_families) {
      return fail(FailureReason::parse_error,
                  fmt::format("metric family \"{}\" appears twice; its lines must be together", name));
    }
    family_index_ = it->second;
    family_has_samples_ = false;
    family_declared_ = declared || families_[family_index_].type != MetricType::unknown;
    repeated_family_ = true;
    return true;
  }
  repeated_family_ = false;
  families_.push_back(Family{name, type, {}, {}});
  family_index_ = families_.size() - 1;
  family_has_samples_ = false;
  family_declared_ = declared;
  return true;
}

bool TextParser::metadataLine(std::string_view line) {
  const bool om = format_ == ExpositionFormat::openmetrics;
  std::size_t p = 1;
  if (om) {
    if (line == "# EOF") {
      seen_eof_ = true;
      return true;
    }
    if (line.size() < 2 || line[1] != ' ')
      return fail(FailureReason::parse_error, "expected \"# \" to start a comment");
    p = 2;
  } else {
    skipSpaces(line, p);
  }
  std::size_t word_end = p;
  while (word_end < line.size() && !is(line[word_end], kSpace)) ++word_end;
  const std::string_view keyword = line.substr(p, word_end - p);
  const bool is_help = keyword == "HELP", is_type = keyword == "TYPE", is_unit = om && keyword == "UNIT";
  if (!is_help && !is_type && !is_unit) {
    if (om) return fail(FailureReason::parse_error, fmt::format("unknown comment \"# {}\"", keyword));
    return true;  // a plain comment in the 0.0.4 format
  }
  p = word_end;
  if (p >= line.size() || !is(line[p], kSpace)) {
    return fail(FailureReason::parse_error, fmt::format("# {} needs a metric name", keyword));
  }
  skipSpaces(line, p);
  const std::size_t name_start = p;
  if (p >= line.size() || !is(line[p], kNameStart)) {
    return fail(FailureReason::parse_error, fmt::format("# {} needs a valid metric name", keyword));
  }
  while (p < line.size() && is(line[p], kNameChar)) ++p;
  const std::string_view name = line.substr(name_start, p - name_start);
  std::string_view rest;
  if (p < line.size()) {
    if (!is(line[p], kSpace)) {
      return fail(FailureReason::parse_error, fmt::format("invalid character '{}' in metric name", line[p]));
    }
    ++p;
    if (!om) skipSpaces(line, p);
    rest = line.substr(p);
  }

  const bool same = !families_.empty() && families_[family_index_].name == name;
  if (same && family_has_samples_) {
    return fail(FailureReason::parse_error, fmt::format("# {} for \"{}\" after its samples", keyword, name));
  }
  if (!same && !startFamily(name, MetricType::unknown, true)) return false;
  Family& family = families_[family_index_];

  if (is_type) {
    while (!rest.empty() && is(rest.back(), kSpace)) rest.remove_suffix(1);
    auto type = parseType(rest, format_);
    if (!type) return fail(FailureReason::parse_error, fmt::format("unknown metric type \"{}\"", rest));
    if (family_declared_ && family.type != MetricType::unknown && !(repeated_family_ && family.type == *type)) {
      return fail(FailureReason::parse_error, fmt::format("second # TYPE line for \"{}\"", name));
    }
    family.type = *type;
    family_declared_ = true;
    return true;
  }
  if (is_unit) {
    if (!rest.empty() &&
        !(name.size() > rest.size() + 1 && name.ends_with(rest) && name[name.size() - rest.size() - 1] == '_')) {
      return fail(FailureReason::parse_error,
                  fmt::format("unit \"{}\" must be the last part of the family name \"{}\"", rest, name));
    }
    if (!family.unit.empty() && repeated_family_) return true;
    family.unit = rest;
    return true;
  }
  if (!family.help.empty()) {
    if (repeated_family_) return true;
    return fail(FailureReason::parse_error, fmt::format("second # HELP line for \"{}\"", name));
  }
  std::string help;
  help.reserve(rest.size());
  for (std::size_t i = 0; i < rest.size(); ++i) {
    if (rest[i] != '\\') {
      help += rest[i];
      continue;
    }
    if (i + 1 >= rest.size()) return fail(FailureReason::parse_error, "HELP text ends with a lone backslash");
    const char e = rest[++i];
    if (e == '\\') {
      help += '\\';
    } else if (e == 'n') {
      help += '\n';
    } else if (e == '"' && om) {
      help += '"';
    } else if (om) {
      return fail(FailureReason::parse_error, fmt::format("invalid escape \"\\{}\" in HELP text", e));
    } else {
      help += '\\';  // 0.0.4 keeps other backslashes as they are
      help += e;
    }
  }
  family.help = std::move(help);
  return true;
}

bool TextParser::resolveFamily(std::string_view sample_name) {
  // Consecutive samples mostly share a name (a histogram's buckets): the same name is the same family part.
  if (sample_name == last_name_ && last_family_ == family_index_ && !families_.empty()) {
    kind_ = last_kind_;
    family_has_samples_ = true;
    return true;
  }
  if (!resolveFamilySlow(sample_name)) return false;
  last_name_ = sample_name;
  last_family_ = family_index_;
  last_kind_ = kind_;
  return true;
}

bool TextParser::resolveFamilySlow(std::string_view sample_name) {
  if (!families_.empty()) {
    const Family& f = families_[family_index_];
    if (sample_name.starts_with(f.name)) {
      const std::string_view suffix = sample_name.substr(f.name.size());
      if (auto kind = kindOf(f.type, suffix)) {
        if (format_ == ExpositionFormat::openmetrics && f.type == MetricType::counter && *kind == SampleKind::value) {
          return fail(FailureReason::parse_error,
                      fmt::format("counter sample \"{}\" must end in _total or _created", sample_name));
        }
        kind_ = *kind;
        family_has_samples_ = true;
        return true;
      }
      if (format_ == ExpositionFormat::openmetrics && family_declared_ && isKnownSuffix(suffix)) {
        return fail(FailureReason::parse_error, fmt::format("sample \"{}\" does not belong to {} \"{}\"", sample_name,
                                                            metricTypeName(f.type), f.name));
      }
    }
  }
  if (!startFamily(sample_name, MetricType::unknown, false)) return false;
  kind_ = SampleKind::value;
  family_has_samples_ = true;
  return true;
}

bool TextParser::sampleLine(std::string_view line) {
  const bool om = format_ == ExpositionFormat::openmetrics;
  line_text_ = line;
  std::size_t p = 0;
  if (!om) skipSpaces(line, p);
  const std::size_t start = p;
  if (p >= line.size()) return fail(FailureReason::parse_error, "expected a metric name, found the end of the line");
  if (!is(line[p], kNameStart)) {
    return fail(FailureReason::parse_error, fmt::format("expected a metric name, found '{}'", line[p]));
  }
  // Consecutive lines mostly share a name (a histogram's buckets): the last name read is compared whole first.
  if (const std::size_t k = last_name_.size(); k > 0 && line.size() - start > k &&
                                               std::memcmp(line.data() + start, last_name_.data(), k) == 0 &&
                                               !is(line[start + k], kNameChar)) {
    p = start + k;
  } else {
    while (p < line.size() && is(line[p], kNameChar)) ++p;
  }
  name_ = line.substr(start, p - start);
  labels_text_ = {};
  if (p < line.size() && line[p] == '{') {
    const std::size_t open = p++;
    bool quoted = false;
    p = closingBrace(line, p, quoted);
    if (p >= line.size()) {
      return fail(FailureReason::parse_error,
                  quoted ? "unterminated label value" : "unterminated label set (missing '}')");
    }
    labels_text_ = line.substr(open + 1, p - open - 1);
    ++p;
  }
  series_ = line.substr(start, p - start);
  if (p >= line.size() || !is(line[p], kSpace)) {
    return fail(FailureReason::parse_error, p >= line.size()
                                                ? std::string("missing value")
                                                : fmt::format("unexpected '{}' after the series", line[p]));
  }
  skipSpaces(line, p);
  std::size_t token_end = p;
  while (token_end < line.size() && !is(line[token_end], kSpace)) ++token_end;
  auto value = parseFloat(line.substr(p, token_end - p));
  if (!value) {
    return fail(FailureReason::parse_error, fmt::format("invalid value \"{}\"", line.substr(p, token_end - p)));
  }
  value_ = *value;
  p = token_end;
  skipSpaces(line, p);
  timestamp_ms_.reset();
  if (p < line.size() && line[p] != '#') {
    token_end = p;
    while (token_end < line.size() && !is(line[token_end], kSpace)) ++token_end;
    const std::string_view ts = line.substr(p, token_end - p);
    if (om) {
      auto seconds = parseFloat(ts);
      if (!seconds || !std::isfinite(*seconds)) {
        return fail(FailureReason::parse_error, fmt::format("invalid timestamp \"{}\" (seconds)", ts));
      }
      timestamp_ms_ = static_cast<std::int64_t>(std::llround(*seconds * 1000.0));
    } else {
      std::int64_t ms = 0;
      const auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
      if (ec != std::errc() || ptr != ts.data() + ts.size()) {
        return fail(FailureReason::parse_error, fmt::format("invalid timestamp \"{}\" (milliseconds)", ts));
      }
      timestamp_ms_ = ms;
    }
    p = token_end;
    skipSpaces(line, p);
  }
  if (p < line.size()) {
    if (line[p] != '#') return fail(FailureReason::parse_error, fmt::format("unexpected text \"{}\"", line.substr(p)));
    if (!om) return fail(FailureReason::parse_error, "exemplars are only allowed in OpenMetrics");
    if (!parseExemplar(line.substr(p + 1))) return false;
  }
  if (!resolveFamily(name_)) return false;
  if (++samples_ > limits_.max_samples) {
    return fail(
        FailureReason::sample_limit,
        fmt::format("more than {} samples (raise the target's sample_limit if this is expected)", limits_.max_samples));
  }
  return true;
}

bool TextParser::parseExemplar(std::string_view text) {
  std::size_t p = 0;
  skipSpaces(text, p);
  if (p >= text.size() || text[p] != '{') return fail(FailureReason::parse_error, "exemplar must start with '{'");
  Exemplar ex;
  ++p;
  if (!parseLabelSet(text, p, &ex.labels, true)) return false;
  std::size_t runes = 0;
  for (const Label& l : ex.labels) runes += countRunes(l.name) + countRunes(l.value);
  if (runes > 128) return fail(FailureReason::parse_error, "exemplar labels longer than 128 characters");
  skipSpaces(text, p);
  std::size_t end = p;
  while (end < text.size() && !is(text[end], kSpace)) ++end;
  auto v = parseFloat(text.substr(p, end - p));
  if (!v)
    return fail(FailureReason::parse_error, fmt::format("invalid exemplar value \"{}\"", text.substr(p, end - p)));
  ex.value = *v;
  p = end;
  skipSpaces(text, p);
  if (p < text.size()) {
    end = p;
    while (end < text.size() && !is(text[end], kSpace)) ++end;
    auto ts = parseFloat(text.substr(p, end - p));
    if (!ts || !std::isfinite(*ts)) return fail(FailureReason::parse_error, "invalid exemplar timestamp");
    ex.timestamp_ms = static_cast<std::int64_t>(std::llround(*ts * 1000.0));
    p = end;
    skipSpaces(text, p);
    if (p < text.size()) return fail(FailureReason::parse_error, "unexpected text after the exemplar");
  }
  exemplar_ = std::move(ex);
  return true;
}

bool TextParser::labels(std::vector<Label>& out) {
  out.clear();
  if (error_) return false;
  if (labels_text_.empty()) return true;
  std::size_t p = 0;
  // labels_text_ excludes the braces; parseLabelSet expects to stop at '}', so parse a copy-free view plus '}'.
  const std::string_view text(labels_text_.data(), labels_text_.size() + 1);
  return parseLabelSet(text, p, &out, false);
}

bool TextParser::parseLabelSet(std::string_view text, std::size_t& p, std::vector<Label>* out, bool exemplar) {
  std::string& scratch = exemplar ? exemplar_scratch_ : scratch_;
  scratch.clear();
  scratch.reserve(text.size());  // unescaped values never grow, so views into scratch stay valid
  for (;;) {
    skipSpaces(text, p);
    if (p >= text.size()) return fail(FailureReason::parse_error, "unterminated label set");
    if (text[p] == '}') {
      ++p;
      return true;
    }
    const std::size_t name_start = p;
    if (!is(text[p], kLabelStart)) {
      return fail(FailureReason::parse_error, fmt::format("invalid label name starting with '{}'", text[p]));
    }
    while (p < text.size() && is(text[p], kLabelChar)) ++p;
    const std::string_view name = text.substr(name_start, p - name_start);
    skipSpaces(text, p);
    if (p >= text.size() || text[p] != '=') {
      return fail(FailureReason::parse_error, fmt::format("expected '=' after label name \"{}\"", name));
    }
    ++p;
    skipSpaces(text, p);
    if (p >= text.size() || text[p] != '"') {
      return fail(FailureReason::parse_error, fmt::format("expected '\"' to open the value of label \"{}\"", name));
    }
    ++p;
    const std::size_t value_start = p;
    bool escaped = false;
    while (p < text.size() && text[p] != '"') {
      if (text[p] == '\\') {
        escaped = true;
        ++p;
      }
      ++p;
    }
    if (p >= text.size())
      return fail(FailureReason::parse_error, fmt::format("unterminated value of label \"{}\"", name));
    std::string_view value = text.substr(value_start, p - value_start);
    ++p;
    if (escaped) {
      const std::size_t begin = scratch.size();
      for (std::size_t i = 0; i < value.size(); ++i) {
        if (value[i] != '\\') {
          scratch += value[i];
          continue;
        }
        const char e = value[++i];
        if (e == '\\' || e == '"') {
          scratch += e;
        } else if (e == 'n') {
          scratch += '\n';
        } else {
          return fail(FailureReason::parse_error,
                      fmt::format("invalid escape \"\\{}\" in the value of label \"{}\"", e, name));
        }
      }
      value = std::string_view(scratch).substr(begin);
    }
    if (!exemplar) {
      if (name.size() > limits_.max_label_name_length) {
        return fail(FailureReason::label_name_length_limit,
                    fmt::format("label name \"{}...\" is longer than {} bytes", name.substr(0, 32),
                                limits_.max_label_name_length));
      }
      if (value.size() > limits_.max_label_value_length) {
        return fail(FailureReason::label_value_length_limit,
                    fmt::format("value of label \"{}\" is longer than {} bytes", name, limits_.max_label_value_length));
      }
    }
    for (const Label& seen : *out) {
      if (seen.name == name) return fail(FailureReason::parse_error, fmt::format("duplicate label \"{}\"", name));
    }
    out->push_back(Label{name, value});
    if (!exemplar && out->size() > limits_.max_labels) {
      return fail(FailureReason::label_limit, fmt::format("more than {} labels on one series", limits_.max_labels));
    }
    skipSpaces(text, p);
    if (p < text.size() && text[p] == ',') {
      ++p;
    } else if (p < text.size() && text[p] != '}') {
      return fail(FailureReason::parse_error, fmt::format("expected ',' or '}}' after label \"{}\"", name));
    }
  }
}

void HistogramCheck::bucket(std::uint64_t histogram_key, bool is_inf, int line) {
  // Buckets of one histogram are normally together, so the last entry is almost always the one.
  if (!entries_.empty() && entries_.back().key == histogram_key) {
    entries_.back().has_inf |= is_inf;
    return;
  }
  auto [it, inserted] = index_.try_emplace(histogram_key, entries_.size());
  if (inserted) {
    entries_.push_back(Entry{histogram_key, is_inf, line});
  } else {
    entries_[it->second].has_inf |= is_inf;
  }
}

std::optional<ParseError> HistogramCheck::finish() {
  std::optional<ParseError> out;
  for (const Entry& e : entries_) {
    if (!e.has_inf) {
      out = ParseError{FailureReason::missing_inf_bucket, e.first_line,
                       fmt::format("line {}: histogram has no le=\"+Inf\" bucket", e.first_line)};
      break;
    }
  }
  entries_.clear();
  index_.clear();
  return out;
}

}  // namespace hotspotd::ingest
