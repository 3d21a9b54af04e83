#include "profile/capture.h"

#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <cerrno>
#include <charconv>
#include <cstring>
#include <fstream>
#include <optional>
#include <thread>

#include <fmt/format.h>

#include "core/base64.h"
#include "core/file.h"
#include "core/http_client.h"
#include "core/subprocess.h"
#include "core/text.h"
#include "core/url.h"
#include "profile/analysis.h"
#include "profile/fold_perf.h"
#include "profile/pprof.h"

namespace hotspotd::profile {
namespace {

std::optional<pid_t> parsePid(std::string_view text) {
  while (!text.empty() && (text.back() == '\n' || text.back() == ' ' || text.back() == '\r')) text.remove_suffix(1);
  while (!text.empty() && text.front() == ' ') text.remove_prefix(1);
  pid_t pid = 0;
  const auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), pid);
  if (ec != std::errc() || ptr != text.data() + text.size() || pid <= 0) return std::nullopt;
  return pid;
}

bool alive(pid_t pid) {
  return kill(pid, 0) == 0 || errno == EPERM;
}

// Removes a file when it goes out of scope.
struct Remove {
  std::filesystem::path path;
  ~Remove() {
    std::error_code ec;
    std::filesystem::remove(path, ec);
  }
};

std::string seconds(Duration d) {
  return fmt::format("{:.3f}", std::chrono::duration<double>(d).count());
}

}  // namespace

Result<std::vector<pid_t>> resolveProcesses(const ProcessSelector& s) {
  if (s.pid) {
    if (!alive(*s.pid)) return fail(fmt::format("process {} does not exist", *s.pid));
    return std::vector<pid_t>{*s.pid};
  }
  if (!s.pid_file.empty()) {
    auto text = readFile(s.pid_file);
    if (!text) return fail(fmt::format("pid file: {}", text.error().message));
    auto pid = parsePid(*text);
    if (!pid) return fail(fmt::format("pid file {} does not hold a process id", s.pid_file.string()));
    if (!alive(*pid))
      return fail(fmt::format("process {} from {} does not exist (stale pid file?)", *pid, s.pid_file.string()));
    return std::vector<pid_t>{*pid};
  }
  if (!s.systemd_unit.empty()) {
    auto r =
        runProcess({"systemctl", "show", "--property=MainPID", "--value", s.systemd_unit}, std::chrono::seconds(10));
    if (!r) return tl::unexpected(r.error());
    auto pid = r->exit_code == 0 ? parsePid(r->out) : std::nullopt;
    if (!pid) {
      return fail(fmt::format("systemd unit {} has no main process (is it running? systemctl status {})",
                              s.systemd_unit, s.systemd_unit));
    }
    return std::vector<pid_t>{*pid};
  }
  if (!s.process_name.empty()) {
    std::vector<pid_t> pids;
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator("/proc", ec)) {
      const auto pid = parsePid(entry.path().filename().string());
      if (!pid || *pid == getpid()) continue;
      auto comm = readFile(entry.path() / "comm");
      std::string name = comm ? *comm : std::string();
      while (!name.empty() && name.back() == '\n') name.pop_back();
      std::error_code link_ec;
      const auto exe = std::filesystem::read_symlink(entry.path() / "exe", link_ec);
      if (name == s.process_name || (!link_ec && exe.filename() == s.process_name)) pids.push_back(*pid);
    }
    if (pids.empty()) return fail(fmt::format("no process named {} is running", s.process_name));
    std::sort(pids.begin(), pids.end());
    if (pids.size() > 64) pids.resize(64);
    return pids;
  }
  if (!s.cgroup.empty()) {
    const auto dir = s.cgroup.is_absolute() ? s.cgroup : std::filesystem::path("/sys/fs/cgroup") / s.cgroup;
    auto procs = readFile(dir / "cgroup.procs");
    if (!procs) return fail(fmt::format("cgroup {}: {}", dir.string(), procs.error().message));
    std::vector<pid_t> pids;
    std::size_t pos = 0;
    while (pos < procs->size()) {
      std::size_t end = procs->find('\n', pos);
      if (end == std::string::npos) end = procs->size();
      if (auto pid = parsePid(std::string_view(*procs).substr(pos, end - pos))) pids.push_back(*pid);
      pos = end + 1;
    }
    if (pids.empty()) return fail(fmt::format("cgroup {} has no processes", dir.string()));
    return pids;
  }
  return fail("no way to find the process (give pid, pid_file, systemd_unit, process_name or cgroup)");
}

