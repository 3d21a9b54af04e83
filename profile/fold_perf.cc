#include "profile/fold_perf.h"

#include <algorithm>
#include <cstring>
#include <deque>
#include <unordered_map>
#include <vector>

#include "profile/analysis.h"

namespace hotspotd::profile {
namespace {

// Perl's \s and \d and \w on bytes.
inline bool isSpace(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' || c == '\v';
}
inline bool isDigit(char c) {
  return c >= '0' && c <= '9';
}
inline bool isWord(char c) {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || isDigit(c) || c == '_';
}
inline bool isLowerHex(char c) {
  return isDigit(c) || (c >= 'a' && c <= 'f');
}

struct EventLine {
  std::string_view comm, pid, tid;  // pid empty: not printed
  std::string_view period;          // digits, or empty
  std::string_view event;           // empty: none recognised
};

// `^(\S.+?)\s+(\d+)\/*(\d+)*\s+`: the shortest command (two characters at least) followed by whitespace, the pid
// (or tid), optionally `/tid`, and whitespace.
bool parseEventHead(std::string_view line, EventLine& out) {
  const std::size_t n = line.size();
  if (n < 2 || isSpace(line[0])) return false;
  for (std::size_t k = 2; k < n; ++k) {
    if (!isSpace(line[k])) continue;
    std::size_t j = k;
    while (j < n && isSpace(line[j])) ++j;
    const std::size_t d1 = j;
    while (j < n && isDigit(line[j])) ++j;
    if (j == d1) continue;
    const std::size_t d1_end = j;
    while (j < n && line[j] == '/') ++j;
    const std::size_t d2 = j;
    while (j < n && isDigit(line[j])) ++j;
    const std::size_t d2_end = j;
    if (j >= n || !isSpace(line[j])) {
      // Backtracking cannot help: a shorter first number leaves digits where whitespace or '/' must come, and the
      // second number is optional only before whitespace.
      continue;
    }
    out.comm = line.substr(0, k);
    out.pid = line.substr(d1, d1_end - d1);
    out.tid = line.substr(d2, d2_end - d2);
    return true;
  }
  return false;
}

// `:\s*(\d+)*\s+(\S+):\s*$` anywhere in the line: the period (if printed) and the event name at the end.
void parseEventTail(std::string_view line, EventLine& out) {
  std::size_t end = line.size();
  while (end > 0 && isSpace(line[end - 1])) --end;
  if (end == 0 || line[end - 1] != ':') return;
  const std::size_t token_end = end - 1;
  std::size_t t = token_end;
  while (t > 0 && !isSpace(line[t - 1])) --t;
  if (t == token_end || t == 0) return;  // no event name, or nothing before it
  std::size_t p = t;
  while (p > 0 && isSpace(line[p - 1])) --p;  // \s+ (at least one: t > p since line[t-1] is a space)
  std::size_t digits_end = p;
  while (p > 0 && isDigit(line[p - 1])) --p;
  const std::size_t digits_start = p;
  while (p > 0 && isSpace(line[p - 1])) --p;
  if (p == 0 || line[p - 1] != ':') {
    if (digits_start == digits_end) return;
    // The digits may instead belong to something else (`...: cycles` after `x1 `): no colon, no match.
    return;
  }
  out.period = line.substr(digits_start, digits_end - digits_start);
  out.event = line.substr(t, token_end - t);
}

// Parses the decimal digits of a period; "" and "0" mean 1, as in the reference.
std::uint64_t periodValue(std::string_view digits) {
  if (digits.empty() || digits == "0") return 1;
  std::uint64_t v = 0;
  for (char c : digits) v = v * 10 + static_cast<std::uint64_t>(c - '0');
  return v;
}

class Folder {
 public:
  explicit Folder(const PerfFoldOptions& options) : options_(options) { result_.event = options.event_filter; }

  void line(std::string_view line) {
    if (!line.empty() && line[0] == '#') return;
    if (line.empty()) {
      endSample();
      return;
    }
    EventLine ev;
    if (parseEventHead(line, ev)) {
      eventLine(line, ev);
      return;
    }
    stackLine(line);
  }

  // For folds that decide themselves which samples count and what they weigh (off-CPU time): starts a sample of
  // command `comm` counting `period`, takes its stack lines, ends it.
  void begin(std::string_view comm, std::uint64_t period) {
    sample_.clear();
    period_ = period;
    setName(comm);
  }
  void stack(std::string_view line) { stackLine(line); }
  void end() { endSample(); }
  void skip() {
    have_pname_ = false;
    sample_.clear();
  }

