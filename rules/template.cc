#include "rules/template.h"

#include <algorithm>
#include <array>
#include <cctype>
#include <cmath>
#include <cstdio>

#include <fmt/format.h>

namespace hotspotd::rules {
namespace {

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t')) s.remove_suffix(1);
  return s;
}

std::string formatG(double v) {
  if (std::isnan(v)) return "NaN";
  if (std::isinf(v)) return v > 0 ? "+Inf" : "-Inf";
  return fmt::format("{:.4g}", v);
}

// A printf format with exactly one floating-point conversion and nothing that reads more arguments.
bool validPrintf(std::string_view f) {
  int conversions = 0;
  for (std::size_t i = 0; i < f.size(); ++i) {
    if (f[i] != '%') continue;
    if (i + 1 < f.size() && f[i + 1] == '%') {
      ++i;
      continue;
    }
    std::size_t j = i + 1;
    while (j < f.size() && std::string_view("0123456789.+- #").find(f[j]) != std::string_view::npos) ++j;
    if (j >= f.size() || std::string_view("fegFEG").find(f[j]) == std::string_view::npos) return false;
    ++conversions;
    i = j;
  }
  return conversions == 1;
}

}  // namespace

namespace {

// Splits a URL template into literal text and label names, in order: even indices are text, odd are names.
Result<std::vector<std::string>> splitUrlTemplate(std::string_view t) {
  std::vector<std::string> parts;
  std::size_t pos = 0;
  for (;;) {
    const std::size_t open = t.find("{{", pos);
    if (open == std::string_view::npos) {
      parts.emplace_back(t.substr(pos));
      return parts;
    }
    const std::size_t close = t.find("}}", open + 2);
    if (close == std::string_view::npos) return fail(fmt::format("\"{{{{\" at offset {} is never closed", open));
    parts.emplace_back(t.substr(pos, open - pos));
    std::string_view name = trim(t.substr(open + 2, close - open - 2));
    if (!name.empty() && (name.front() == '.' || name.front() == '$')) name.remove_prefix(1);
    const bool valid = !name.empty() && std::all_of(name.begin(), name.end(), [](char c) {
      return std::isalnum(static_cast<unsigned char>(c)) || c == '_';
    });
    if (!valid) return fail(fmt::format("\"{}\" is not an exemplar label name (e.g. {{{{ trace_id }}}})", name));
    parts.emplace_back(name);
    pos = close + 2;
  }
}

}  // namespace

Result<void> checkTraceUrl(std::string_view url_template) {
  auto parts = splitUrlTemplate(url_template);
  if (!parts) return tl::unexpected(parts.error());
  if (parts->size() < 2) return fail("names no exemplar label; write {{ trace_id }} where the trace id goes");
  return {};
}

std::string expandTraceUrl(std::string_view url_template,
                           const std::vector<std::pair<std::string, std::string>>& labels) {
  auto parts = splitUrlTemplate(url_template);
  if (!parts || parts->size() < 2) return {};
  std::string out;
  for (std::size_t i = 0; i < parts->size(); ++i) {
    if (i % 2 == 0) {
      out += (*parts)[i];
      continue;
    }
    const std::string* value = nullptr;
    for (const auto& [k, v] : labels) {
      if (k == (*parts)[i]) value = &v;
    }
    if (!value) return {};
    for (unsigned char c : *value) {
      if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
        out += static_cast<char>(c);
      } else {
        out += fmt::format("%{:02X}", c);
      }
    }
  }
  return out;
}

std::string humanize(double v) {
  if (std::isnan(v) || std::isinf(v) || v == 0) return formatG(v);
  static constexpr std::array<const char*, 8> big = {"k", "M", "G", "T", "P", "E", "Z", "Y"};
  static constexpr std::array<const char*, 8> small = {"m", "u", "n", "p", "f", "a", "z", "y"};
  const double a = std::fabs(v);
  if (a >= 1) {
    int i = -1;
    double x = v;
    while (std::fabs(x) >= 1000 && i + 1 < static_cast<int>(big.size())) {
      x /= 1000;
      ++i;
    }
    return formatG(x) + (i >= 0 ? big[static_cast<std::size_t>(i)] : "");
  }
  int i = -1;
  double x = v;
  while (std::fabs(x) < 1 && i + 1 < static_cast<int>(small.size())) {
    x *= 1000;
    ++i;
  }
  return formatG(x) + (i >= 0 ? small[static_cast<std::size_t>(i)] : "");
}

std::string humanizeDuration(double seconds) {
  if (std::isnan(seconds) || std::isinf(seconds)) return formatG(seconds);
  const char* sign = seconds < 0 ? "-" : "";
  double v = std::fabs(seconds);
  if (v == 0) return "0s";
  if (v < 1) {
    if (v >= 1e-3) return fmt::format("{}{}ms", sign, formatG(v * 1e3));
    if (v >= 1e-6) return fmt::format("{}{}us", sign, formatG(v * 1e6));
    return fmt::format("{}{}ns", sign, formatG(v * 1e9));
  }
  const auto days = static_cast<long long>(v / 86400);
  const auto hours = static_cast<long long>(std::fmod(v / 3600, 24));
  const auto minutes = static_cast<long long>(std::fmod(v / 60, 60));
  const double secs = std::fmod(v, 60);
  std::string out = sign;
  if (days) out += fmt::format("{}d ", days);
  if (days || hours) out += fmt::format("{}h ", hours);
  if (days || hours || minutes) out += fmt::format("{}m ", minutes);
  out += fmt::format("{}s", formatG(secs));
  return out;
}