Result<void> perfAllowed() {
  if (geteuid() == 0) return {};
  // CAP_PERFMON (38) or CAP_SYS_ADMIN (21) in the effective set, else what perf_event_paranoid allows.
  if (auto status = readFile("/proc/self/status")) {
    const auto at = status->find("CapEff:");
    if (at != std::string::npos) {
      const std::uint64_t caps = std::strtoull(status->c_str() + at + 7, nullptr, 16);
      if (caps & ((std::uint64_t{1} << 38) | (std::uint64_t{1} << 21))) return {};
    }
  }
  auto paranoid = readFile("/proc/sys/kernel/perf_event_paranoid");
  const int level = paranoid ? std::atoi(paranoid->c_str()) : 2;
  if (level >= 3) {
    return fail(
        fmt::format("perf_event_open is not permitted (kernel.perf_event_paranoid = {}); give hotspotd "
                    "CAP_PERFMON (the shipped unit does) or lower the sysctl",
                    level));
  }
  return {};
}

std::string_view captureKindName(CaptureKind kind) {
  switch (kind) {
    case CaptureKind::cpu: return "cpu";
    case CaptureKind::offcpu: return "offcpu";
    case CaptureKind::both: return "both";
  }
  return "cpu";
}

namespace {

// Context switches the processes' threads made so far (voluntary and not), from /proc; at most 4,096 threads read.
std::uint64_t contextSwitches(const std::vector<pid_t>& pids) {
  std::uint64_t total = 0;
  std::size_t threads = 0;
  for (pid_t pid : pids) {
    std::error_code ec;
    for (const auto& task : std::filesystem::directory_iterator(fmt::format("/proc/{}/task", pid), ec)) {
      if (++threads > 4096) return total;
      auto status = readFile(task.path() / "status");
      if (!status) continue;
      for (std::string_view key : {"voluntary_ctxt_switches:", "nonvoluntary_ctxt_switches:"}) {
        const auto at = status->find(key);
        if (at != std::string::npos) total += std::strtoull(status->c_str() + at + key.size(), nullptr, 10);
      }
    }
  }
  return total;
}

// CPU time the processes used so far (all their threads), in seconds, from /proc/<pid>/stat.
double cpuSeconds(const std::vector<pid_t>& pids) {
  static const double ticks = static_cast<double>(sysconf(_SC_CLK_TCK) > 0 ? sysconf(_SC_CLK_TCK) : 100);
  double total = 0;
  for (pid_t pid : pids) {
    auto stat = readFile(fmt::format("/proc/{}/stat", pid));
    if (!stat) continue;
    // After the command's closing parenthesis: state is field 3; utime and stime are fields 14 and 15.
    const auto close = stat->rfind(')');
    if (close == std::string::npos) continue;
    std::string_view rest = std::string_view(*stat).substr(close + 1);
    std::uint64_t utime = 0, stime = 0;
    for (int field = 3; field <= 15 && !rest.empty(); ++field) {
      rest.remove_prefix(std::min(rest.find_first_not_of(' '), rest.size()));
      const auto end = std::min(rest.find(' '), rest.size());
      if (field == 14) std::from_chars(rest.data(), rest.data() + end, utime);
      if (field == 15) std::from_chars(rest.data(), rest.data() + end, stime);
      rest.remove_prefix(end);
    }
    total += static_cast<double>(utime + stime) / ticks;
  }
  return total;
}

// How busy the processes are now, from a quarter of a second's look at /proc (cut short by `cancel`): what a
// capture's size depends on.
struct Pace {
  double switches_per_s = 0;
  double cpus = 0;  // CPUs used on average
};
Pace measurePace(const std::vector<pid_t>& pids, const std::atomic<bool>* cancel) {
  const std::uint64_t switches = contextSwitches(pids);
  const double cpu = cpuSeconds(pids);
  const auto start = std::chrono::steady_clock::now();
  for (int step = 0; step < 25 && !(cancel && cancel->load()); ++step) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  const std::uint64_t switches_after = contextSwitches(pids);
  Pace p;
  p.switches_per_s = static_cast<double>(switches_after > switches ? switches_after - switches : 0) / elapsed;
  p.cpus = std::max(0.0, cpuSeconds(pids) - cpu) / elapsed;
  return p;
}

// How long an off-CPU capture may record so that it takes at most `max_switches` switch events, at the rate the
// processes switch now; the reason when it is shorter than asked.
Duration switchBoundedDuration(const Pace& pace, const CaptureOptions& options, std::string& note) {
  const double rate = pace.switches_per_s;
  const double asked = std::chrono::duration<double>(options.duration).count();
  if (rate * asked <= static_cast<double>(options.max_switches)) return options.duration;
  const double allowed = std::max(1.0, static_cast<double>(options.max_switches) / rate);
  if (allowed >= asked) return options.duration;
  note = fmt::format(
      "recorded {:.1f} s of the {:.0f} s asked: the process switched about {:.0f} times a second, "
      "and a capture records at most {} switches (max_switches)",
      allowed, asked, rate, options.max_switches);
  return std::chrono::duration_cast<Duration>(std::chrono::duration<double>(allowed));
}

// The bytes of stack a DWARF sample copies: `stack_bytes`, or less when that many samples (on-CPU at the
// frequency on every CPU the processes use, at least one; one per switch) would not fit in max_size. perf stops
// writing at max_size, so a capture that would not fit loses its end; a shallower copy keeps all of it and loses
// the outermost frames of deep stacks instead. Never below 1 KB; the reason when it is smaller than asked.
std::uint32_t dwarfStackBytes(const Pace& pace, bool oncpu, bool offcpu, Duration duration,
                              const CaptureOptions& options, std::string& note) {
  constexpr double kRecordOverhead = 256;  // a sample's header, registers and call chain besides the stack copy
  const double secs = std::chrono::duration<double>(duration).count();
  double samples = 0;
  if (oncpu) samples += options.frequency * std::max(1.0, pace.cpus) * secs;
  if (offcpu) samples += std::min(pace.switches_per_s * secs, static_cast<double>(options.max_switches));
  const double room = 0.9 * static_cast<double>(options.max_size);
  const double wanted = static_cast<double>(options.stack_bytes);
  if (samples <= 0 || samples * (wanted + kRecordOverhead) <= room) return options.stack_bytes;
  // perf takes multiples of 8 bytes.
  const double fits = std::max(1024.0, std::floor((room / samples - kRecordOverhead) / 8) * 8);
  if (fits >= wanted) return options.stack_bytes;
  const auto bytes = static_cast<std::uint32_t>(fits);
  if (!note.empty()) note += "; ";
  note += fmt::format(
      "call chains unwound from {} bytes of stack, not {}: about {:.0f} samples would not fit in max_size "
      "({} MiB); the outermost frames of deep stacks may be missing",
      bytes, options.stack_bytes, samples, options.max_size >> 20);
  return bytes;
}

}  // namespace

