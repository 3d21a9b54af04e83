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
    frames.clear();
    std::size_t pos = 0;
    while (pos <= stack.size()) {
      std::size_t semi = stack.find(';', pos);
      if (semi == std::string_view::npos) semi = stack.size();
      frames.push_back(stack.substr(pos, semi - pos));
      pos = semi + 1;
    }
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
  // Annotations from the folder (_[k] kernel, _[j] JIT, _[i] inlined) do not change what a function does.
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
      startsWithAny(frame, {"operator new", "operator delete", "je_", "tc_", "tcmalloc::", "__GI___libc_malloc",
                            "__GI___libc_free", "mi_malloc", "mi_free", "runtime.gc", "runtime.(*gcWork)",
                            "runtime.(*mheap)", "runtime.(*mspan)", "runtime.(*mcache)", "runtime.(*mcentral)"}) ||
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
  if (out.size() > limit) out.resize(limit);
  return out;
}

}  // namespace hotspotd::profile
