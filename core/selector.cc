#include "core/selector.h"

#include <re2/re2.h>

#include <fmt/format.h>

namespace hotspotd {
namespace {

bool isNameStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || c == ':';
}
bool isNameChar(char c) {
  return isNameStart(c) || (c >= '0' && c <= '9');
}
bool isLabelStart(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
bool isLabelChar(char c) {
  return isLabelStart(c) || (c >= '0' && c <= '9');
}

std::string_view opText(Matcher::Op op) {
  switch (op) {
    case Matcher::Op::eq: return "=";
    case Matcher::Op::ne: return "!=";
    case Matcher::Op::re: return "=~";
    case Matcher::Op::nre: return "!~";
  }
  return "=";
}

std::string quote(std::string_view v) {
  std::string out = "\"";
  for (char c : v) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

class Parser {
 public:
  explicit Parser(std::string_view text) : s_(text) {}

  Result<Selector> parse() {
    Selector sel;
    skip();
    if (p_ < s_.size() && isNameStart(s_[p_])) {
      const std::size_t start = p_;
      while (p_ < s_.size() && isNameChar(s_[p_])) ++p_;
      auto m = makeMatcher("__name__", Matcher::Op::eq, std::string(s_.substr(start, p_ - start)));
      if (!m) return tl::unexpected(m.error());
      sel.matchers.push_back(std::move(*m));
      skip();
    }
    if (p_ < s_.size() && s_[p_] == '{') {
      ++p_;
      for (;;) {
        skip();
        if (p_ >= s_.size()) return error("unclosed '{'");
        if (s_[p_] == '}') {
          ++p_;
          break;
        }
        if (!isLabelStart(s_[p_])) return error("expected a label name");
        const std::size_t start = p_;
        while (p_ < s_.size() && isLabelChar(s_[p_])) ++p_;
        std::string name(s_.substr(start, p_ - start));
        skip();
        Matcher::Op op;
        if (s_.substr(p_, 2) == "=~") {
          op = Matcher::Op::re;
          p_ += 2;
        } else if (s_.substr(p_, 2) == "!~") {
          op = Matcher::Op::nre;
          p_ += 2;
        } else if (s_.substr(p_, 2) == "!=") {
          op = Matcher::Op::ne;
          p_ += 2;
        } else if (p_ < s_.size() && s_[p_] == '=') {
          op = Matcher::Op::eq;
          ++p_;
        } else {
          return error(fmt::format("expected =, !=, =~ or !~ after label \"{}\"", name));
        }
        skip();
        auto value = string();
        if (!value) return tl::unexpected(value.error());
        auto m = makeMatcher(std::move(name), op, std::move(*value));
        if (!m) return tl::unexpected(m.error());
        sel.matchers.push_back(std::move(*m));
        skip();
        if (p_ < s_.size() && s_[p_] == ',') {
          ++p_;
        } else if (p_ >= s_.size() || s_[p_] != '}') {
          return error("expected ',' or '}'");
        }
      }
    }
    skip();
    if (p_ != s_.size()) return error("unexpected text after the selector");
    if (sel.matchers.empty()) return error("a selector needs a metric name or at least one matcher");
    // PromQL refuses selectors that match every series (all matchers match the empty string).
    bool all_empty = true;
    for (const auto& m : sel.matchers) all_empty = all_empty && m.matches("");
    if (all_empty) return error("the selector would match every series: give a metric name or a non-empty matcher");
    return sel;
  }

 private:
  void skip() {
    while (p_ < s_.size() && (s_[p_] == ' ' || s_[p_] == '\t' || s_[p_] == '\n')) ++p_;
  }

  tl::unexpected<Error> error(std::string_view what) const {
    return fail(fmt::format("invalid selector {}: {} at character {}", quote(s_), what, p_ + 1));
  }

  Result<std::string> string() {
    if (p_ >= s_.size() || (s_[p_] != '"' && s_[p_] != '\'' && s_[p_] != '`')) {
      return error("expected a quoted value");
    }
    const char q = s_[p_++];
    std::string out;
    while (p_ < s_.size() && s_[p_] != q) {
      char c = s_[p_++];
      if (c == '\\' && q != '`') {
        if (p_ >= s_.size()) break;
        const char e = s_[p_++];
        switch (e) {
          case 'n': c = '\n'; break;
          case 't': c = '\t'; break;
          case '\\': c = '\\'; break;
          case '"': c = '"'; break;
          case '\'': c = '\''; break;
          default: return error(fmt::format("unknown escape \\{}", e));
        }
      }
      out += c;
    }
    if (p_ >= s_.size()) return error("unterminated string");
    ++p_;
    return out;
  }

  std::string_view s_;
  std::size_t p_ = 0;
};

}  // namespace

Result<Selector> parseSelector(std::string_view text) {
  return Parser(text).parse();
}

Result<Matcher> makeMatcher(std::string name, Matcher::Op op, std::string value) {
  Matcher m;
  m.name = std::move(name);
  m.op = op;
  m.value = std::move(value);
  if (op == Matcher::Op::re || op == Matcher::Op::nre) {
    RE2::Options options;
    options.set_log_errors(false);
    options.set_dot_nl(true);  // Prometheus compiles with (?s): . matches a newline too
    auto re = std::make_shared<const re2::RE2>("^(?:" + m.value + ")$", options);
    if (!re->ok()) {
      return fail(
          fmt::format("invalid regular expression {} for label \"{}\": {}", quote(m.value), m.name, re->error()));
    }
    m.regex = std::move(re);
  }
  return m;
}

bool Matcher::matches(std::string_view v) const {
  switch (op) {
    case Op::eq: return v == value;
    case Op::ne: return v != value;
    case Op::re: return RE2::FullMatch(v, *regex);
    case Op::nre: return !RE2::FullMatch(v, *regex);
  }
  return false;
}

std::string Matcher::str() const {
  return fmt::format("{}{}{}", name, opText(op), quote(value));
}

std::string_view Selector::metricName() const {
  for (const auto& m : matchers) {
    if (m.name == "__name__" && m.op == Matcher::Op::eq) return m.value;
  }
  return {};
}

bool Selector::matches(std::string_view name, const LabelView& labels) const {
  for (const auto& m : matchers) {
    std::string_view v;
    if (m.name == "__name__") {
      v = name;
    } else {
      for (const auto& [k, val] : labels) {
        if (k == m.name) {
          v = val;
          break;
        }
      }
    }
    if (!m.matches(v)) return false;
  }
  return true;
}

std::string Selector::str() const {
  std::string out(metricName());
  std::string inner;
  for (const auto& m : matchers) {
    if (m.name == "__name__" && m.op == Matcher::Op::eq) continue;
    if (!inner.empty()) inner += ",";
    inner += m.str();
  }
  if (!inner.empty() || out.empty()) out += "{" + inner + "}";
  return out;
}

std::string histogramSeriesSelector(const Selector& histogram) {
  constexpr std::string_view kParts = "_(bucket|count|sum)";
  // A metric name is [a-zA-Z_:][a-zA-Z0-9_:]*: nothing in it needs escaping in a regex, but a name from a
  // label-only selector could be anything, so escape what RE2 would read as syntax.
  auto literal = [](std::string_view name) {
    std::string out;
    for (const char c : name) {
      if (!std::isalnum(static_cast<unsigned char>(c)) && c != '_' && c != ':') out += '\\';
      out += c;
    }
    return out;
  };
  std::vector<std::string> parts;
  bool named = false;
  for (const auto& m : histogram.matchers) {
    if (m.name != "__name__") {
      parts.push_back(m.str());
      continue;
    }
    named = named || m.op == Matcher::Op::eq || m.op == Matcher::Op::re;
    const std::string family =
        m.op == Matcher::Op::eq || m.op == Matcher::Op::ne ? literal(m.value) : "(" + m.value + ")";
    const bool positive = m.op == Matcher::Op::eq || m.op == Matcher::Op::re;
    parts.insert(parts.begin(),
                 fmt::format("__name__{}{}", positive ? "=~" : "!~", quote(family + std::string(kParts))));
  }
  // Without a positive name matcher, any histogram family: the parts alone.
  if (!named) parts.insert(parts.begin(), fmt::format("__name__=~{}", quote(".+" + std::string(kParts))));
  std::string out = "{";
  for (std::size_t i = 0; i < parts.size(); ++i) out += (i ? "," : "") + parts[i];
  return out + "}";
}

}  // namespace hotspotd