  PerfFoldResult finish() {
    // Each distinct (command, frame groups) sequence becomes its text; sequences that read the same (the same
    // function at two offsets, say) add up.
    std::string text;
    for (const auto& [key, count] : samples_) {
      std::uint32_t id;
      std::memcpy(&id, key.data(), sizeof id);
      text = pnames_[id];
      for (std::size_t at = sizeof id; at < key.size(); at += sizeof id) {
        std::memcpy(&id, key.data() + at, sizeof id);
        const Group& g = groups_[id];
        for (std::uint32_t f = g.first; f < g.first + g.count; ++f) {
          text += ';';
          text += group_frames_[f];
        }
      }
      result_.stacks.add(text, count);
    }
    return std::move(result_);
  }

 private:
  // The frames one stack line gives (an inline chain gives several), rewritten once and shared by every line
  // that reads the same.
  struct Group {
    std::uint32_t first = 0;
    std::uint32_t count = 0;
  };
  static constexpr std::uint32_t kNoFrames = 0xFFFFFFFF;  // a line the rules skip
  static constexpr std::uint32_t kUnrecognized = 0xFFFFFFFE;

  void endSample() {
    if (!have_pname_) return;
    // The key: the command's id, then the groups root first (they were collected leaf first).
    key_.resize(sizeof(std::uint32_t) * (1 + sample_.size()));
    char* out = key_.data();
    std::memcpy(out, &pname_id_, sizeof pname_id_);
    out += sizeof pname_id_;
    for (std::size_t g = sample_.size(); g-- > 0;) {
      std::memcpy(out, &sample_[g], sizeof(std::uint32_t));
      out += sizeof(std::uint32_t);
    }
    auto it = samples_.find(key_);
    if (it == samples_.end()) {
      samples_.emplace(key_, period_);
    } else {
      it->second += period_;
    }
    ++result_.samples;
    have_pname_ = false;
    sample_.clear();
  }

  void eventLine(std::string_view line, EventLine& ev) {
    parseEventTail(line, ev);
    if (!ev.event.empty()) {
      if (result_.event.empty()) {
        result_.event = std::string(ev.event);
      } else if (ev.event != result_.event) {
        ++result_.other_events;
        return;  // the sample is skipped: no command name, so its stack lines are too
      }
    }
    period_ = options_.use_period ? periodValue(ev.period) : 1;
    std::string_view pid = ev.pid, tid = ev.tid;
    if (tid.empty() || tid == "0") {
      tid = pid;
      pid = "?";
    }
    pname_.assign(ev.comm);
    appendIds(pid, tid);
  }

  void setName(std::string_view comm) {
    pname_.assign(comm);
    appendIds({}, {});
  }

  void appendIds(std::string_view pid, std::string_view tid) {
    if (options_.include_tid) {
      pname_ += '-';
      pname_ += pid;
      pname_ += '/';
      pname_ += tid;
    } else if (options_.include_pid) {
      pname_ += '-';
      pname_ += pid;
    }
    for (char& c : pname_) {
      if (c == ' ') c = '_';
    }
    // Perl's truth: "" and "0" are false, and a sample without a true name is dropped. Frames already collected
    // stay (two event lines without a blank line between fold into one sample, as in the reference).
    have_pname_ = !pname_.empty() && pname_ != "0";
    java_ = pname_ == "java";
    auto [it, added] = pname_ids_.try_emplace(pname_, static_cast<std::uint32_t>(pnames_.size()));
    if (added) pnames_.push_back(pname_);
    pname_id_ = it->second;
  }

  // `^\s*(\w+)\s*(.+) \((.*)\)`. What follows the address decides the frames (the address itself only for an
  // unknown symbol with --addrs), so each distinct rest of line is rewritten once.
  void stackLine(std::string_view line) {
    const std::size_t n = line.size();
    std::size_t i = 0;
    while (i < n && isSpace(line[i])) ++i;
    const std::size_t pc_start = i;
    while (i < n && isWord(line[i])) ++i;
    if (i == pc_start) {
      ++result_.unrecognized_lines;
      return;
    }
    const std::size_t pc_end = i;
    const bool with_pc = options_.include_addrs && line.find("[unknown]", pc_end) != std::string_view::npos;
    const std::string_view key = line.substr(with_pc ? pc_start : pc_end);
    auto& cache = cache_[with_pc ? 2 : java_ ? 1 : 0];
    std::uint32_t id;
    if (auto it = cache.find(key); it != cache.end()) {
      id = it->second;
    } else {
      id = parseFrames(line, pc_start, pc_end);
      cache.emplace(key, id);
    }
    if (id == kUnrecognized) {
      ++result_.unrecognized_lines;
      return;
    }
    if (!have_pname_ || id == kNoFrames) return;  // a sample of a filtered event, or a line the rules skip
    sample_.push_back(id);
  }