Result<Capture> capturePerf(const std::vector<pid_t>& pids, const CaptureOptions& options) {
  if (pids.empty()) return fail("no process to profile");
  static std::atomic<unsigned> counter{0};
  const auto start = std::chrono::steady_clock::now();
  const Remove data{options.work_dir / fmt::format("hotspotd-{}-{}.perf.data", getpid(), counter++)};
  std::string pid_list;
  for (pid_t p : pids) pid_list += (pid_list.empty() ? "" : ",") + std::to_string(p);
  const bool oncpu = options.kind != CaptureKind::offcpu;
  const bool offcpu = options.kind != CaptureKind::cpu;
  // Off-CPU call chains are always unwound from a copy of the stack: with frame pointers, the function that
  // called into libc (a lock, a read, a sleep) is lost, and that is the function a wait belongs to.
  const bool dwarf = offcpu || options.call_graph == CallGraph::dwarf;
  std::string note;
  const Pace pace = dwarf ? measurePace(pids, options.cancel) : Pace{};
  if (options.cancel && options.cancel->load()) return fail("the capture was cancelled (hotspotd is stopping)");
  const Duration duration = offcpu ? switchBoundedDuration(pace, options, note) : options.duration;
  std::vector<std::string> record{options.perf, "record"};
  if (oncpu) record.insert(record.end(), {"-e", "cpu-clock", "-F", std::to_string(options.frequency)});
  if (offcpu) {
    // Each switch-out as a sample with its call chain (the context-switches software event: no tracefs, nothing
    // beyond CAP_PERFMON), each switch in and out as a switch record (whether it was a preemption).
    record.insert(record.end(), {"-e", "context-switches/period=1/", "--switch-events"});
  }
  if (dwarf) {
    const std::uint32_t bytes = dwarfStackBytes(pace, oncpu, offcpu, duration, options, note);
    record.insert(record.end(), {"--call-graph", fmt::format("dwarf,{}", bytes)});
  } else {
    record.push_back("-g");
  }
  record.insert(record.end(),
                {"-p", pid_list, fmt::format("--max-size={}K", std::max<std::uint64_t>(1, options.max_size / 1024)),
                 "-o", data.path.string(), "-q", "--", "sleep", seconds(duration)});
  auto rec = runProcess(record, duration + options.grace, 1 << 20, options.cancel);
  if (!rec) {
    return fail(fmt::format("{} (install perf: apt-get install linux-perf)", rec.error().message));
  }
  if (rec->cancelled) return fail("the capture was cancelled (hotspotd is stopping)");
  if (rec->timed_out) {
    return fail(fmt::format("perf record did not finish within {} s", seconds(duration + options.grace)));
  }
  if (rec->exit_code != 0) {
    const std::string why = lastLine(rec->err);
    if (why.find("ermission") != std::string::npos || why.find("paranoid") != std::string::npos ||
        rec->err.find("perf_event_paranoid") != std::string::npos) {
      return fail(
          fmt::format("perf is not permitted to profile process {}: {} (give hotspotd CAP_PERFMON and "
                      "CAP_SYS_PTRACE, or lower kernel.perf_event_paranoid)",
                      pid_list, why));
    }
    return fail(fmt::format("perf record failed (exit {}): {}", rec->exit_code, why.empty() ? "no message" : why));
  }
  std::vector<std::string> script_args{options.perf, "script", "-i", data.path.string()};
  if (offcpu) script_args.push_back("--show-switch-events");
  auto script = runProcess(script_args, std::chrono::seconds(120), std::size_t{2} << 30, options.cancel);
  if (!script) return tl::unexpected(script.error());
  if (script->timed_out || script->exit_code != 0) {
    return fail(fmt::format("perf script failed: {}", script->timed_out ? "timed out" : lastLine(script->err)));
  }
  Capture c;
  if (!offcpu) {
    PerfFoldOptions fold;
    fold.use_period = false;
    fold.annotate_kernel = true;
    auto folded = foldPerfScript(script->out, fold);
    c.samples = folded.stacks.total();
    c.stacks = std::move(folded.stacks);
  } else {
    OffCpuFoldOptions fold;
    fold.min_block_us = options.min_block_us;
    auto folded = foldOffCpuScript(script->out, fold);
    c.unit = "us";
    c.switches = folded.switches;
    c.offcpu_us = folded.blocked_us + folded.runnable_us;
    c.span_us = folded.span_us;
    c.samples = folded.intervals + folded.oncpu_samples;
    c.stacks = std::move(folded.stacks);
    // On-CPU samples beside the waits, in the same unit: each sample stands for a period of the sampling rate.
    const std::uint64_t per_sample = 1'000'000 / static_cast<std::uint64_t>(std::max(1, options.frequency));
    folded.oncpu.forEach([&](std::string_view stack, std::uint64_t n) { c.stacks.add(stack, n * per_sample); });
  }
  if (c.stacks.empty()) {
    return fail(fmt::format("no samples: process {} {} during the {} s capture", pid_list,
                            offcpu ? (oncpu ? "neither ran on a CPU nor waited" : "did not wait (no context switch)")
                                   : "did not run on a CPU",
                            seconds(duration)));
  }
  c.pids = pids;
  c.note = std::move(note);
  c.recorded = duration;
  c.cpu_seconds = rec->cpu_seconds + script->cpu_seconds;
  c.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  return c;
}

