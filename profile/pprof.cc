#include "profile/pprof.h"

#include <unordered_map>

#include <fmt/format.h>

#include "core/gzip.h"
#include "proto/profile.pb.h"

namespace hotspotd::profile {
namespace {

// A frame name as folded text can hold it.
std::string tidy(std::string name) {
  for (char& c : name) {
    if (c == ';') c = ':';
    if (c == '\n' || c == '\r') c = ' ';
  }
  return name;
}

}  // namespace

constexpr std::size_t kMaxInflatedBytes = std::size_t{256} << 20;

Result<FoldedStacks> foldPprof(std::string_view data, std::string_view root, PprofInfo* info,
                               std::string_view value_type) {
  std::string plain;
  if (looksGzipped(data)) {
    // A CPU profile of a busy service inflates to a few MiB; past this it is not one (or a bomb).
    auto inflated = gunzip(data, kMaxInflatedBytes);
    if (!inflated) return fail(fmt::format("pprof profile: {}", inflated.error().message));
    plain = std::move(*inflated);
    data = plain;
  }
  perftools::profiles::Profile p;
  if (data.size() > static_cast<std::size_t>(std::numeric_limits<int>::max()) ||
      !p.ParseFromArray(data.data(), static_cast<int>(data.size()))) {
    return fail("not a pprof profile (gzip'd protobuf from /debug/pprof/profile was expected)");
  }
  const auto& strings = p.string_table();
  auto str = [&](std::int64_t i) -> std::string {
    return i >= 0 && i < strings.size() ? strings.Get(static_cast<int>(i)) : std::string();
  };
  if (p.sample_type_size() == 0) return fail("pprof profile has no sample types");
  int value_index = p.sample_type_size() - 1;
  bool named = false;
  for (int i = 0; i < p.sample_type_size(); ++i) {
    if (str(p.sample_type(i).type()) == "samples") {
      value_index = i;
      named = true;
    }
  }
  if (!value_type.empty()) {
    named = false;
    for (int i = 0; i < p.sample_type_size(); ++i) {
      if (str(p.sample_type(i).type()) == value_type) {
        value_index = i;
        named = true;
      }
    }
    if (!named) return fail(fmt::format("pprof profile has no \"{}\" values", value_type));
  }
  if (!named && p.default_sample_type() != 0) {
    for (int i = 0; i < p.sample_type_size(); ++i) {
      if (p.sample_type(i).type() == p.default_sample_type()) value_index = i;
    }
  }
  if (info) {
    info->sample_type = str(p.sample_type(value_index).type()) + "/" + str(p.sample_type(value_index).unit());
    info->duration_nanos = p.duration_nanos();
    info->time_nanos = p.time_nanos();
    if (str(p.period_type().unit()) == "nanoseconds") info->period_nanos = p.period();
  }

  std::unordered_map<std::uint64_t, std::string> functions;
  for (const auto& f : p.function()) functions[f.id()] = tidy(str(f.name()));
  std::unordered_map<std::uint64_t, std::string> mappings;
  for (const auto& m : p.mapping()) {
    std::string file = str(m.filename());
    if (const auto slash = file.rfind('/'); slash != std::string::npos) file = file.substr(slash + 1);
    mappings[m.id()] = file;
  }
  // Each location's frames, caller first: "outer;inner_[i]".
  std::unordered_map<std::uint64_t, std::string> locations;
  for (const auto& loc : p.location()) {
    std::string frames;
    for (int i = loc.line_size(); i-- > 0;) {
      auto f = functions.find(loc.line(i).function_id());
      std::string name = f != functions.end() && !f->second.empty() ? f->second : std::string();
      if (name.empty()) continue;
      if (!frames.empty()) name += "_[i]";
      frames += (frames.empty() ? "" : ";") + name;
    }
    if (frames.empty()) {
      auto m = mappings.find(loc.mapping_id());
      frames = m != mappings.end() && !m->second.empty() ? "[" + tidy(m->second) + "]" : "[unknown]";
    }
    locations[loc.id()] = std::move(frames);
  }

  FoldedStacks out;
  std::string stack;
  for (const auto& s : p.sample()) {
    if (value_index >= s.value_size()) continue;
    const std::int64_t v = s.value(value_index);
    if (v <= 0) continue;
    stack.assign(root);
    for (int i = s.location_id_size(); i-- > 0;) {
      auto loc = locations.find(s.location_id(i));
      if (!stack.empty()) stack += ';';
      stack += loc != locations.end() ? loc->second : std::string("[unknown]");
    }
    if (stack.empty()) continue;
    out.add(stack, static_cast<std::uint64_t>(v));
  }
  return out;
}

}  // namespace hotspotd::profile
