// DESIGN
// What a profile says, in the words an on-call engineer needs: the frames that take the time (by self samples,
// where the CPU was, and by total samples, what was on the stack), what kind of time it is, who calls it, and
// against a healthy baseline which frames grew.
//
// Shares are fractions of the profile's samples, so profiles of different lengths or rates compare. A function's
// total counts a stack once even when the function recurses. The caller is the frame below it on most of its
// samples.
//
// Classes, from the frames of each stack, nearest the leaf first (the first frame that says decides):
//   allocation/GC  malloc, free, calloc, realloc, operator new/delete, jemalloc/tcmalloc, runtime.mallocgc,
//                  runtime.scanobject and the Go GC, JVM GC threads and collectors
//   lock wait      futex, pthread_mutex_lock, pthread_cond_wait, __lll_lock_wait, runtime.lock, sync.(*Mutex).Lock,
//                  runtime.semacquire, std::mutex
//   syscall/IO     kernel system call entry (do_syscall_64, entry_SYSCALL, sys_*, __x64_sys_*), read/write/
//                  epoll_wait/poll/recv/send family
//   CPU work       everything else
// A frame's class is the class holding most of the samples it is on. Pure; any thread.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "profile/folded.h"

namespace hotspotd::profile {

enum class FrameClass { cpu, allocation, lock, syscall };
std::string_view className(FrameClass c);

// The class one frame name suggests on its own, if any.
std::optional<FrameClass> classifyName(std::string_view frame);

struct FrameStat {
  std::string name;
  std::uint64_t self = 0;   // samples with this frame as the leaf
  std::uint64_t total = 0;  // samples with this frame anywhere on the stack
  double self_share = 0;    // of the profile's samples
  double total_share = 0;
  FrameClass cls = FrameClass::cpu;
  std::string caller;  // the frame below it on most of its samples ("" for a root)
};

struct ProfileSummary {
  std::uint64_t samples = 0;
  std::vector<FrameStat> by_self;        // highest first
  std::vector<FrameStat> by_total;       // highest first (the root frames, which hold everything, left out)
  double class_share[4] = {0, 0, 0, 0};  // share of samples per class (by each stack's leaf-most deciding frame)
};

// The top `limit` frames each way.
ProfileSummary summarize(const FoldedStacks& stacks, std::size_t limit = 20);

struct FrameGrowth {
  std::string name;
  double base_share = 0;  // total share in the base profile
  double now_share = 0;   // total share now
  double base_self = 0;
  double now_self = 0;
  FrameClass cls = FrameClass::cpu;
  std::string caller;
  double grew_pp() const { return 100 * (now_share - base_share); }
  // Relative growth in percent of the base share (infinite for a frame the base does not have).
  double grew_rel() const;
};

// An on-CPU frame whose total share grew by this many percentage points explains an incident on its own (between
// two on-CPU captures, only if its CPU time per second grew too); below it, the page looks at the waits (and a
// target with kinds = "auto" captures them).
inline constexpr double kExplainsPp = 10;

// Frames whose total share grew, at most `limit`: the frame that explains the growth first. Sorted by growth,
// then each frame is moved ahead of its caller when it holds most of the caller's growth (at least 60%), so the
// page names the deepest frame that accounts for it (`evalSubquery`, not the generic `Eval` above it), its
// caller beside it as context.
std::vector<FrameGrowth> grownFrames(const FoldedStacks& base, const FoldedStacks& now, std::size_t limit = 20);

// The function of the process's own code that a grown frame's time belongs to. A frame of the C or C++ library, the
// allocator, a syscall wrapper, the kernel (`_[k]`) or an unknown module (`[...]`) is the time of the nearest own
// frame that calls it (on the heaviest path to it); an own frame is its own owner. With DWARF call chains, time in
// malloc and free or in write() lands on the function that called them, and `class_share` says how that
// function's time divides: "hotspotd_test_churn: 62% of its time in malloc/free". Nothing when no frame on the
// path is the process's own (frame-pointer stacks through a library without frame pointers).
struct FrameOwner {
  std::string name;
  std::string caller;
  double base_share = 0;  // total share in the base profile
  double now_share = 0;
  std::array<double, 4> class_share{};  // of the owner's samples now, by FrameClass
  double grew_pp() const { return 100 * (now_share - base_share); }
};
std::optional<FrameOwner> ownerOf(const FoldedStacks& base, const FoldedStacks& now, std::string_view frame);
// Whether a frame name is the process's own code rather than a library's, the kernel's or an unknown module's
// (marks like `_[o]` stripped first).
bool ownFrame(std::string_view frame);

// Off-CPU: why a thread left the CPU, from the kernel frames at its switch-out (the first class in this order that
// any of them names):
//   lock          futex waits, kernel mutexes and rw-semaphores
//   disk I/O      io_schedule, the block layer, fsync and file-system journal waits
//   network/poll  epoll, poll and select, socket and pipe reads and accepts
//   sleep/timer   nanosleep, hrtimer sleeps
//   page fault    a fault anywhere on the stack (a fault that reads the disk counts here)
//   run queue     preempted while runnable: waiting for a CPU, not for an event
//   condition     a condition variable (pthread_cond_wait, std::condition_variable): waiting for another thread to
//                 hand over work or a resource (a pool's idle workers, a full connection pool); before lock,
//                 whose futex it also sleeps in
//   other         anything else (waiting for a child, a signal...)
// Without kernel frames (not permitted), the user frames' classes decide where they can (lock, syscall/io).
enum class WaitClass { lock, disk, network, sleep, page_fault, run_queue, condition, other };
inline constexpr std::size_t kWaitClasses = 8;
std::string_view waitClassName(WaitClass c);
// The leaf frame an off-CPU stack carries for its class: "[lock wait]_[o]", "[run queue]_[o]"...
std::string_view waitClassFrame(WaitClass c);
std::optional<WaitClass> waitClassOfFrame(std::string_view frame);
// The class of a blocked thread's folded stack (root first, kernel frames marked `_[k]`).
WaitClass classifyWait(std::string_view stack);
// The class of a Go goroutine's wait, from its block profile stack (root first): lock for sync.Mutex and RWMutex,
// condition wait for channels, select, sync.Cond and WaitGroup (waiting for another goroutine to hand something
// over), network/poll for the netpoller, sleep/timer for time.Sleep; other for anything else.
WaitClass goWaitClass(std::string_view stack);
// Whether a folded stack is off-CPU time (its root frame is marked `_[o]`).
bool isOffCpuStack(std::string_view stack);

// Where threads waited: the blocked time by class, and the user frames nearest each wait (the first frame below
// the kernel that is not a lock, syscall or allocation wrapper, nor the standard library's) with their class.
struct WaitingFrame {
  std::string name;
  std::uint64_t us = 0;
  double share = 0;  // of the off-CPU time
  WaitClass cls = WaitClass::other;
  bool root = false;        // no frame of the process's own code: `name` is the command (a pool's idle workers)
  double grew_per_s = 0;    // against a baseline: more waiting, in thread-seconds per second
  double growth_share = 0;  // its part of all the waiting that grew
};
struct OffCpuSummary {
  std::uint64_t us = 0;  // all off-CPU time folded (blocked and run queue)
  std::array<std::uint64_t, kWaitClasses> class_us{};
  std::vector<WaitingFrame> waiting;  // most first
};
OffCpuSummary summarizeOffCpu(const FoldedStacks& stacks, std::size_t limit = 10);
// Waiting frames whose off-CPU time per second of capture grew against the base, most first, with their share of
// all the growth. The capture lengths make the rates comparable (a longer capture waits longer).
std::vector<WaitingFrame> grownWaits(const FoldedStacks& base, double base_seconds, const FoldedStacks& now,
                                     double now_seconds, std::size_t limit = 10);

}  // namespace hotspotd::profile