Result<Capture> captureCommand(const std::vector<std::string>& argv, pid_t pid, const CaptureOptions& options) {
  if (argv.empty()) return fail("no command to run");
  const auto start = std::chrono::steady_clock::now();
  std::vector<std::string> args;
  const std::string secs = fmt::format(
      "{}", std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options.duration).count()));
  for (std::string a : argv) {
    for (std::size_t at; (at = a.find("{pid}")) != std::string::npos;) a.replace(at, 5, std::to_string(pid));
    for (std::size_t at; (at = a.find("{seconds}")) != std::string::npos;) a.replace(at, 9, secs);
    args.push_back(std::move(a));
  }
  auto r = runProcess(args, options.duration + options.grace, std::size_t{1} << 30, options.cancel);
  if (!r) return tl::unexpected(r.error());
  if (r->cancelled) return fail("the capture was cancelled (hotspotd is stopping)");
  if (r->timed_out) {
    return fail(fmt::format("{} did not finish within {} s", args[0], seconds(options.duration + options.grace)));
  }
  if (r->exit_code != 0) {
    return fail(fmt::format("{} failed (exit {}): {}", args[0], r->exit_code, lastLine(r->err)));
  }
  Capture c;
  if (auto folded = FoldedStacks::parse(r->out); folded && !folded->empty()) {
    c.stacks = std::move(*folded);
  } else {
    PerfFoldOptions fold;
    fold.use_period = false;
    c.stacks = foldPerfScript(r->out, fold).stacks;
  }
  if (c.stacks.empty()) return fail(fmt::format("{} printed no stacks (folded or perf script)", args[0]));
  c.samples = c.stacks.total();
  c.pids = {pid};
  c.cpu_seconds = r->cpu_seconds;
  c.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  return c;
}

