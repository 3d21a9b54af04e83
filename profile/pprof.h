// pprof profiles (gzip'd protobuf, as Go's /debug/pprof/profile serves them) to folded stacks, with the folding
// conventions of perf profiles: frames root first, an optional root frame naming the process, a location's
// inlined functions as frames of their own marked `_[i]` (the caller first), `;` in names made `:`, and unknown
// frames named by their mapping's file (`[libfoo.so]`) or `[unknown]`. The counts are the sample type named
// "samples" when the profile has one (CPU profiles), else the default sample type, else the last. Pure; any
// thread.
#pragma once

#include <string_view>

#include "core/result.h"
#include "profile/folded.h"

namespace hotspotd::profile {

struct PprofInfo {
  std::string sample_type;  // e.g. "samples/count"
  std::int64_t duration_nanos = 0;
  std::int64_t time_nanos = 0;
  std::int64_t period_nanos = 0;  // a CPU profile's sampling period, when its period type is nanoseconds
};

// `value_type`: fold that sample type (e.g. "delay" of a block or mutex profile) instead of the rule above.
Result<FoldedStacks> foldPprof(std::string_view data, std::string_view root = {}, PprofInfo* info = nullptr,
                               std::string_view value_type = {});

}  // namespace hotspotd::profile
