#include "ingest/replay_reader.h"

#include <sys/mman.h>
#include <unistd.h>
#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <limits>
#include <unordered_set>

#include <fmt/format.h>

#include "core/file.h"
#include "core/gzip.h"
#include "core/hash.h"

namespace hotspotd::ingest {
namespace {

// Replay files may be large: decompressed input is capped well above any recording this is meant for.
constexpr std::size_t kMaxReplayBytes = std::size_t{64} << 30;
// What has been read is given back to the kernel every this many scrapes.
constexpr std::size_t kReleaseEvery = 256;
// How many series texts the checking pass remembers as checked.
constexpr std::size_t kMaxChecked = std::size_t{1} << 20;

// How a recording is parsed, at open and scrape by scrape: any number of samples, a family's scrapes listed one
// after the other, the encoding checked once for the whole file before anything is parsed.
ParseLimits replayLimits() {
  ParseLimits limits;
  limits.max_samples = std::numeric_limits<std::size_t>::max();
  limits.allow_repeated_families = true;
  limits.check_encoding = false;
  return limits;
}

// The timestamp of a sample line the parser has already accepted: the token after the value (an exemplar comes
// after " # "), seconds in OpenMetrics, milliseconds in the 0.0.4 format, converted as TextParser converts it.
std::optional<std::int64_t> lineTimestampMs(std::string_view line, ExpositionFormat format) {
  std::size_t pos = 0;
  while (pos < line.size() && line[pos] != '{' && line[pos] != ' ' && line[pos] != '\t') ++pos;
  if (pos < line.size() && line[pos] == '{') {
    bool quoted = false;
    for (++pos; pos < line.size(); ++pos) {
      const char c = line[pos];
      if (quoted) {
        if (c == '\\') {
          ++pos;
        } else if (c == '"') {
          quoted = false;
        }
      } else if (c == '"') {
        quoted = true;
      } else if (c == '}') {
        ++pos;
        break;
      }
    }
  }
  auto token = [&]() -> std::string_view {
    while (pos < line.size() && (line[pos] == ' ' || line[pos] == '\t')) ++pos;
    const std::size_t start = pos;
    while (pos < line.size() && line[pos] != ' ' && line[pos] != '\t') ++pos;
    return line.substr(start, pos - start);
  };
  (void)token();  // the value
  const std::string_view ts = token();
  if (ts.empty() || ts.front() == '#') return std::nullopt;
  if (format == ExpositionFormat::openmetrics) {
    const auto seconds = TextParser::parseFloat(ts);
    if (!seconds || !std::isfinite(*seconds)) return std::nullopt;
    return static_cast<std::int64_t>(std::llround(*seconds * 1000.0));
  }
  std::int64_t ms = 0;
  const auto [ptr, ec] = std::from_chars(ts.data(), ts.data() + ts.size(), ms);
  if (ec != std::errc() || ptr != ts.data() + ts.size()) return std::nullopt;
  return ms;
}

// The lines that give a run's samples their family, as the file declared it.
std::string familyHeader(const Family& f, ExpositionFormat format) {
  std::string out;
  if (f.type != MetricType::unknown) out += fmt::format("# TYPE {} {}\n", f.name, metricTypeName(f.type));
  if (format == ExpositionFormat::openmetrics && !f.unit.empty()) out += fmt::format("# UNIT {} {}\n", f.name, f.unit);
  return out;
}

// Inflates a gzip file into an unlinked temporary file (TMPDIR), capped at max_bytes.
Result<std::FILE*> inflateToTemporary(const std::filesystem::path& path, std::size_t max_bytes) {
  gzFile in = gzopen(path.c_str(), "rb");
  if (!in) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::FILE* out = std::tmpfile();
  if (!out) {
    gzclose(in);
    return fail(fmt::format("cannot create a temporary file to inflate {} into: {} (set TMPDIR to a directory with "
                            "room)",
                            path.string(), std::strerror(errno)));
  }
  std::vector<char> buffer(1 << 20);
  std::size_t total = 0;
  for (;;) {
    const int n = gzread(in, buffer.data(), static_cast<unsigned>(buffer.size()));
    if (n < 0) {
      int code = 0;
      const std::string why = gzerror(in, &code);
      gzclose(in);
      std::fclose(out);
      return fail(fmt::format("{}: gzip body is corrupt or cut short ({})", path.string(), why));
    }
    if (n == 0) break;
    total += static_cast<std::size_t>(n);
    if (total > max_bytes) {
      gzclose(in);
      std::fclose(out);
      return fail(fmt::format("{}: larger than {} bytes once decompressed", path.string(), max_bytes));
    }
    if (std::fwrite(buffer.data(), 1, static_cast<std::size_t>(n), out) != static_cast<std::size_t>(n)) {
      gzclose(in);
      std::fclose(out);
      return fail(fmt::format("cannot write the inflated {} to a temporary file: {} (set TMPDIR to a directory "
                              "with room)",
                              path.string(), std::strerror(errno)));
    }
  }
  gzclose(in);
  if (std::fflush(out) != 0) {
    std::fclose(out);
    return fail(fmt::format("cannot write the inflated {}: {}", path.string(), std::strerror(errno)));
  }
  return out;
}

}  // namespace

// The text being replayed: a read-only mapping of the file (or of its inflated copy), or a string.
class ReplayReader::Body {
 public:
  explicit Body(std::string text) : text_(std::move(text)), view_(text_) {}
  Body(void* map, std::size_t size, std::FILE* temporary)
      : map_(map), size_(size), temporary_(temporary), view_(static_cast<const char*>(map), size) {}
  ~Body() {
    if (map_) munmap(map_, size_);
    if (temporary_) std::fclose(temporary_);
  }
  Body(const Body&) = delete;
  Body& operator=(const Body&) = delete;