std::string humanizePercentage(double ratio) { return formatG(ratio * 100) + "%"; }

Result<Template> Template::parse(std::string_view text) {
  auto textPiece = [](std::string_view literal) {
    Piece p;
    p.text = std::string(literal);
    return p;
  };
  Template t;
  std::size_t pos = 0;
  while (pos < text.size()) {
    const std::size_t open = text.find("{{", pos);
    if (open == std::string_view::npos) {
      t.pieces_.push_back(textPiece(text.substr(pos)));
      break;
    }
    if (open > pos) t.pieces_.push_back(textPiece(text.substr(pos, open - pos)));
    const std::size_t close = text.find("}}", open + 2);
    if (close == std::string_view::npos) {
      return fail(fmt::format("\"{{{{\" at offset {} is never closed with \"}}}}\"", open));
    }
    std::string_view action = trim(text.substr(open + 2, close - open - 2));
    if (!action.empty() && action.front() == '-') action = trim(action.substr(1));  // {{- trims in Go; kept simple
    if (!action.empty() && action.back() == '-') action = trim(action.substr(0, action.size() - 1));
    std::string_view expr = action, pipe;
    if (const auto bar = action.find('|'); bar != std::string_view::npos) {
      expr = trim(action.substr(0, bar));
      pipe = trim(action.substr(bar + 1));
    }
    Piece p;
    auto named = [&](std::string_view prefix) -> bool {
      if (expr.substr(0, prefix.size()) != prefix || expr.size() == prefix.size()) return false;
      p.text = std::string(expr.substr(prefix.size()));
      return true;
    };
    if (named("$labels.") || named(".Labels.")) {
      p.kind = Piece::Kind::label;
    } else if (named("$evidence.")) {
      p.kind = Piece::Kind::evidence;
    } else if (expr == "$value" || expr == ".Value") {
      p.kind = Piece::Kind::value;
    } else if (expr == "$threshold") {
      p.kind = Piece::Kind::threshold;
    } else if (expr == "$alertname") {
      p.kind = Piece::Kind::alertname;
    } else if (expr == "$severity") {
      p.kind = Piece::Kind::severity;
    } else {
      return fail(fmt::format("unknown template expression \"{}\" (use $labels.<name>, $value, $threshold, "
                              "$evidence.<name>, $alertname or $severity)",
                              expr));
    }
    if (!pipe.empty()) {
      if (p.kind == Piece::Kind::label || p.kind == Piece::Kind::alertname || p.kind == Piece::Kind::severity) {
        return fail(fmt::format("\"{}\" is text; \"| {}\" formats numbers", expr, pipe));
      }
      if (pipe == "humanize") {
        p.format = Piece::Format::humanize;
      } else if (pipe == "humanizeDuration") {
        p.format = Piece::Format::duration;
      } else if (pipe == "humanizePercentage") {
        p.format = Piece::Format::percentage;
      } else if (pipe.substr(0, 6) == "printf") {
        std::string_view f = trim(pipe.substr(6));
        if (f.size() < 2 || f.front() != '"' || f.back() != '"' || !validPrintf(f.substr(1, f.size() - 2))) {
          return fail(fmt::format("printf takes one quoted format with a single %f, %e or %g: {}", pipe));
        }
        p.format = Piece::Format::printf;
        p.printf_format = std::string(f.substr(1, f.size() - 2));
      } else {
        return fail(fmt::format("unknown template function \"{}\" (humanize, humanizeDuration, "
                                "humanizePercentage, printf)",
                                pipe));
      }
    }
    t.pieces_.push_back(std::move(p));
    pos = close + 2;
  }
  return t;
}

std::string Template::render(const TemplateData& data, std::string (*escape)(std::string_view)) const {
  std::string out;
  auto value = [&](std::string_view v) {
    if (escape) {
      out += escape(v);
    } else {
      out += v;
    }
  };
  for (const Piece& p : pieces_) {
    double number = NAN;
    switch (p.kind) {
      case Piece::Kind::text: out += p.text; continue;
      case Piece::Kind::alertname: value(data.alertname); continue;
      case Piece::Kind::severity: value(data.severity); continue;
      case Piece::Kind::label:
        if (data.labels) {
          for (const auto& [k, v] : *data.labels) {
            if (k == p.text) value(v);
          }
        }
        continue;
      case Piece::Kind::value: number = data.value; break;
      case Piece::Kind::threshold: number = data.threshold; break;
      case Piece::Kind::evidence: {
        bool found = false;
        if (data.evidence) {
          for (const auto& [k, v] : *data.evidence) {
            if (k == p.text) {
              number = v;
              found = true;
            }
          }
        }
        if (!found) continue;  // a kind of rule without that evidence: nothing, as Prometheus renders a missing label
        break;
      }
    }
    switch (p.format) {
      case Piece::Format::plain:
        out += std::isfinite(number) ? fmt::format("{}", number) : formatG(number);  // full precision, as Go prints
        break;
      case Piece::Format::humanize: out += humanize(number); break;
      case Piece::Format::duration: out += humanizeDuration(number); break;
      case Piece::Format::percentage: out += humanizePercentage(number); break;
      case Piece::Format::printf: {
        char buf[128];
        std::snprintf(buf, sizeof buf, p.printf_format.c_str(), number);  // validated: one float conversion
        out += buf;
        break;
      }
    }
  }
  return out;
}

}  // namespace hotspotd::rules
