// Annotation templates, in the subset of Prometheus' alerting-template syntax people already write:
//   {{ $labels.route }}   an endpoint label (empty when the endpoint has no such label); also {{ .Labels.route }}
//   {{ $value }}          the finding's value (the current quantile, burn rate, rate...); also {{ .Value }}
//   {{ $threshold }}      what it was judged against
//   {{ $evidence.name }}  one evidence value (e.g. $evidence.confidence, $evidence.requests)
//   {{ $alertname }}, {{ $severity }}
// each optionally piped through humanize, humanizeDuration, humanizePercentage or printf "<one %f/%e/%g>":
//   {{ $value | humanizeDuration }}, {{ $evidence.confidence | printf "%.4f" }}.
// Templates are parsed when rules load, so a typo is a load error with its place, not a broken page at 3 a.m.
#pragma once

#include <map>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "core/result.h"

namespace hotspotd::rules {

struct TemplateData {
  const std::vector<std::pair<std::string, std::string>>* labels = nullptr;
  double value = 0;
  double threshold = 0;
  const std::vector<std::pair<std::string, double>>* evidence = nullptr;
  std::string_view alertname;
  std::string_view severity;
};

class Template {
 public:
  static Result<Template> parse(std::string_view text);
  // `escape`, when given, is applied to every value put into the text (labels, the alert's name and severity), not
  // to the template's own text: a receiver's markup stays markup, a label value cannot become markup.
  std::string render(const TemplateData& data, std::string (*escape)(std::string_view) = nullptr) const;

 private:
  struct Piece {
    enum class Kind { text, label, value, threshold, evidence, alertname, severity } kind = Kind::text;
    std::string text;  // literal text, or the label/evidence name
    enum class Format { plain, humanize, duration, percentage, printf } format = Format::plain;
    std::string printf_format;
  };
  std::vector<Piece> pieces_;
};

// Links to traces from exemplars: `{{ trace_id }}` (or any other exemplar label, e.g. `{{ span_id }}`) in a URL
// such as "https://tempo.example.com/explore?traceId={{ trace_id }}" or
// "https://jaeger.example.com/trace/{{ trace_id }}", replaced by the exemplar's label value, percent-encoded.
// checkTraceUrl says what is wrong with a template; expandTraceUrl is empty when a named label is missing.
Result<void> checkTraceUrl(std::string_view url_template);
std::string expandTraceUrl(std::string_view url_template, const std::vector<std::pair<std::string, std::string>>& labels);

// Prometheus' template functions, for reuse wherever a number is shown to people.
std::string humanize(double v);
std::string humanizeDuration(double seconds);
std::string humanizePercentage(double ratio);

}  // namespace hotspotd::rules