  std::string_view view() const { return view_; }
  // Gives the pages wholly inside [from, to) back to the kernel (they are read again from the file if touched).
  void release(std::size_t from, std::size_t to) {
    if (!map_) return;
    const auto page = static_cast<std::size_t>(sysconf(_SC_PAGESIZE));
    const std::size_t first = (from + page - 1) / page * page, last = to / page * page;
    if (last > first) madvise(static_cast<char*>(map_) + first, last - first, MADV_DONTNEED);
  }

 private:
  std::string text_;
  void* map_ = nullptr;
  std::size_t size_ = 0;
  std::FILE* temporary_ = nullptr;
  std::string_view view_;
};

ReplayReader::ReplayReader(ReplayReader&&) noexcept = default;
ReplayReader& ReplayReader::operator=(ReplayReader&&) noexcept = default;
ReplayReader::~ReplayReader() = default;

Result<ReplayReader> ReplayReader::open(const std::filesystem::path& path) {
  std::FILE* file = std::fopen(path.c_str(), "rb");
  if (!file) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  unsigned char magic[2] = {0, 0};
  const bool gzipped = std::fread(magic, 1, 2, file) == 2 && magic[0] == 0x1f && magic[1] == 0x8b;
  if (gzipped) {
    std::fclose(file);
    auto inflated = inflateToTemporary(path, kMaxReplayBytes);
    if (!inflated) return tl::unexpected(inflated.error());
    file = *inflated;
  }
  if (std::fseek(file, 0, SEEK_END) != 0) {
    std::fclose(file);
    return fail(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  }
  const long size = std::ftell(file);
  if (size <= 0) {
    std::fclose(file);
    return fromText(std::string(), path.string());
  }
  void* map = mmap(nullptr, static_cast<std::size_t>(size), PROT_READ, MAP_PRIVATE, fileno(file), 0);
  if (map == MAP_FAILED) {
    std::fclose(file);
    return fail(fmt::format("{}: cannot map: {}", path.string(), std::strerror(errno)));
  }
  madvise(map, static_cast<std::size_t>(size), MADV_SEQUENTIAL);
  ReplayReader r;
  r.name_ = path.string();
  r.body_ = std::make_unique<Body>(map, static_cast<std::size_t>(size), gzipped ? file : nullptr);
  if (!gzipped) std::fclose(file);  // the mapping stays valid
  if (auto ok = r.index(); !ok) return tl::unexpected(ok.error());
  return r;
}

Result<ReplayReader> ReplayReader::fromText(std::string text, const std::string& name) {
  ReplayReader r;
  r.name_ = name;
  r.body_ = std::make_unique<Body>(std::move(text));
  if (auto ok = r.index(); !ok) return tl::unexpected(ok.error());
  return r;
}

Result<void> ReplayReader::index() {
  const std::string_view body = body_->view();
  std::string_view trimmed = body;
  while (!trimmed.empty() && (trimmed.back() == '\n' || trimmed.back() == ' ')) trimmed.remove_suffix(1);
  format_ = trimmed.ends_with("# EOF") ? ExpositionFormat::openmetrics : ExpositionFormat::prometheus_text;
  // The encoding, slice by slice (cut after a newline, which no UTF-8 sequence holds), each given back once read.
  constexpr std::size_t kSlice = std::size_t{16} << 20;
  for (std::size_t from = 0; from < body.size();) {
    std::size_t to = std::min(body.size(), from + kSlice);
    if (to < body.size()) {
      const std::size_t nl = body.find('\n', to);
      to = nl == std::string_view::npos ? body.size() : nl + 1;
    }
    if (auto fault = TextParser::findEncodingFault(body.substr(from, to - from))) {
      fault->offset += from;
      return fail(fmt::format("{}: {}", name_, TextParser::encodingError(body, *fault).message));
    }
    body_->release(from, to);
    from = to;
  }
  const ParseLimits limits = replayLimits();
  // One pass with the pull parser: every line checked, nothing kept but where the runs are. A series' labels are
  // parsed the first time its text is seen: a text seen before is the same labels, already checked (by the hash of
  // the text, as the scrape cache that stores it knows a series).
  TextParser parser(body, format_, limits);
  std::vector<Label> labels;
  std::unordered_set<std::uint64_t> checked;
  std::size_t family = std::numeric_limits<std::size_t>::max();
  std::int64_t previous = std::numeric_limits<std::int64_t>::min();
  std::size_t released = 0;
  while (parser.next()) {
    if (checked.size() >= kMaxChecked) checked.clear();  // bounded under label churn: texts are checked again
    if (checked.insert(hashBytes(parser.series())).second && !parser.labels(labels)) break;
    const auto ts = parser.timestampMs();
    if (!ts) {
      return fail(fmt::format("{}: line {}: sample {} has no timestamp (a replay file needs one on every sample)",
                              name_, parser.line(), parser.name()));
    }
    const std::size_t offset = static_cast<std::size_t>(parser.lineText().data() - body.data());
    if (parser.familyIndex() != family || *ts < previous) {
      Run run;
      run.family = std::string(parser.family().name);
      run.header = familyHeader(parser.family(), format_);
      run.begin = run.cursor = offset;
      run.line = parser.line();
      run.head_ms = *ts;
      runs_.push_back(std::move(run));
      family = parser.familyIndex();
    }
    runs_.back().end = offset + parser.lineText().size();
    previous = *ts;
    first_ms_ = samples_ == 0 ? *ts : std::min(first_ms_, *ts);
    last_ms_ = samples_ == 0 ? *ts : std::max(last_ms_, *ts);
    ++samples_;
    if (offset - released > (std::size_t{64} << 20)) {
      body_->release(released, offset);
      released = offset;
    }
  }
  if (parser.error()) return fail(fmt::format("{}: {}", name_, parser.error()->message));
  body_->release(released, body.size());
  return {};
}

void ReplayReader::releaseRead() {
  for (Run& r : runs_) {
    body_->release(r.begin, r.cursor);
    r.begin = r.cursor;
  }
}

std::optional<std::int64_t> ReplayReader::peekMs() const {
  std::optional<std::int64_t> t;
  for (const Run& r : runs_) {
    if (r.cursor < r.end && (!t || r.head_ms < *t)) t = r.head_ms;
  }
  return t;
}

bool ReplayReader::next(std::int64_t& t_ms) {
  chunk_.clear();
  chunk_lines_.clear();
  if (error_) return false;
  const auto at = peekMs();
  if (!at) return false;
  const std::int64_t t = *at;
  // This scrape's lines from every run at t, in file order, each run under its family's header.
  const std::string_view body = body_->view();
  const std::string* family = nullptr;  // the family the chunk's last lines belong to
  for (Run& r : runs_) {
    if (r.cursor >= r.end || r.head_ms != t) continue;
    if (!family || *family != r.family) {  // runs of one family in a row share its header
      for (std::size_t i = 0, n = static_cast<std::size_t>(std::count(r.header.begin(), r.header.end(), '\n'));
           i < n; ++i) {
        chunk_lines_.push_back(r.line);
      }
      chunk_ += r.header;
      family = &r.family;
    }
    std::string_view at_t;  // the text of a timestamp seen at t in this run
    while (r.cursor < r.end) {
      std::size_t eol = body.find('\n', r.cursor);
      if (eol == std::string_view::npos || eol > r.end) eol = r.end;
      const std::string_view line = body.substr(r.cursor, eol - r.cursor);
      if (!line.empty() && line.front() != '#') {
        // The timestamp is the line's last token unless an exemplar follows it (a '#' somewhere): a line that
        // ends in the text already read as t is at t without reading it again.
        const std::size_t space = line.find_last_of(" \t");
        const bool last_is_ts = space != std::string_view::npos && line.find('#') == std::string_view::npos;
        const std::string_view tail = last_is_ts ? line.substr(space + 1) : std::string_view();
        if (at_t.empty() || tail != at_t) {
          const auto ts = lineTimestampMs(line, format_);
          if (ts && *ts != t) {
            r.head_ms = *ts;
            break;
          }
          if (ts) at_t = tail;
        }
        chunk_.append(line);
        chunk_ += '\n';
        chunk_lines_.push_back(r.line);
      }
      r.cursor = std::min(eol + 1, r.end);
      ++r.line;
    }
  }
  if (format_ == ExpositionFormat::openmetrics) chunk_ += "# EOF\n";
  chunk_ms_ = t_ms = t;
  if (++steps_ % kReleaseEvery == 0) releaseRead();
  return true;
}

Result<store::CommitStats> ReplayReader::commit(TargetIngester& ingester) {
  if (error_) return tl::unexpected(*error_);
  auto stored = ingester.ingest(chunk_, format_, chunk_ms_, replayLimits());
  if (stored) return stored->commit;
  // The ingester counts the lines of this scrape: name the file's.
  const auto& e = stored.error();
  const int line = e.line >= 1 && static_cast<std::size_t>(e.line) <= chunk_lines_.size()
                       ? chunk_lines_[static_cast<std::size_t>(e.line) - 1]
                       : e.line;
  std::string message = e.message;
  if (const std::string prefix = fmt::format("line {}: ", e.line); message.starts_with(prefix)) {
    message = message.substr(prefix.size());
  }
  error_ = Error{fmt::format("{}: line {}: {}", name_, line, message)};
  return tl::unexpected(*error_);
}

}  // namespace hotspotd::ingest