namespace {

// GETs of one pprof endpoint's profiles, all at once (a CPU profile and delta profiles each take `seconds` to
// answer), on an io_context of this worker's own, watched for the shutdown flag: a capture of a minute still ends
// at once. Each answer is its body, or why there is none.
std::vector<Result<std::string>> fetchProfiles(const HttpUrl& base, const std::string& url,
                                               const std::vector<std::string>& targets, const CaptureOptions& options) {
  boost::asio::io_context io;
  std::vector<std::optional<tl::expected<FetchResponse, FetchError>>> results(targets.size());
  std::vector<FetchHandle> handles;
  for (std::size_t i = 0; i < targets.size(); ++i) {
    FetchRequest req;
    req.scheme = base.scheme;
    req.host = base.host;
    req.port = base.port;
    req.target = targets[i];
    req.timeout = options.duration + options.grace;
    req.max_body_bytes = static_cast<std::size_t>(options.max_size);
    if (!base.userinfo.empty()) req.headers.emplace_back("Authorization", "Basic " + base64Encode(base.userinfo));
    handles.push_back(fetch(io, std::move(req),
                            [&results, i](tl::expected<FetchResponse, FetchError> r) { results[i] = std::move(r); }));
  }
  auto pending = [&] { return std::any_of(results.begin(), results.end(), [](const auto& r) { return !r; }); };
  while (pending()) {
    io.run_for(std::chrono::milliseconds(100));
    if (options.cancel && options.cancel->load() && pending()) {
      for (const auto& h : handles) h.cancel();
      io.restart();
      io.run();
    }
    io.restart();
  }
  std::vector<Result<std::string>> out;
  for (auto& r : results) {
    if (!*r) {
      const auto& e = r->error();
      if (e.kind == FetchError::Kind::cancelled) {
        out.push_back(fail("cancelled: hotspotd is shutting down"));
      } else if (e.kind == FetchError::Kind::body_size_limit) {
        out.push_back(
            fail(fmt::format("pprof_url {}: the profile is larger than max_size ({} bytes)", url, options.max_size)));
      } else {
        out.push_back(fail(fmt::format("pprof_url {}: {}", url, e.message)));
      }
      continue;
    }
    FetchResponse& res = **r;
    if (res.status >= 300 && res.status < 400) {
      out.push_back(fail(fmt::format("pprof_url {}: HTTP {} to {}; redirects are not followed, give the final URL", url,
                                     res.status, repairUtf8(res.location))));
    } else if (res.status != 200) {
      out.push_back(fail(fmt::format("pprof_url {}: HTTP {} {}", url, res.status, repairUtf8(lastLine(res.body)))));
    } else {
      out.push_back(std::move(res.body));
    }
  }
  return out;
}

// The path of one of the endpoint's other profiles: ".../debug/pprof/profile" becomes ".../debug/pprof/<name>".
std::string siblingProfile(std::string path, std::string_view name) {
  if (const auto q = path.find('?'); q != std::string::npos) path.erase(q);
  const auto slash = path.rfind('/');
  return path.substr(0, slash == std::string::npos ? 0 : slash + 1) + std::string(name);
}

std::string withSeconds(const std::string& path, std::int64_t secs) {
  return path + fmt::format("{}seconds={}", path.find('?') == std::string::npos ? "?" : "&", secs);
}

// Go's delta profiles of waiting, folded to microseconds of waiting by stack. The block profile says where
// goroutines waited: its frames are marked `_[o]` as off-CPU time is, with a leaf frame naming the wait's class
// (goWaitClass). The mutex profile says which lock holders others waited for: its stacks are left as they are.
// The goroutine profile (value "goroutine", counted as they are: per_us 1) is marked as the block profile is.
struct GoWaits {
  FoldedStacks stacks;
  std::uint64_t us = 0;
};
Result<GoWaits> goWaits(const std::string& body, bool offcpu, std::string_view value = "delay",
                        std::uint64_t per_us = 1000) {
  auto folded = foldPprof(body, "", nullptr, value);
  if (!folded) return tl::unexpected(folded.error());
  GoWaits w;
  folded->forEach([&](std::string_view stack, std::uint64_t ns) {
    const std::uint64_t us = ns / per_us;
    if (us == 0) return;
    if (!offcpu) {
      w.stacks.add(stack, us);
      w.us += us;
      return;
    }
    std::string marked;
    for (std::size_t at = 0; at <= stack.size();) {
      const auto end = std::min(stack.find(';', at), stack.size());
      if (!marked.empty()) marked += ';';
      marked.append(stack.substr(at, end - at)).append("_[o]");
      at = end + 1;
    }
    marked.append(";").append(waitClassFrame(goWaitClass(stack)));
    w.stacks.add(marked, us);
    w.us += us;
  });
  return w;
}

}  // namespace

