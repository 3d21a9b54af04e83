#include "profile/profiling_config.h"

#include <set>

#include <fmt/format.h>

namespace hotspotd::profile {

void readProfiling(TableReader& r, ProfilingConfig& out) {
  if (auto n = r.integer("max_concurrent", 1, 64)) out.max_concurrent = static_cast<int>(*n);
  if (auto b = r.number("cpu_budget", 0.0001, 64)) out.cpu_budget = *b;
  if (auto d = r.duration("baseline_interval")) {
    if (d->count() != 0 && *d < std::chrono::minutes(1)) {
      r.invalid("baseline_interval", "at least 1m (or 0s for no baselines)");
    } else {
      out.baseline_interval = *d;
    }
  }
  if (auto d = r.duration("baseline_duration", std::chrono::seconds(1))) out.baseline_duration = *d;
  if (auto f = r.integer("baseline_frequency", 1, 10000)) out.baseline_frequency = static_cast<int>(*f);
  if (auto d = r.duration("retention", std::chrono::minutes(1))) out.retention = *d;
  if (auto n = r.integer("max_profiles", 1, 1'000'000)) out.max_profiles = *n;
  if (auto size = r.byteSize("max_bytes")) out.max_bytes = *size;
  if (auto p = r.string("perf")) out.perf = *p;
  r.rejectUnknownKeys();
}

std::vector<ProfileTarget> readProfileTargets(const toml::array& array, const std::filesystem::path& base_dir,
                                              ConfigErrors& errors) {
  std::vector<ProfileTarget> out;
  std::set<std::string> names;
  for (std::size_t i = 0; i < array.size(); ++i) {
    const toml::table& table = *array[i].as_table();
    TableReader r(table, fmt::format("profile_targets[{}]", i), errors);
    ProfileTarget t;
    if (auto name = r.string("name")) {
      t.name = *name;
      if (t.name.empty()) r.invalid("name", "must not be empty");
      if (!names.insert(t.name).second) r.invalid("name", fmt::format("target \"{}\" is defined twice", t.name));
    } else if (!table.contains("name")) {
      errors.add(table.source(), r.keyPath("name"), "missing (rules name their target with profile = \"<name>\")");
    }
    if (auto m = r.string("match")) {
      if (auto sel = parseSelector(*m)) {
        t.match = *sel;
      } else {
        r.invalid("match", sel.error().message);
      }
    }
    int ways = 0;
    if (auto pid = r.integer("pid", 1, 4'194'304)) {
      t.process.pid = static_cast<pid_t>(*pid);
      ++ways;
    }
    if (auto f = r.string("pid_file")) {
      const std::filesystem::path p(*f);
      t.process.pid_file = p.is_absolute() ? p : (base_dir / p).lexically_normal();
      ++ways;
    }
    if (auto u = r.string("systemd_unit")) {
      t.process.systemd_unit = *u;
      ++ways;
    }
    if (auto n = r.string("process_name")) {
      t.process.process_name = *n;
      ++ways;
    }
    if (auto c = r.string("cgroup")) {
      t.process.cgroup = *c;
      ++ways;
    }
    if (auto u = r.string("pprof_url")) {
      if (!u->starts_with("http://") && !u->starts_with("https://")) {
        r.invalid("pprof_url", "must start with http:// or https://");
      }
      t.pprof_url = *u;
      ++ways;
    }
    if (auto c = r.strings("command")) {
      if (c->empty()) r.invalid("command", "must name a program (an array: the program and its arguments)");
      t.command = *c;
    }
    if (ways != 1 && table.contains("name")) {
      errors.add(table.source(), r.keyPath(ways == 0 ? "pid" : "name"),
                 ways == 0 ? "no way to reach the process: give one of pid, pid_file, systemd_unit, process_name, "
                             "cgroup or pprof_url"
                           : "give only one of pid, pid_file, systemd_unit, process_name, cgroup and pprof_url");
    }
    if (auto d = r.duration("duration", std::chrono::seconds(1))) t.duration = *d;
    if (auto d = r.duration("max_duration", std::chrono::seconds(1))) t.max_duration = *d;
    if (t.max_duration < t.duration) t.max_duration = t.duration;
    if (auto f = r.integer("frequency", 1, 10000)) t.frequency = static_cast<int>(*f);
    if (auto d = r.duration("cooldown")) t.cooldown = *d;
    if (auto size = r.byteSize("max_size")) t.max_size = *size;
    if (auto k = r.string("kinds")) {
      if (*k != "cpu" && *k != "offcpu" && *k != "both" && *k != "auto") {
        r.invalid("kinds", "one of \"cpu\", \"offcpu\", \"both\", \"auto\"");
      } else if (*k != "cpu" && *k != "auto" && !t.offcpuCapable()) {
        r.invalid("kinds",
                  "off-CPU capture is perf's or a Go pprof endpoint's: a command target records on-CPU profiles "
                  "(kinds = \"cpu\")");
      } else {
        t.kinds = *k;
      }
    }
    if (auto d = r.duration("min_block")) t.min_block = *d;
    if (auto n = r.integer("max_switches", 100, 10'000'000)) t.max_switches = static_cast<std::uint64_t>(*n);
    if (auto g = r.string("call_graph")) {
      if (*g != "dwarf" && *g != "fp") {
        r.invalid("call_graph", "\"dwarf\" or \"fp\"");
      } else if (!t.perfTarget()) {
        r.invalid("call_graph", "call chains are perf's: a pprof_url or command target brings its own stacks");
      } else {
        t.call_graph = *g == "fp" ? CallGraph::fp : CallGraph::dwarf;
      }
    }
    r.rejectUnknownKeys();
    out.push_back(std::move(t));
  }
  return out;
}

std::string ProfileTarget::stackFormat() const {
  if (!pprof_url.empty()) return "pprof";
  if (!command.empty()) return "command";
  return call_graph == CallGraph::dwarf ? "perf-dwarf" : "perf-fp";
}

}  // namespace hotspotd::profile