  // The full rules for one stack line: a new group, or kNoFrames / kUnrecognized.
  std::uint32_t parseFrames(std::string_view line, std::size_t pc_start, std::size_t pc_end) {
    const std::size_t n = line.size();
    const std::string_view pc = line.substr(pc_start, pc_end - pc_start);
    std::size_t i = pc_end;
    while (i < n && isSpace(line[i])) ++i;
    const std::size_t ws_end = i;
    // The module: from the last " (" that has a ")" after it to the last ")". The function is what lies between
    // the address (and the whitespace after it) and that " ("; it has at least one character, taken from the
    // whitespace if need be, as the regex's backtracking does ("addr  (module)" has the function " ").
    const void* rp = memrchr(line.data(), ')', n);
    if (!rp) return kUnrecognized;
    const std::size_t close = static_cast<std::size_t>(static_cast<const char*>(rp) - line.data());
    for (std::size_t k = close; k-- > pc_end + 2;) {
      if (line[k] != '(' || line[k - 1] != ' ') continue;
      const std::size_t space = k - 1;
      const std::size_t func_start = std::min(ws_end, space - 1);
      frames_.clear();
      owned_used_ = 0;
      if (!stackFrames(pc, line.substr(func_start, space - func_start), line.substr(k + 1, close - k - 1))) {
        return kNoFrames;
      }
      Group g{static_cast<std::uint32_t>(group_frames_.size()), static_cast<std::uint32_t>(frames_.size())};
      for (std::string_view f : frames_) group_frames_.emplace_back(f);
      groups_.push_back(g);
      return static_cast<std::uint32_t>(groups_.size() - 1);
    }
    return kUnrecognized;
  }

  // Appends the frames of one line to frames_; false if the rules skip the line.
  bool stackFrames(std::string_view pc, std::string_view raw, std::string_view mod) {
    // "+0x1f" offsets, as perf prints them since Linux 4.8.
    if (const std::size_t plus = raw.rfind("+0x"); plus != std::string_view::npos && plus + 3 < raw.size()) {
      bool hex = true;
      for (std::size_t k = plus + 3; k < raw.size() && hex; ++k) hex = isLowerHex(raw[k]);
      if (hex) raw = raw.substr(0, plus);
    }
    // A process name, not a frame. stackcollapse-perf.pl skips every name that starts with "(", which also drops
    // C++ functions in anonymous namespaces ("(anonymous namespace)::Pricing::recalculate"): those are kept here,
    // the one place where the output differs from it.
    if (!raw.empty() && raw[0] == '(' && !raw.starts_with("(anonymous namespace)")) return false;

    const bool kernel = options_.annotate_kernel && (mod.starts_with('[') || mod.ends_with("vmlinux")) &&
                        mod.find("unknown") == std::string_view::npos;
    const bool jit = options_.annotate_jit && isPerfMap(mod);
    // Inline chains `a->b->c`; trailing empty parts are dropped, as Perl's split does.
    std::size_t parts_end = raw.size();
    while (parts_end >= 2 && raw.substr(0, parts_end).ends_with("->")) parts_end -= 2;
    std::string_view rest = raw.substr(0, parts_end);
    bool first = true;
    for (;;) {
      const std::size_t arrow = rest.find("->");
      const std::string_view part = arrow == std::string_view::npos ? rest : rest.substr(0, arrow);
      frame(pc, part, mod, first, kernel, jit);
      first = false;
      if (arrow == std::string_view::npos) break;
      rest = rest.substr(arrow + 2);
    }
    return true;
  }

  static bool isPerfMap(std::string_view mod) {
    for (std::size_t at = mod.find("/tmp/perf-"); at != std::string_view::npos; at = mod.find("/tmp/perf-", at + 1)) {
      std::size_t k = at + 10;
      const std::size_t digits = k;
      while (k < mod.size() && isDigit(mod[k])) ++k;
      if (k > digits && mod.substr(k, 4) == ".map") return true;
    }
    return false;
  }