Result<Capture> capturePprof(const std::string& url, const CaptureOptions& options) {
  const auto start = std::chrono::steady_clock::now();
  auto parsed = parseHttpUrl(url);
  if (!parsed) return fail(fmt::format("pprof_url: {}", parsed.error().message));
  const std::string path = parsed->target == "/" ? "/debug/pprof/profile" : parsed->target;
  const auto secs =
      std::max<std::int64_t>(1, std::chrono::duration_cast<std::chrono::seconds>(options.duration).count());
  // Off-CPU for a Go program: its block and mutex profiles over the same seconds (delta profiles), beside the CPU
  // profile for a wall-clock capture.
  const bool oncpu = options.kind != CaptureKind::offcpu;
  const bool waits = options.kind != CaptureKind::cpu;
  std::vector<std::string> targets;
  if (oncpu) targets.push_back(withSeconds(path, secs));
  if (waits) {
    targets.push_back(withSeconds(siblingProfile(path, "block"), secs));
    targets.push_back(withSeconds(siblingProfile(path, "mutex"), secs));
  }
  auto bodies = fetchProfiles(*parsed, url, targets, options);
  // The CPU profile must come; a block or mutex profile the endpoint does not serve is said to be missing.
  if (oncpu && !bodies[0]) return tl::unexpected(bodies[0].error());
  if (options.cancel && options.cancel->load()) return fail("the capture was cancelled (hotspotd is stopping)");
  Capture c;
  std::size_t next = 0;
  if (oncpu) {
    PprofInfo info;
    auto folded = foldPprof(*bodies[next++], {}, &info);
    if (!folded) return fail(fmt::format("pprof_url {}: {}", url, folded.error().message));
    if (folded->empty() && !waits) {
      return fail(fmt::format("pprof_url {}: no samples (the process did not run on a CPU for {} s)", url, secs));
    }
    c.samples = folded->total();
    if (!waits) {
      c.stacks = std::move(*folded);
    } else {
      // In microseconds beside the waits: each sample stands for the profile's period (10 ms at Go's 100 Hz).
      const std::uint64_t per_sample =
          info.period_nanos > 0 ? static_cast<std::uint64_t>(info.period_nanos) / 1000 : 10'000;
      folded->forEach([&](std::string_view stack, std::uint64_t n) { c.stacks.add(stack, n * per_sample); });
    }
  }
  if (waits) {
    c.unit = "us";
    std::vector<std::string> notes;
    // A profile missing or empty is said to be, `if_empty` saying what leaves it empty.
    auto read = [&](const Result<std::string>& body, bool offcpu, std::string_view name,
                    std::string_view if_empty) -> GoWaits {
      auto w = body ? goWaits(*body, offcpu) : Result<GoWaits>(tl::unexpected(body.error()));
      if (!w) {
        notes.push_back(fmt::format("no {} profile: {}", name, w.error().message));
        return {};
      }
      if (w->us == 0) notes.push_back(fmt::format("the {} profile is empty: {}", name, if_empty));
      return std::move(*w);
    };
    GoWaits block = read(bodies[next], true, "block",
                         "the program records no blocking events (its block profile rate is 0; "
                         "runtime.SetBlockProfileRate turns it on)");
    GoWaits mutex = read(bodies[next + 1], false, "mutex",
                         "the program records no lock contention (its mutex profile fraction is 0; "
                         "runtime.SetMutexProfileFraction turns it on)");
    next += 2;
    c.offcpu_us = block.us;
    c.samples += block.stacks.size();
    block.stacks.forEach([&](std::string_view stack, std::uint64_t us) { c.stacks.add(stack, us); });
    c.lock_holders = std::move(mutex.stacks);
    // Where the goroutines are at the end of the window (a snapshot: counts, not time).
    auto goroutines = fetchProfiles(*parsed, url, {siblingProfile(path, "goroutine")}, options);
    auto counted = goroutines[0] ? goWaits(*goroutines[0], true, "goroutine", 1)
                                 : Result<GoWaits>(tl::unexpected(goroutines[0].error()));
    if (counted) {
      c.goroutines = std::move(counted->stacks);
    } else {
      notes.push_back(fmt::format("no goroutine profile: {}", counted.error().message));
    }
    for (const auto& n : notes) c.note += (c.note.empty() ? "" : "; ") + n;
    if (c.stacks.empty()) {
      return fail(fmt::format("pprof_url {}: no samples in {} s ({})", url, secs, c.note));
    }
  }
  c.took = std::chrono::duration_cast<Duration>(std::chrono::steady_clock::now() - start);
  return c;
}

}  // namespace hotspotd::profile
