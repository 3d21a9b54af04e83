#include "core/rfc3339.h"

#include <ctime>

#include <fmt/format.h>

namespace hotspotd {
namespace {

// Exactly `n` digits at `pos`, advancing it; -1 if they are not there.
int digits(std::string_view s, std::size_t& pos, std::size_t n) {
  if (pos + n > s.size()) return -1;
  int v = 0;
  for (std::size_t i = 0; i < n; ++i) {
    const char c = s[pos + i];
    if (c < '0' || c > '9') return -1;
    v = v * 10 + (c - '0');
  }
  pos += n;
  return v;
}

bool expect(std::string_view s, std::size_t& pos, char a, char b = '\0') {
  if (pos >= s.size() || (s[pos] != a && (b == '\0' || s[pos] != b))) return false;
  ++pos;
  return true;
}

// Days from 1970-01-01 to the civil date (Howard Hinnant's algorithm), for any year.
std::int64_t daysFromCivil(std::int64_t y, unsigned m, unsigned d) {
  y -= m <= 2;
  const std::int64_t era = (y >= 0 ? y : y - 399) / 400;
  const auto yoe = static_cast<unsigned>(y - era * 400);
  const unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  const unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  return era * 146097 + static_cast<std::int64_t>(doe) - 719468;
}

bool leap(int y) { return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0; }

}  // namespace

std::string formatRfc3339(std::int64_t ms) {
  const std::time_t secs = static_cast<std::time_t>(ms / 1000);
  std::tm tm{};
  gmtime_r(&secs, &tm);
  return fmt::format("{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:03}Z", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
                     tm.tm_hour, tm.tm_min, tm.tm_sec, static_cast<int>(ms % 1000));
}

Result<std::int64_t> parseRfc3339(std::string_view text) {
  auto bad = [&] { return fail(fmt::format("\"{}\" is not an RFC 3339 time (e.g. 2026-11-21T10:00:00Z)", text)); };
  std::size_t pos = 0;
  const int year = digits(text, pos, 4);
  if (year < 0 || !expect(text, pos, '-')) return bad();
  const int month = digits(text, pos, 2);
  if (month < 1 || month > 12 || !expect(text, pos, '-')) return bad();
  const int day = digits(text, pos, 2);
  static constexpr int kDays[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
  const int month_days = kDays[month - 1] + (month == 2 && leap(year) ? 1 : 0);
  if (day < 1 || day > month_days || !expect(text, pos, 'T', 't')) return bad();
  const int hour = digits(text, pos, 2);
  if (hour < 0 || hour > 23 || !expect(text, pos, ':')) return bad();
  const int minute = digits(text, pos, 2);
  if (minute < 0 || minute > 59 || !expect(text, pos, ':')) return bad();
  const int second = digits(text, pos, 2);
  if (second < 0 || second > 60) return bad();  // 60: a leap second, read as the next second
  int ms = 0;
  if (pos < text.size() && text[pos] == '.') {
    ++pos;
    std::size_t n = 0;
    while (pos < text.size() && text[pos] >= '0' && text[pos] <= '9') {
      if (n < 3) ms = ms * 10 + (text[pos] - '0');
      ++n;
      ++pos;
    }
    if (n == 0) return bad();
    for (std::size_t k = n; k < 3; ++k) ms *= 10;
  }
  int offset_minutes = 0;
  if (pos < text.size() && (text[pos] == 'Z' || text[pos] == 'z')) {
    ++pos;
  } else if (pos < text.size() && (text[pos] == '+' || text[pos] == '-')) {
    const int sign = text[pos] == '+' ? 1 : -1;
    ++pos;
    const int oh = digits(text, pos, 2);
    if (oh < 0 || oh > 23 || !expect(text, pos, ':')) return bad();
    const int om = digits(text, pos, 2);
    if (om < 0 || om > 59) return bad();
    offset_minutes = sign * (oh * 60 + om);
  } else {
    return bad();
  }
  if (pos != text.size()) return bad();
  const std::int64_t days = daysFromCivil(year, static_cast<unsigned>(month), static_cast<unsigned>(day));
  const std::int64_t seconds = days * 86400 + hour * 3600 + minute * 60 + second - offset_minutes * 60;
  return seconds * 1000 + ms;
}

}  // namespace hotspotd