  void frame(std::string_view pc, std::string_view func, std::string_view mod, bool first, bool kernel, bool jit) {
    std::string* own = nullptr;
    auto owned = [&]() -> std::string& {
      if (!own) {
        if (owned_used_ == owned_.size()) owned_.emplace_back();
        own = &owned_[owned_used_++];
        own->assign(func);
      }
      return *own;
    };
    if (func == "[unknown]") {
      std::string_view name = "unknown";
      if (mod != "[unknown]") {
        name = mod;
        if (const std::size_t slash = name.rfind('/'); slash != std::string_view::npos) name = name.substr(slash + 1);
      }
      std::string& s = owned();
      s.assign("[");
      s += name;
      if (options_.include_addrs) {
        s += " <";
        s += pc;
        s += '>';
      }
      s += ']';
    }
    // Tidying, on the frame as it stands (a copy only when something changes).
    {
      std::string_view cur = own ? std::string_view(*own) : func;
      if (cur.find(';') != std::string_view::npos) {
        for (char& c : owned()) {
          if (c == ';') c = ':';
        }
        cur = *own;
      }
      if (const std::size_t paren = cur.find('('); paren != std::string_view::npos) {
        // Go method names (`net/http.(*Client).Do`) keep their parentheses.
        const std::size_t go = cur.find(".(");
        const std::size_t go_end = go == std::string_view::npos ? go : cur.rfind(").");
        const bool go_like = go != std::string_view::npos && go_end != std::string_view::npos && go_end >= go + 2;
        if (!go_like) {
          for (std::size_t at = paren; at != std::string_view::npos; at = cur.find('(', at + 1)) {
            if (cur.substr(at + 1).starts_with("anonymous namespace)")) continue;
            owned().resize(at);
            cur = *own;
            break;
          }
        }
      }
      if (cur.find_first_of("\"'") != std::string_view::npos) {
        std::string& s = owned();
        std::erase_if(s, [](char c) { return c == '"' || c == '\''; });
        cur = s;
      }
      if (java_ && cur.find('/') != std::string_view::npos && cur.starts_with('L')) {
        owned().erase(0, 1);
      }
    }
    if (!first) {
      std::string_view cur = own ? std::string_view(*own) : func;
      if (cur.find("_[i]") == std::string_view::npos) owned() += "_[i]";
    } else if (kernel) {
      owned() += "_[k]";
    } else if (jit) {
      std::string_view cur = own ? std::string_view(*own) : func;
      if (cur.find("_[j]") == std::string_view::npos) owned() += "_[j]";
    }
    frames_.push_back(own ? std::string_view(*own) : func);
  }

  const PerfFoldOptions& options_;
  PerfFoldResult result_;
  std::string pname_;
  bool have_pname_ = false;
  bool java_ = false;  // Java's `Lpkg/Class` names are tidied for a command named java
  std::uint32_t pname_id_ = 0;
  std::uint64_t period_ = 1;
  std::unordered_map<std::string, std::uint32_t, StackHash, std::equal_to<>> pname_ids_;
  std::vector<std::string> pnames_;
  // Rest of stack line -> group: for other commands, for java, and (with --addrs) by whole line for unknown symbols.
  std::unordered_map<std::string_view, std::uint32_t, StackHash, std::equal_to<>> cache_[3];
  std::vector<Group> groups_;
  std::vector<std::string> group_frames_;
  std::vector<std::uint32_t> sample_;  // the current sample's groups, leaf first
  std::unordered_map<std::string, std::uint64_t, StackHash, std::equal_to<>> samples_;  // by packed ids
  std::string key_;
  // Scratch for rewriting one line.
  std::vector<std::string_view> frames_;  // views into the input or into owned_
  std::deque<std::string> owned_;         // rewritten frames (a deque: they never move)
  std::size_t owned_used_ = 0;
};

}  // namespace

PerfFoldResult foldPerfScript(std::string_view input, const PerfFoldOptions& options) {
  Folder folder(options);
  const char* p = input.data();
  const char* end = p + input.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    folder.line(std::string_view(p, static_cast<std::size_t>(line_end - p)));
    p = nl ? nl + 1 : end;
  }
  return folder.finish();
}

}  // namespace hotspotd::profile

