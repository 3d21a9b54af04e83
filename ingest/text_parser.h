// A zero-copy pull parser for the Prometheus text format 0.0.4 and OpenMetrics 1.0 text.
//
// next() advances sample by sample; each sample is exposed as string views into the body (name, the raw
// `name{labels}` text that scrape caches key on, value, timestamp, exemplar). Labels are parsed only on request
// (labels()), so a scrape loop that has seen the same series text before skips that work, as Prometheus does.
// HELP/TYPE/UNIT lines are consumed internally and describe the current family.
//
// Checked with the line number: the grammar of both formats, escapes, invalid UTF-8 and NUL bytes (the whole body
// is validated up front), duplicate label names, sample names that do not belong to their family, families that
// interleave, a missing `# EOF` (OpenMetrics), and the label limits. The +Inf bucket rule needs series
// identity and is checked by HistogramCheck below, by whoever groups the series.
//
// One parser per body, used from one thread.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <unordered_set>
#include <vector>

namespace hotspotd::ingest {

enum class ExpositionFormat { prometheus_text, openmetrics };

// The Content-Type a target answered with decides the format; anything that is not OpenMetrics is 0.0.4.
ExpositionFormat formatFromContentType(std::string_view content_type);

enum class MetricType : std::uint8_t { unknown, counter, gauge, histogram, gaugehistogram, summary, info, stateset };
std::string_view metricTypeName(MetricType type);

// Which part of its family a sample is.
enum class SampleKind : std::uint8_t { value, total, created, bucket, sum, count, gsum, gcount, info };

// Why a parse or scrape failed; the value of the `reason` label on hotspotd_scrape_failures_total.
enum class FailureReason : std::uint8_t {
  parse_error,
  invalid_utf8,
  body_size_limit,
  sample_limit,
  label_limit,
  label_name_length_limit,
  label_value_length_limit,
  missing_inf_bucket,
};
std::string_view failureReasonName(FailureReason reason);

struct ParseLimits {
  // Recordings made by concatenating scrapes repeat each family once per scrape; allow that (replay only).
  bool allow_repeated_families = false;
  std::size_t max_samples = 500'000;
  std::size_t max_labels = 64;
  std::size_t max_label_name_length = 256;
  std::size_t max_label_value_length = 4096;
  // False: the caller has checked the body's encoding itself (replay checks a mapped file slice by slice, so that
  // the check does not hold the whole file in memory at once).
  bool check_encoding = true;
};

struct ParseError {
  FailureReason reason = FailureReason::parse_error;
  int line = 0;
  std::string message;  // "line 12: ..." ready for a log field
};

struct Label {
  std::string_view name;
  std::string_view value;  // unescaped
};

struct Family {
  std::string_view name;
  MetricType type = MetricType::unknown;
  std::string help;  // unescaped
  std::string_view unit;
};

struct Exemplar {
  std::vector<Label> labels;
  double value = 0;
  std::optional<std::int64_t> timestamp_ms;
};

class TextParser {
 public:
  TextParser(std::string_view body, ExpositionFormat format, const ParseLimits& limits = {});

  // Advances to the next sample. False at the end of the body or on an error (then error() says which).
  bool next();
  const std::optional<ParseError>& error() const { return error_; }

  std::string_view name() const { return name_; }
  std::string_view series() const { return series_; }       // `name{labels}` exactly as written
  std::string_view lineText() const { return line_text_; }  // the whole line of the current sample
  double value() const { return value_; }
  std::optional<std::int64_t> timestampMs() const { return timestamp_ms_; }
  const Family& family() const { return families_[family_index_]; }
  std::size_t familyIndex() const { return family_index_; }
  SampleKind kind() const { return kind_; }
  const std::optional<Exemplar>& exemplar() const { return exemplar_; }
  int line() const { return line_; }
  std::size_t samplesSeen() const { return samples_; }
  const std::vector<Family>& families() const { return families_; }

  // Parses the labels of the current sample, unescaped, in the order written. Checks duplicates and the label
  // limits; on failure returns false and sets error(). The views stay valid until the next call to next().
  bool labels(std::vector<Label>& out);

  // Parses "1", "1.0", "+Inf", "1e3" as Prometheus does (for `le` and `quantile`).
  static std::optional<double> parseFloat(std::string_view text);

  // The first NUL byte or invalid UTF-8 sequence of `body`, if any, and the error the parser gives for it (with
  // the line, counted in `body`).
  struct EncodingFault {
    std::size_t offset;
    bool nul;
  };
  static std::optional<EncodingFault> findEncodingFault(std::string_view body);
  static ParseError encodingError(std::string_view body, const EncodingFault& fault);

 private:
  bool fail(FailureReason reason, std::string message);
  bool validateEncoding();
  bool metadataLine(std::string_view line);
  bool sampleLine(std::string_view line);
  bool resolveFamily(std::string_view sample_name);
  bool resolveFamilySlow(std::string_view sample_name);
  bool startFamily(std::string_view name, MetricType type, bool declared);
  bool parseLabelSet(std::string_view text, std::size_t& pos, std::vector<Label>* out, bool exemplar);
  bool parseExemplar(std::string_view text);

  std::string_view body_;
  ExpositionFormat format_;
  ParseLimits limits_;
  std::size_t pos_ = 0;
  int line_ = 0;
  bool seen_eof_ = false;
  std::optional<ParseError> error_;

  std::vector<Family> families_;
  std::unordered_map<std::string_view, std::size_t> family_names_;
  std::size_t family_index_ = 0;
  bool family_has_samples_ = false;
  bool family_declared_ = false;
  bool repeated_family_ = false;

  std::string_view name_;
  std::string_view series_;
  std::string_view line_text_;
  std::string_view labels_text_;  // between the braces
  double value_ = 0;
  std::optional<std::int64_t> timestamp_ms_;
  SampleKind kind_ = SampleKind::value;
  std::optional<Exemplar> exemplar_;
  std::size_t samples_ = 0;
  std::string_view last_name_;
  std::size_t last_family_ = static_cast<std::size_t>(-1);
  SampleKind last_kind_ = SampleKind::value;
  std::string scratch_;           // unescaped label values of the current sample
  std::string exemplar_scratch_;  // unescaped exemplar label values
};

// Checks that every histogram (one label set minus `le`) of a scrape has its +Inf bucket. The caller identifies
// each histogram by a key of its choosing (a series-store id, a hash of the labels).
class HistogramCheck {
 public:
  void bucket(std::uint64_t histogram_key, bool is_inf, int line);
  // The first histogram without +Inf, as an error; nothing if all are complete. Resets the check.
  std::optional<ParseError> finish();

 private:
  struct Entry {
    std::uint64_t key;
    bool has_inf;
    int first_line;
  };
  std::vector<Entry> entries_;
  std::unordered_map<std::uint64_t, std::size_t> index_;
};

}  // namespace hotspotd::ingest
