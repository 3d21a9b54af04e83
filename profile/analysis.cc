#include "profile/analysis.h"

#include <algorithm>
#include <array>
#include <cmath>
#include <limits>
#include <optional>
#include <unordered_map>

namespace hotspotd::profile {
namespace {

bool startsWithAny(std::string_view s, std::initializer_list<std::string_view> prefixes) {
  for (auto p : prefixes) {
    if (s.starts_with(p)) return true;
  }
  return false;
}

bool containsAny(std::string_view s, std::initializer_list<std::string_view> parts) {
  for (auto p : parts) {
    if (s.find(p) != std::string_view::npos) return true;
  }
  return false;
}

bool equalsAny(std::string_view s, std::initializer_list<std::string_view> names) {
  for (auto n : names) {
    if (s == n) return true;
  }
  return false;
}

// A folded stack's frames, root first, into `frames` (cleared first).
void splitFrames(std::string_view stack, std::vector<std::string_view>& frames) {
  frames.clear();
  std::size_t pos = 0;
  while (pos <= stack.size()) {
    std::size_t semi = stack.find(';', pos);
    if (semi == std::string_view::npos) semi = stack.size();
    frames.push_back(stack.substr(pos, semi - pos));
    pos = semi + 1;
  }
}

std::vector<std::string_view> splitFrames(std::string_view stack) {
  std::vector<std::string_view> frames;
  splitFrames(stack, frames);
  return frames;
}

struct Entry {
  std::uint64_t self = 0;
  std::uint64_t total = 0;
  std::size_t last_stack = std::numeric_limits<std::size_t>::max();
  std::array<std::uint64_t, 4> classes{};
  std::unordered_map<std::string_view, std::uint64_t> callers;
  bool below_root = false;  // seen somewhere other than as a stack's root frame
};

struct Aggregate {
  std::uint64_t samples = 0;
  std::array<std::uint64_t, 4> classes{};
  std::unordered_map<std::string_view, Entry> frames;
};

Aggregate aggregate(const FoldedStacks& stacks) {
  Aggregate a;
  std::vector<std::string_view> frames;
  std::size_t index = 0;
  stacks.forEach([&](std::string_view stack, std::uint64_t count) {
    ++index;
    splitFrames(stack, frames);
    // The stack's class: the deciding frame nearest the leaf.
    FrameClass cls = FrameClass::cpu;
    for (std::size_t i = frames.size(); i-- > 0;) {
      if (auto c = classifyName(frames[i])) {
        cls = *c;
        break;
      }
    }
    const auto ci = static_cast<std::size_t>(cls);
    a.samples = saturatingAdd(a.samples, count);
    a.classes[ci] = saturatingAdd(a.classes[ci], count);
    for (std::size_t i = 0; i < frames.size(); ++i) {
      Entry& e = a.frames[frames[i]];
      if (i > 0) e.below_root = true;
      if (i + 1 == frames.size()) e.self = saturatingAdd(e.self, count);
      if (e.last_stack == index) continue;  // recursion: once per stack, at its outermost call
      e.last_stack = index;
      e.total = saturatingAdd(e.total, count);
      e.classes[ci] = saturatingAdd(e.classes[ci], count);
      auto& caller = e.callers[i > 0 ? frames[i - 1] : std::string_view()];
      caller = saturatingAdd(caller, count);
    }
  });
  return a;
}

FrameStat statOf(std::string_view name, const Entry& e, std::uint64_t samples) {
  FrameStat s;
  s.name = std::string(name);
  s.self = e.self;
  s.total = e.total;
  s.self_share = samples ? static_cast<double>(e.self) / static_cast<double>(samples) : 0;
  s.total_share = samples ? static_cast<double>(e.total) / static_cast<double>(samples) : 0;
  s.cls = static_cast<FrameClass>(std::max_element(e.classes.begin(), e.classes.end()) - e.classes.begin());
  std::uint64_t best = 0;
  for (const auto& [caller, n] : e.callers) {
    if (n > best || (n == best && std::string_view(caller) < s.caller)) {
      best = n;
      s.caller = std::string(caller);
    }
  }
  return s;
}

}  // namespace

std::string_view className(FrameClass c) {
  switch (c) {
    case FrameClass::cpu: return "cpu";
    case FrameClass::allocation: return "allocation/gc";
    case FrameClass::lock: return "lock wait";
    case FrameClass::syscall: return "syscall/io";
  }
  return "cpu";
}

std::optional<FrameClass> classifyName(std::string_view frame) {
  // Annotations (_[k] kernel, _[j] JIT, _[i] inlined, _[o] off-CPU) do not change what a function does.
  if (frame.size() > 4 && frame[frame.size() - 4] == '_' && frame[frame.size() - 3] == '[' && frame.back() == ']') {
    frame.remove_suffix(4);
  }
  if (containsAny(frame, {"futex", "pthread_mutex_lock", "pthread_mutex_timedlock", "pthread_cond_wait",
                          "pthread_cond_timedwait", "pthread_rwlock_", "__lll_lock_wait", "runtime.lock",
                          "runtime.semacquire", "sync.(*Mutex).Lock", "sync.(*RWMutex).", "std::mutex::lock",
                          "std::__mutex_base", "PlatformEvent::park", "Unsafe_Park", "queued_spin_lock_slowpath"})) {
    return FrameClass::lock;
  }
  if (equalsAny(frame,
                {"malloc", "free", "calloc", "realloc", "cfree", "valloc", "memalign", "posix_memalign",
                 "aligned_alloc", "_int_malloc", "_int_free", "_int_realloc", "malloc_consolidate", "__libc_malloc",
                 "__libc_free", "__libc_calloc", "__libc_realloc", "sysmalloc", "unlink_chunk"}) ||
      startsWithAny(frame,
                    {"operator new", "operator delete", "tcache_", "je_", "tc_", "tcmalloc::", "__GI___libc_malloc",
                     "__GI___libc_free", "mi_malloc", "mi_free", "runtime.gc", "runtime.(*gcWork)", "runtime.(*mheap)",
                     "runtime.(*mspan)", "runtime.(*mcache)", "runtime.(*mcentral)"}) ||
      containsAny(frame,
                  {"mallocgc", "runtime.newobject", "runtime.makeslice", "runtime.growslice", "scanobject",
                   "runtime.markroot", "runtime.sweepone", "runtime.bgsweep", "GCTaskThread", "G1ParScan",
                   "G1Concurrent", "PSPromotionManager", "ConcurrentMark", "CollectedHeap::", "MemAllocator::"})) {
    return FrameClass::allocation;
  }
  if (startsWithAny(
          frame,
          {"sys_",        "__x64_sys_",      "__ia32_sys_",        "__sys_",         "do_syscall_64",   "entry_SYSCALL",
           "system_call", "syscall.Syscall", "syscall.RawSyscall", "internal/poll.", "runtime.netpoll", "ksys_",
           "vfs_read",    "vfs_write",       "tcp_sendmsg",        "tcp_recvmsg",    "__libc_read",     "__libc_write",
           "__libc_recv", "__libc_send",     "__GI___poll"}) ||
      equalsAny(
          frame,
          {"read",   "write",   "pread64", "pwrite64", "readv",   "writev",    "epoll_wait",   "epoll_pwait",
           "poll",   "ppoll",   "select",  "pselect6", "recv",    "recvfrom",  "recvmsg",      "send",
           "sendto", "sendmsg", "accept",  "accept4",  "connect", "fsync",     "fdatasync",    "open",
           "openat", "close",   "__read",  "__write",  "syscall", "io_submit", "io_getevents", "io_uring_enter"})) {
    return FrameClass::syscall;
  }
  return std::nullopt;
}

ProfileSummary summarize(const FoldedStacks& stacks, std::size_t limit) {
  const Aggregate a = aggregate(stacks);
  ProfileSummary out;
  out.samples = a.samples;
  for (std::size_t c = 0; c < 4; ++c) {
    out.class_share[c] = a.samples ? static_cast<double>(a.classes[c]) / static_cast<double>(a.samples) : 0;
  }
  std::vector<const std::pair<const std::string_view, Entry>*> all;
  all.reserve(a.frames.size());
  for (const auto& entry : a.frames) all.push_back(&entry);
  auto top = [&](auto key, bool skip_roots) {
    std::vector<const std::pair<const std::string_view, Entry>*> v;
    for (const auto* e : all) {
      if (skip_roots && !e->second.below_root) continue;
      if (key(e->second) > 0) v.push_back(e);
    }
    std::sort(v.begin(), v.end(), [&](const auto* x, const auto* y) {
      if (key(x->second) != key(y->second)) return key(x->second) > key(y->second);
      return x->first < y->first;
    });
    if (v.size() > limit) v.resize(limit);
    std::vector<FrameStat> stats;
    for (const auto* e : v) stats.push_back(statOf(e->first, e->second, a.samples));
    return stats;
  };
  out.by_self = top([](const Entry& e) { return e.self; }, false);
  out.by_total = top([](const Entry& e) { return e.total; }, true);
  return out;
}

double FrameGrowth::grew_rel() const {
  if (base_share <= 0) return now_share > 0 ? std::numeric_limits<double>::infinity() : 0;
  return 100 * (now_share - base_share) / base_share;
}

std::vector<FrameGrowth> grownFrames(const FoldedStacks& base, const FoldedStacks& now, std::size_t limit) {
  const Aggregate b = aggregate(base), n = aggregate(now);
  std::vector<FrameGrowth> out;
  for (const auto& [name, e] : n.frames) {
    if (!e.below_root) continue;  // the process itself
    const FrameStat s = statOf(name, e, n.samples);
    FrameGrowth g;
    g.name = s.name;
    g.now_share = s.total_share;
    g.now_self = s.self_share;
    g.cls = s.cls;
    g.caller = s.caller;
    if (auto it = b.frames.find(name); it != b.frames.end() && b.samples > 0) {
      g.base_share = static_cast<double>(it->second.total) / static_cast<double>(b.samples);
      g.base_self = static_cast<double>(it->second.self) / static_cast<double>(b.samples);
    }
    if (g.now_share > g.base_share) out.push_back(std::move(g));
  }
  std::sort(out.begin(), out.end(), [](const FrameGrowth& x, const FrameGrowth& y) {
    if (x.grew_pp() != y.grew_pp()) return x.grew_pp() > y.grew_pp();
    return x.name < y.name;
  });
  // The frame that explains a growth: from each frame down to the child holding most of its growth, while that
  // child holds at least kExplains of it; the deepest comes first, then the frames above it.
  constexpr double kExplains = 0.6;
  std::unordered_map<std::string_view, std::vector<std::size_t>> children;  // by caller, in growth order
  for (std::size_t i = 0; i < out.size(); ++i) children[out[i].caller].push_back(i);
  std::vector<bool> taken(out.size(), false);
  std::vector<std::size_t> order;
  order.reserve(out.size());
  for (std::size_t i = 0; i < out.size() && order.size() < limit; ++i) {
    if (taken[i]) continue;
    std::vector<std::size_t> chain{i};
    for (std::size_t at = i; chain.size() < 64;) {
      auto it = children.find(out[at].name);
      if (it == children.end()) break;
      std::size_t next = out.size();
      for (std::size_t c : it->second) {
        if (!taken[c] && c != at && std::find(chain.begin(), chain.end(), c) == chain.end()) {
          next = c;
          break;
        }
      }
      if (next == out.size() || out[next].grew_pp() < kExplains * out[at].grew_pp()) break;
      chain.push_back(next);
      at = next;
    }
    for (std::size_t k = chain.size(); k-- > 0;) {
      if (!taken[chain[k]]) {
        taken[chain[k]] = true;
        order.push_back(chain[k]);
      }
    }
  }
  std::vector<FrameGrowth> ranked;
  ranked.reserve(std::min(limit, order.size()));
  for (std::size_t k = 0; k < order.size() && ranked.size() < limit; ++k) ranked.push_back(std::move(out[order[k]]));
  return ranked;
}

namespace {

// Each wait class's name and its off-CPU leaf frame, in the enum's order.
struct WaitClassText {
  std::string_view name, frame;
};
constexpr WaitClassText kWaitClassText[kWaitClasses] = {
    {"lock", "[lock wait]_[o]"},
    {"disk I/O", "[disk I/O]_[o]"},
    {"network/poll", "[network/poll wait]_[o]"},
    {"sleep/timer", "[sleep]_[o]"},
    {"page fault", "[page fault]_[o]"},
    {"run queue", "[run queue]_[o]"},
    {"condition wait", "[condition wait]_[o]"},
    {"other", "[other wait]_[o]"},
};

}  // namespace

std::string_view waitClassName(WaitClass c) { return kWaitClassText[static_cast<std::size_t>(c)].name; }

std::string_view waitClassFrame(WaitClass c) { return kWaitClassText[static_cast<std::size_t>(c)].frame; }

std::optional<WaitClass> waitClassOfFrame(std::string_view frame) {
  for (std::size_t c = 0; c < kWaitClasses; ++c) {
    if (frame == waitClassFrame(static_cast<WaitClass>(c))) return static_cast<WaitClass>(c);
  }
  return std::nullopt;
}

namespace {

std::optional<WaitClass> kernelWait(std::string_view f) {
  if (containsAny(f, {"futex", "rwsem_down", "mutex_lock", "rt_mutex", "percpu_rwsem"})) return WaitClass::lock;
  if (containsAny(f, {"io_schedule", "blk_", "submit_bio", "folio_wait", "wait_on_page", "__wait_on_buffer", "jbd2",
                      "fsync", "ext4_sync", "xfs_log_force", "bit_wait_io", "wait_on_bit_io", "nvme_"})) {
    return WaitClass::disk;
  }
  if (containsAny(f, {"ep_poll",
                      "do_epoll",
                      "do_sys_poll",
                      "do_poll",
                      "do_select",
                      "core_sys_select",
                      "poll_schedule_timeout",
                      "sk_wait_data",
                      "sk_stream_wait",
                      "tcp_recvmsg",
                      "tcp_sendmsg",
                      "inet_csk_accept",
                      "unix_stream_",
                      "unix_dgram",
                      "sock_",
                      "__skb_wait",
                      "skb_recv",
                      "pipe_read",
                      "pipe_write",
                      "anon_pipe",
                      "wait_woken",
                      "n_tty_read",
                      "tty_read"})) {
    return WaitClass::network;
  }
  if (containsAny(f, {"nanosleep", "schedule_hrtimeout", "msleep", "usleep", "do_sys_pause", "sigsuspend"})) {
    return WaitClass::sleep;
  }
  return std::nullopt;
}

// Frames that only say how a thread waits (a lock, a syscall wrapper, the allocator, the standard library and
// the C library's internals, Go's runtime and sync package, reserved `_` names, an unknown module, a lambda's
// operator()), never who waits.
bool wrapperFrame(std::string_view name) {
  return name.empty() || name.starts_with('[') || name.starts_with('_') || name.starts_with("std::") ||
         name.starts_with("pthread_") || name.starts_with("operator") || name.starts_with("lll_") ||
         // Go's runtime and standard library: how a goroutine waits, never who waits.
         name.starts_with("runtime.") || name.starts_with("sync.") || name.starts_with("internal/") ||
         name.starts_with("time.Sleep") ||
         name.find('@') != std::string_view::npos ||  // a versioned libc symbol: clock_nanosleep@GLIBC_2.2.5
         equalsAny(name, {"start_thread", "clone", "clone3", "futex_wait", "futex_wake"}) ||
         classifyName(name).has_value();
}

std::string_view stripMark(std::string_view frame) {
  return frame.ends_with("_[o]") ? frame.substr(0, frame.size() - 4) : frame;
}

// The user frame nearest the wait in an off-CPU stack, the stack's class, and whether that frame is only the
// command's root frame (no frame of the process's own code was found).
struct Waiting {
  std::string_view name;
  WaitClass cls;
  bool root;
};
Waiting waitingFrame(const std::vector<std::string_view>& frames) {
  WaitClass cls = WaitClass::other;
  std::size_t end = frames.size();
  if (end > 0) {
    if (auto c = waitClassOfFrame(frames[end - 1])) {
      cls = *c;
      --end;
    }
  }
  for (std::size_t i = end; i-- > 0;) {
    if (frames[i].ends_with("_[k]")) continue;
    const std::string_view name = stripMark(frames[i]);
    if (i == 0 || !wrapperFrame(name)) return {name, cls, i == 0};  // the command when nothing of its own is above
  }
  return {std::string_view(), cls, true};
}

struct WaitKey {
  std::string_view name;
  WaitClass cls;
  bool root;
  bool operator==(const WaitKey&) const = default;
};
struct WaitKeyHash {
  std::size_t operator()(const WaitKey& k) const {
    return std::hash<std::string_view>()(k.name) * 7 + static_cast<std::size_t>(k.cls);
  }
};

// Off-CPU microseconds by waiting frame and class; the total in `all`.
std::unordered_map<WaitKey, std::uint64_t, WaitKeyHash> waitsOf(const FoldedStacks& stacks, OffCpuSummary* summary) {
  std::unordered_map<WaitKey, std::uint64_t, WaitKeyHash> out;
  stacks.forEach([&](std::string_view stack, std::uint64_t us) {
    if (!isOffCpuStack(stack)) return;
    const auto frames = splitFrames(stack);
    const auto [name, cls, root] = waitingFrame(frames);
    auto& v = out[WaitKey{name, cls, root}];
    v = saturatingAdd(v, us);
    if (summary) {
      summary->us = saturatingAdd(summary->us, us);
      auto& c = summary->class_us[static_cast<std::size_t>(cls)];
      c = saturatingAdd(c, us);
    }
  });
  return out;
}

}  // namespace

WaitClass classifyWait(std::string_view stack) {
  const auto frames = splitFrames(stack);
  bool kernel = false;
  for (auto f : frames) {
    if (!f.ends_with("_[k]")) continue;
    kernel = true;
    if (containsAny(f, {"page_fault", "handle_mm_fault", "filemap_fault", "do_user_addr_fault"})) {
      return WaitClass::page_fault;
    }
  }
  // A condition variable sleeps in a futex too, but it waits for work or a resource, not for a lock.
  for (auto f : frames) {
    if (f.ends_with("_[k]")) continue;
    if (containsAny(f, {"pthread_cond_wait", "pthread_cond_timedwait", "pthread_cond_clockwait",
                        "std::condition_variable", "std::_V2::condition_variable_any", "cnd_wait", "cnd_timedwait"})) {
      return WaitClass::condition;
    }
  }
  // The first class in order (lock, disk, network, sleep) any kernel frame names: an epoll wait with a timeout
  // sleeps in schedule_hrtimeout under ep_poll, and it is a network wait.
  std::optional<WaitClass> best;
  for (auto f : frames) {
    if (!f.ends_with("_[k]")) continue;
    if (auto c = kernelWait(f); c && (!best || *c < *best)) best = c;
  }
  if (best) return *best;
  if (kernel) return WaitClass::other;
  // No kernel frames (perf could not record them): what the user frames nearest the leaf say.
  for (std::size_t i = frames.size(); i-- > 0;) {
    const std::string_view f = stripMark(frames[i]);
    if (containsAny(f, {"sleep"})) return WaitClass::sleep;
    if (containsAny(f, {"fsync", "fdatasync", "sync_file_range"})) return WaitClass::disk;
    if (auto c = classifyName(f)) {
      if (*c == FrameClass::lock) return WaitClass::lock;
      if (*c == FrameClass::syscall) return WaitClass::network;
    }
  }
  return WaitClass::other;
}

WaitClass goWaitClass(std::string_view stack) {
  // The frame nearest the leaf that names a wait decides.
  std::vector<std::string_view> frames = splitFrames(stack);
  for (std::size_t i = frames.size(); i-- > 0;) {
    const std::string_view f = frames[i];
    if (containsAny(f, {"sync.(*Mutex).", "sync.(*RWMutex).", "runtime.lock"})) return WaitClass::lock;
    if (containsAny(f, {"sync.(*WaitGroup).Wait", "sync.(*Cond).Wait", "runtime.chanrecv", "runtime.chansend",
                        "runtime.selectgo", "runtime.block"})) {
      return WaitClass::condition;
    }
    if (containsAny(f, {"internal/poll.", "runtime.netpoll"})) return WaitClass::network;
    if (containsAny(f, {"time.Sleep", "runtime.timeSleep"})) return WaitClass::sleep;
  }
  return WaitClass::other;
}

bool isOffCpuStack(std::string_view stack) {
  const std::size_t semi = stack.find(';');
  return stack.substr(0, semi).ends_with("_[o]");
}

OffCpuSummary summarizeOffCpu(const FoldedStacks& stacks, std::size_t limit) {
  OffCpuSummary out;
  const auto waits = waitsOf(stacks, &out);
  for (const auto& [key, us] : waits) {
    WaitingFrame w;
    w.name = std::string(key.name);
    w.cls = key.cls;
    w.root = key.root;
    w.us = us;
    w.share = out.us ? static_cast<double>(us) / static_cast<double>(out.us) : 0;
    out.waiting.push_back(std::move(w));
  }
  std::sort(out.waiting.begin(), out.waiting.end(), [](const WaitingFrame& x, const WaitingFrame& y) {
    if (x.us != y.us) return x.us > y.us;
    if (x.name != y.name) return x.name < y.name;
    return x.cls < y.cls;
  });
  if (out.waiting.size() > limit) out.waiting.resize(limit);
  return out;
}

std::vector<WaitingFrame> grownWaits(const FoldedStacks& base, double base_seconds, const FoldedStacks& now,
                                     double now_seconds, std::size_t limit) {
  std::vector<WaitingFrame> out;
  if (base_seconds <= 0 || now_seconds <= 0) return out;
  OffCpuSummary now_total;
  const auto b = waitsOf(base, nullptr);
  const auto n = waitsOf(now, &now_total);
  double grown_total = 0;
  for (const auto& [key, us] : n) {
    const auto it = b.find(key);
    const double base_rate = it == b.end() ? 0 : static_cast<double>(it->second) / 1e6 / base_seconds;
    const double rate = static_cast<double>(us) / 1e6 / now_seconds;
    if (rate <= base_rate) continue;
    WaitingFrame w;
    w.name = std::string(key.name);
    w.cls = key.cls;
    w.root = key.root;
    w.us = us;
    w.share = now_total.us ? static_cast<double>(us) / static_cast<double>(now_total.us) : 0;
    w.grew_per_s = rate - base_rate;
    grown_total += w.grew_per_s;
    out.push_back(std::move(w));
  }
  for (auto& w : out) w.growth_share = grown_total > 0 ? w.grew_per_s / grown_total : 0;
  std::sort(out.begin(), out.end(), [](const WaitingFrame& x, const WaitingFrame& y) {
    if (x.grew_per_s != y.grew_per_s) return x.grew_per_s > y.grew_per_s;
    if (x.name != y.name) return x.name < y.name;
    return x.cls < y.cls;
  });
  if (out.size() > limit) out.resize(limit);
  return out;
}

bool ownFrame(std::string_view frame) {
  if (frame.ends_with("_[k]")) return false;
  if (frame.size() > 4 && frame.ends_with("]") && frame[frame.size() - 4] == '_' && frame[frame.size() - 3] == '[') {
    frame.remove_suffix(4);
  }
  return !wrapperFrame(frame);
}

std::optional<FrameOwner> ownerOf(const FoldedStacks& base, const FoldedStacks& now, std::string_view frame) {
  // The heaviest path from the root to the frame's outermost call.
  std::unordered_map<std::string, std::uint64_t> paths;
  std::vector<std::string_view> frames;
  now.forEach([&](std::string_view stack, std::uint64_t count) {
    splitFrames(stack, frames);
    std::size_t end = 0;
    for (std::size_t i = 0; i < frames.size(); ++i) {
      end += frames[i].size() + (i > 0 ? 1 : 0);
      if (frames[i] == frame) {
        auto& n = paths[std::string(stack.substr(0, end))];
        n = saturatingAdd(n, count);
        break;
      }
    }
  });
  const std::string* heaviest = nullptr;
  std::uint64_t most = 0;
  for (const auto& [path, n] : paths) {
    if (n > most || (n == most && heaviest && path < *heaviest)) {
      most = n;
      heaviest = &path;
    }
  }
  if (!heaviest) return std::nullopt;
  splitFrames(*heaviest, frames);
  // From the frame toward the root, the first own frame; the root (the command) is nobody's code.
  std::size_t at = frames.size();
  for (std::size_t i = frames.size(); i-- > 1;) {
    if (ownFrame(frames[i])) {
      at = i;
      break;
    }
  }
  if (at == frames.size()) return std::nullopt;
  const Aggregate n = aggregate(now), b = aggregate(base);
  const auto it = n.frames.find(frames[at]);
  if (it == n.frames.end()) return std::nullopt;
  const FrameStat s = statOf(frames[at], it->second, n.samples);
  FrameOwner o;
  o.name = s.name;
  o.caller = s.caller;
  o.now_share = s.total_share;
  if (auto bi = b.frames.find(frames[at]); bi != b.frames.end() && b.samples > 0) {
    o.base_share = static_cast<double>(bi->second.total) / static_cast<double>(b.samples);
  }
  for (std::size_t c = 0; c < 4; ++c) {
    o.class_share[c] = s.total ? static_cast<double>(it->second.classes[c]) / static_cast<double>(s.total) : 0;
  }
  return o;
}

}  // namespace hotspotd::profile