namespace hotspotd::profile {
namespace {

// The head of a switch line, before `at`: `comm tid [cpu] secs.frac:` (or `comm pid/tid ...`; the cpu optional).
struct SwitchHead {
  std::string_view comm;
  std::uint64_t tid = 0;
  std::uint64_t time_ns = 0;
};

bool parseDigits(std::string_view s, std::uint64_t& out, std::size_t max_digits) {
  if (s.empty() || s.size() > max_digits) return false;
  out = 0;
  for (char c : s) {
    if (!isDigit(c)) return false;
    out = out * 10 + static_cast<std::uint64_t>(c - '0');
  }
  return true;
}

void trimRight(std::string_view& s) {
  while (!s.empty() && isSpace(s.back())) s.remove_suffix(1);
}

bool parseSwitchHead(std::string_view line, std::size_t at, SwitchHead& out) {
  std::string_view head = line.substr(0, at);
  trimRight(head);
  while (!head.empty() && isDigit(head.back())) head.remove_suffix(1);  // a software event's period
  trimRight(head);
  if (head.empty() || head.back() != ':') return false;
  head.remove_suffix(1);
  std::size_t sp = head.rfind(' ');
  if (sp == std::string_view::npos) return false;
  const std::string_view time = head.substr(sp + 1);
  const std::size_t dot = time.find('.');
  std::uint64_t secs = 0, frac = 0;
  if (dot == std::string_view::npos || !parseDigits(time.substr(0, dot), secs, 10) ||
      !parseDigits(time.substr(dot + 1), frac, 9)) {
    return false;
  }
  for (std::size_t d = time.size() - dot - 1; d < 9; ++d) frac *= 10;
  out.time_ns = secs * 1'000'000'000 + frac;
  head = head.substr(0, sp);
  trimRight(head);
  if (!head.empty() && head.back() == ']') {
    const std::size_t open = head.rfind('[');
    if (open == std::string_view::npos) return false;
    head = head.substr(0, open);
    trimRight(head);
  }
  sp = head.rfind(' ');
  if (sp == std::string_view::npos) return false;
  std::string_view tid = head.substr(sp + 1);
  if (const std::size_t slash = tid.find('/'); slash != std::string_view::npos) tid = tid.substr(slash + 1);
  if (!parseDigits(tid, out.tid, 10)) return false;
  out.comm = head.substr(0, sp);
  trimRight(out.comm);
  return !out.comm.empty();
}

constexpr std::string_view kSwitchRecord = " PERF_RECORD_SWITCH";

// Where a switch-out sample's event name starts: the context-switches software event (`context-switches:` or
// `context-switches/period=1/:`) or the sched:sched_switch tracepoint; npos for any other line.
std::size_t switchOutAt(std::string_view line) {
  for (std::string_view marker : {std::string_view(" context-switches:"), std::string_view(" context-switches/"),
                                  std::string_view(" sched:sched_switch:")}) {
    if (const std::size_t at = line.find(marker); at != std::string_view::npos) return at;
  }
  return std::string_view::npos;
}

// Calls f(line) for each line of the text.
template <typename F>
void forEachLine(std::string_view input, F&& f) {
  const char* p = input.data();
  const char* end = p + input.size();
  while (p < end) {
    const char* nl = static_cast<const char*>(std::memchr(p, '\n', static_cast<std::size_t>(end - p)));
    const char* line_end = nl ? nl : end;
    f(std::string_view(p, static_cast<std::size_t>(line_end - p)));
    p = nl ? nl + 1 : end;
  }
}

// Off-CPU frames: `_[o]` on every frame but the kernel's.
std::string markOffCpu(std::string_view stack) {
  std::string out;
  out.reserve(stack.size() + 32);
  std::size_t pos = 0;
  while (pos <= stack.size()) {
    std::size_t semi = stack.find(';', pos);
    if (semi == std::string_view::npos) semi = stack.size();
    const std::string_view frame = stack.substr(pos, semi - pos);
    if (!out.empty()) out += ';';
    out += frame;
    if (!frame.ends_with("_[k]")) out += "_[o]";
    pos = semi + 1;
  }
  return out;
}

}  // namespace

OffCpuFoldResult foldOffCpuScript(std::string_view input, const OffCpuFoldOptions& options) {
  OffCpuFoldResult result;
  // First pass: each switch-out's interval, ended by the thread's next switch-in.
  struct Pending {
    std::size_t sample;
    std::uint64_t out_ns;
  };
  std::vector<std::uint64_t> weight_us;  // by switch-out, in order; 0: not folded
  std::vector<bool> runnable;
  std::unordered_map<std::uint64_t, Pending> pending;
  std::uint64_t first_ns = UINT64_MAX, last_ns = 0;
  auto close = [&](const Pending& p, std::uint64_t in_ns) {
    const std::uint64_t us = in_ns > p.out_ns ? (in_ns - p.out_ns) / 1000 : 0;
    if (us < std::max<std::uint64_t>(1, options.min_block_us)) {
      ++result.short_intervals;
      return;
    }
    weight_us[p.sample] = us;
    ++result.intervals;
  };
  forEachLine(input, [&](std::string_view line) {
    if (line.empty() || isSpace(line[0]) || line[0] == '#') return;
    SwitchHead head;
    if (const std::size_t at = line.find(kSwitchRecord); at != std::string_view::npos) {
      if (!parseSwitchHead(line, at, head)) return;
      first_ns = std::min(first_ns, head.time_ns);
      last_ns = std::max(last_ns, head.time_ns);
      const std::string_view rest = line.substr(at + kSwitchRecord.size());
      auto it = pending.find(head.tid);
      if (it == pending.end()) return;
      if (rest.starts_with(" IN") || rest.starts_with("_CPU_WIDE IN")) {
        close(it->second, head.time_ns);
        pending.erase(it);
      } else if (rest.find(" preempt") != std::string_view::npos) {
        runnable[it->second.sample] = true;  // the switch-out the sample before it recorded: preempted, runnable
      }
      return;
    }
    const std::size_t at = switchOutAt(line);
    if (at == std::string_view::npos || !parseSwitchHead(line, at, head)) return;
    first_ns = std::min(first_ns, head.time_ns);
    last_ns = std::max(last_ns, head.time_ns);
    const std::size_t sample = weight_us.size();
    weight_us.push_back(0);
    const std::size_t state = line.find(" prev_state=", at);
    runnable.push_back(state != std::string_view::npos && line.substr(state + 12).starts_with('R'));
    ++result.switches;
    if (auto it = pending.find(head.tid); it != pending.end()) {
      it->second = Pending{sample, head.time_ns};  // a switch-in perf lost: the older interval is unknown
    } else if (pending.size() < options.max_threads) {
      pending.emplace(head.tid, Pending{sample, head.time_ns});
    }
  });
  for (const auto& [tid, p] : pending) close(p, last_ns);
  if (last_ns > first_ns) result.span_us = (last_ns - first_ns) / 1000;

  // Second pass: fold each weighed switch-out's stack, blocked and runnable apart; cpu-clock samples on their own.
  PerfFoldOptions weighed;
  weighed.annotate_kernel = true;
  Folder blocked(weighed), preempted(weighed);
  PerfFoldOptions sampled;
  sampled.event_filter = "cpu-clock";
  sampled.use_period = false;
  sampled.annotate_kernel = true;
  Folder oncpu(sampled);
  Folder* active = nullptr;
  bool active_oncpu = false;
  std::size_t sample = 0;
  auto endActive = [&] {
    if (active) active->end();
    if (active_oncpu) oncpu.line({});
    active = nullptr;
    active_oncpu = false;
  };
  forEachLine(input, [&](std::string_view line) {
    if (!line.empty() && line[0] == '#') return;
    if (line.empty()) {
      endActive();
      return;
    }
    if (isSpace(line[0])) {
      if (active) active->stack(line);
      if (active_oncpu) oncpu.line(line);
      return;
    }
    endActive();
    if (line.find(kSwitchRecord) != std::string_view::npos) return;
    SwitchHead head;
    if (const std::size_t at = switchOutAt(line); at != std::string_view::npos) {
      if (!parseSwitchHead(line, at, head)) return;  // not counted in the first pass either
      const std::size_t k = sample++;
      if (k >= weight_us.size() || weight_us[k] == 0) return;
      active = runnable[k] ? &preempted : &blocked;
      active->begin(head.comm, weight_us[k]);
      (runnable[k] ? result.runnable_us : result.blocked_us) += weight_us[k];
      return;
    }
    active_oncpu = true;
    oncpu.line(line);
  });
  endActive();

  blocked.finish().stacks.forEach([&](std::string_view stack, std::uint64_t us) {
    std::string s = markOffCpu(stack);
    s += ';';
    s += waitClassFrame(classifyWait(stack));
    result.stacks.add(s, us);
  });
  preempted.finish().stacks.forEach([&](std::string_view stack, std::uint64_t us) {
    std::string s = markOffCpu(stack);
    s += ';';
    s += waitClassFrame(WaitClass::run_queue);
    result.stacks.add(s, us);
  });
  PerfFoldResult on = oncpu.finish();
  result.oncpu_samples = on.samples;
  result.oncpu = std::move(on.stacks);
  return result;
}

}  // namespace hotspotd::profile
