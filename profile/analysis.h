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

// Frames whose total share grew, most first (at most `limit`).
std::vector<FrameGrowth> grownFrames(const FoldedStacks& base, const FoldedStacks& now, std::size_t limit = 20);

}  // namespace hotspotd::profile
