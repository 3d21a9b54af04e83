#include "profile/profile_manager.h"

#include <fmt/format.h>
#include <boost/asio/post.hpp>

#include "core/file.h"
#include "core/log.h"
#include "profile/analysis.h"

namespace hotspotd::profile {
namespace {

constexpr int kMaxCapturesPerIncident = 5;
constexpr std::int64_t kHourMs = 3'600'000;
constexpr auto kTick = std::chrono::seconds(5);
// What folding, drawing and storing a capture may take past its duration before a held notification goes without
// it (the off-CPU pre-sample, perf script's DWARF unwinding, two flame graphs).
constexpr std::int64_t kStoreMarginMs = 10'000;

double secondsOf(Duration d) {
  return std::chrono::duration<double>(d).count();
}

// Whether a stored baseline's stacks compare with what the target captures now. A baseline stored before profiles
// said their format is the pprof or command target's own; a perf one is not comparable (it had frame-pointer
// call chains and unmarked kernel frames).
bool sameStacks(const ProfileRecord& baseline, const ProfileTarget& target) {
  const std::string now = target.stackFormat();
  const std::string legacy = target.perfTarget() ? "" : now;
  return baseline.summary.is_object() && baseline.summary.value("stacks", legacy) == now;
}

}  // namespace

ProfileManager::ProfileManager(boost::asio::io_context& io, Clock& clock, ProfileStore& profiles,
                               prometheus::Registry& registry, std::filesystem::path work_dir)
    : io_(io),
      profiles_(profiles),
      work_dir_(std::move(work_dir)),
      clock_(clock),
      timer_(clock.timer(io, TimerOrder::act)),
      captures_(prometheus::BuildCounter()
                    .Name("hotspotd_profile_captures_total")
                    .Help("Profile captures by target, kind (hotspot, baseline) and result (ok, error, skipped).")
                    .Register(registry)),
      cpu_seconds_(prometheus::BuildCounter()
                       .Name("hotspotd_profile_cpu_seconds_total")
                       .Help("CPU time profiling cost this host (the profilers' own CPU time).")
                       .Register(registry)
                       .Add({})),
      running_gauge_(prometheus::BuildGauge()
                         .Name("hotspotd_profile_captures_running")
                         .Help("Profile captures running now.")
                         .Register(registry)
                         .Add({})) {
  started_ms_ = clock_.nowMs();
}

ProfileManager::~ProfileManager() {
  stop();
}

void ProfileManager::apply(ProfilingConfig config) {
  config_ = std::move(config);
  for (const auto& t : config_.targets) {
    if (last_baseline_.count(t.name)) continue;
    // A baseline of another stack format (the target's call_graph changed) is replaced a minute after start.
    if (auto b = profiles_.latestBaseline(t.name); b && *b && sameStacks(**b, t)) {
      last_baseline_[t.name] = (*b)->start_ms;
    }
  }
  timer_->cancel();
  if (!stopped_) schedule();
}

CaptureKind ProfileManager::firstCapture(const ProfileTarget& t) {
  if (!t.offcpuCapable()) return CaptureKind::cpu;
  if (t.kinds == "offcpu") return CaptureKind::offcpu;
  if (t.kinds == "both") return CaptureKind::both;
  return CaptureKind::cpu;
}

CaptureKind ProfileManager::baselineCapture(const ProfileTarget& t) {
  if (!t.offcpuCapable() || t.kinds == "cpu") return CaptureKind::cpu;
  return t.kinds == "offcpu" ? CaptureKind::offcpu : CaptureKind::both;
}

std::int64_t ProfileManager::captureDeadlineMs(const std::string& incident_id) const {
  auto it = firing_.find(incident_id);
  if (it == firing_.end() || !it->second.capturing || it->second.captures > 0) return 0;
  return it->second.first_deadline_ms;
}

const ProfileTarget* ProfileManager::target(const std::string& name) const {
  for (const auto& t : config_.targets) {
    if (t.name == name) return &t;
  }
  return nullptr;
}

void ProfileManager::schedule() {
  clock_.after(*timer_, kTick, [this] {
    if (stopped_) return;
    tick();
    schedule();
  });
}

void ProfileManager::onEvents(const std::vector<rules::IncidentEvent>& events) {
  if (stopped_) return;
  const std::int64_t now = clock_.nowMs();
  for (const auto& e : events) {
    if (e.state == rules::IncidentEvent::State::resolved) {
      firing_.erase(e.id);
      continue;
    }
    if (e.profile.empty()) continue;
    const ProfileTarget* t = target(e.profile);
    if (!t) continue;
    LabelView labels;
    for (const auto& [k, v] : e.labels) labels.emplace_back(k, v);
    if (!t->match.matchers.empty() && !t->match.matches(e.alertname, labels)) continue;
    if (firing_.count(e.id)) continue;  // a restart resumed it: it has its profiles
    firing_[e.id] = Incident{t->name, 0, Duration::zero(), 0, false, firstCapture(*t)};
    // Within the target's cooldown, the profile just taken for another incident serves this one too.
    if (auto last = last_capture_.find(t->name);
        last != last_capture_.end() && now - last->second < t->cooldown.count() && last_profile_.count(t->name)) {
      attach(ProfileRef{e.id, last_profile_[t->name], ProfileKind::hotspot, "", last->second});
      firing_[e.id].captures = 1;
      firing_[e.id].last_duration = t->duration;
      firing_[e.id].next_ms = last->second + t->cooldown.count();
      continue;
    }
    firing_[e.id].capturing = true;
    firing_[e.id].first_deadline_ms =
        now + std::chrono::duration_cast<std::chrono::milliseconds>(t->duration).count() + kStoreMarginMs;
    request(Job{t->name, ProfileKind::hotspot, e.id, t->duration, t->frequency, firstCapture(*t)}, now);
  }
}

void ProfileManager::tick() {
  const std::int64_t now = clock_.nowMs();
  // Progressive captures of incidents that go on.
  for (auto& [id, inc] : firing_) {
    const ProfileTarget* t = target(inc.target);
    if (!t || inc.capturing || inc.captures == 0 || inc.captures >= kMaxCapturesPerIncident || now < inc.next_ms) {
      continue;
    }
    inc.capturing = true;
    const Duration next = std::min<Duration>(inc.last_duration * 2, t->max_duration);
    request(Job{t->name, ProfileKind::hotspot, id, next, t->frequency, inc.capture}, now);
  }
  // Baselines of targets with nothing firing.
  if (config_.baseline_interval.count() > 0) {
    for (const auto& t : config_.targets) {
      const bool firing =
          std::any_of(firing_.begin(), firing_.end(), [&](const auto& f) { return f.second.target == t.name; });
      if (firing || target_busy_[t.name]) continue;
      // The first baseline a minute after start (start-up is not steady state), then every interval.
      auto last = last_baseline_.find(t.name);
      const std::int64_t due = last == last_baseline_.end()
                                   ? started_ms_ + std::min<std::int64_t>(60'000, config_.baseline_interval.count())
                                   : last->second + config_.baseline_interval.count();
      if (now < due) continue;
      last_baseline_[t.name] = now;
      request(Job{t.name, ProfileKind::baseline, "", config_.baseline_duration, config_.baseline_frequency,
                  baselineCapture(t)},
              now);
    }
  }
  // Start what waits, within the concurrency limit.
  while (!queue_.empty() && running_ < static_cast<std::size_t>(config_.max_concurrent)) {
    Job job = std::move(queue_.front());
    queue_.pop_front();
    launch(std::move(job));
  }
  if (now - pruned_ms_ >= 60'000) {
    pruned_ms_ = now;
    if (auto n = profiles_.prune(now, config_.retention.count(), static_cast<std::size_t>(config_.max_profiles),
                                 config_.max_bytes);
        n && *n > 0) {
      log::info("Deleted profiles past their retention", {{"profiles", *n}});
    }
  }
}

double ProfileManager::spentLastHour(std::int64_t now_ms) {
  while (!spent_.empty() && now_ms - spent_.front().first > kHourMs) spent_.pop_front();
  double total = 0;
  for (const auto& [t, s] : spent_) total += s;
  return total;
}

void ProfileManager::request(Job job, std::int64_t now) {
  const ProfileTarget* t = target(job.target);
  if (!t) return;
  // The budget: what the last hour cost plus what this capture is expected to cost (perf takes about 2% of a
  // CPU while it records at 99 Hz; unwinding DWARF call chains costs about 5% of the capture's length more for
  // the on-CPU samples of a busy CPU at 99 Hz, and as much again for the switches of an off-CPU capture; the
  // measured cost takes over as captures finish).
  const double budget = config_.cpu_budget * 3600.0;
  double expected = t->pprof_url.empty() ? 0.02 * secondsOf(job.duration) * job.frequency / 99.0 : 0.0;
  if (t->stackFormat() == "perf-dwarf" && job.capture != CaptureKind::offcpu) {
    expected += 0.05 * secondsOf(job.duration) * job.frequency / 99.0;
  }
  if (job.capture != CaptureKind::cpu) expected += 0.05 * secondsOf(job.duration);
  const double spent = spentLastHour(now);
  if (spent + expected > budget) {
    recordFailure(job, now,
                  fmt::format("profiling budget spent: {:.1f} s of CPU in the last hour, budget {:.1f} s "
                              "([profiling] cpu_budget = {})",
                              spent, budget, config_.cpu_budget),
                  "skipped");
    if (job.kind == ProfileKind::hotspot) {
      if (auto it = firing_.find(job.incident_id); it != firing_.end()) {
        it->second.capturing = false;
        it->second.next_ms = now + t->cooldown.count();
        if (it->second.captures == 0) it->second.captures = 1;
        it->second.last_duration = job.duration;
      }
    }
    return;
  }
  if (job.kind == ProfileKind::hotspot) last_capture_[job.target] = now;
  if (running_ < static_cast<std::size_t>(config_.max_concurrent)) {
    launch(std::move(job));
  } else {
    queue_.push_back(std::move(job));
  }
}

void ProfileManager::launch(Job job) {
  const ProfileTarget* t = target(job.target);
  if (!t || stopped_) return;
  ++running_;
  running_gauge_.Set(static_cast<double>(running_));
  target_busy_[job.target] = true;
  const ProfileTarget copy = *t;
  const std::string perf = config_.perf;
  const std::filesystem::path work = work_dir_;
  const std::int64_t start_ms = clock_.nowMs();
  const std::uint64_t worker = next_worker_++;
  log::info("Profiling", {{"target", job.target},
                          {"kind", std::string(kindName(job.kind))},
                          {"records", std::string(captureKindName(job.capture))},
                          {"incident", job.incident_id},
                          {"duration", formatDuration(job.duration)}});
  // The baseline a hotspot profile is compared with: the target's latest, looked up here (an index read); its
  // stacks are read and the diff drawn on the capture thread.
  BaselineRef baseline;
  if (job.kind == ProfileKind::hotspot) {
    if (auto b = profiles_.latestBaseline(job.target); b && *b && sameStacks(**b, *t)) {
      baseline = BaselineRef{(*b)->id, static_cast<double>((*b)->duration_ms) / 1000.0};
    }
  }
  const std::filesystem::path profiles_dir = profiles_.dir();
  workers_.emplace(
      worker, std::thread([this, job, copy, perf, work, start_ms, worker, baseline, profiles_dir] {
        CaptureOptions o;
        o.duration = job.duration;
        o.frequency = job.frequency;
        o.max_size = copy.max_size;
        o.work_dir = work;
        o.perf = perf;
        o.cancel = &cancel_;
        o.kind = job.capture;
        o.min_block_us = static_cast<std::uint64_t>(std::max<std::int64_t>(1, copy.min_block.count() * 1000));
        o.max_switches = copy.max_switches;
        o.call_graph = copy.call_graph;
        Result<Capture> result = fail("no capture");
        if (!copy.pprof_url.empty()) {
          result = capturePprof(copy.pprof_url, o);
        } else {
          auto pids = resolveProcesses(copy.process);
          if (!pids) {
            result = tl::unexpected(pids.error());
          } else if (!copy.command.empty()) {
            result = captureCommand(copy.command, pids->front(), o);
          } else {
            result = capturePerf(*pids, o);
          }
        }
        Result<StagedProfile> staged = fail("not captured");
        if (result) {
          staged = stage(job, start_ms, *result, profiles_dir, baseline, copy.stackFormat());
          result->stacks = FoldedStacks{};  // written: not kept in memory while the loop takes it
        }
        boost::asio::post(io_, [this, job, start_ms, worker, r = std::move(result), s = std::move(staged)]() mutable {
          if (auto it = workers_.find(worker); it != workers_.end()) {
            it->second.join();
            workers_.erase(it);
          }
          finished(job, start_ms, std::move(r), std::move(s));
        });
      }));
}

ProfileRecord ProfileManager::recordOf(const Job& job, std::int64_t start_ms) {
  ProfileRecord r;
  r.target = job.target;
  r.kind = job.kind;
  r.incident_id = job.incident_id;
  r.start_ms = start_ms;
  return r;
}

void ProfileManager::recordFailure(const Job& job, std::int64_t start_ms, const std::string& reason,
                                   const std::string& result) {
  ProfileRecord r = recordOf(job, start_ms);
  r.error = reason;
  auto saved = profiles_.saveFailure(std::move(r));
  if (saved && !job.incident_id.empty()) attach(job.incident_id, *saved);
  captures_.Add({{"target", job.target}, {"kind", std::string(kindName(job.kind))}, {"result", result}}).Increment();
  log::warn(result == "skipped" ? "Profile capture skipped" : "Profile capture failed",
            {{"target", job.target},
             {"kind", std::string(kindName(job.kind))},
             {"incident", job.incident_id},
             {"reason", reason}});
}

void ProfileManager::attach(const std::string& incident_id, const ProfileRecord& record) {
  attach(ProfileRef{incident_id, record.id, record.kind, record.error, record.start_ms});
}

void ProfileManager::attach(ProfileRef ref) {
  if (on_profile_) on_profile_(ref);
}

Result<StagedProfile> ProfileManager::stage(const Job& job, std::int64_t start_ms, const Capture& capture,
                                            const std::filesystem::path& profiles_dir, const BaselineRef& base,
                                            const std::string& stack_format) {
  // Against the target's latest healthy baseline, if there is one and its stacks can be read.
  std::optional<FoldedStacks> baseline;
  const std::string& baseline_id = base.id;
  const double base_seconds = base.seconds;
  if (!baseline_id.empty()) {
    if (auto stacks = loadProfileStacks(profiles_dir, baseline_id)) baseline = std::move(*stacks);
  }
  ProfileRecord r = recordOf(job, start_ms);
  r.pids.assign(capture.pids.begin(), capture.pids.end());
  const Duration recorded = capture.recorded.count() > 0 ? capture.recorded : job.duration;
  r.duration_ms = std::chrono::duration_cast<std::chrono::milliseconds>(recorded).count();
  r.samples = capture.samples;
  r.baseline_id = baseline ? baseline_id : std::string();
  r.summary = summaryJson(capture.stacks, baseline ? &*baseline : nullptr, secondsOf(recorded), base_seconds);
  r.summary["records"] = std::string(captureKindName(job.capture));
  r.summary["stacks"] = stack_format;
  if (!capture.lock_holders.empty()) {
    // A Go program's mutex profile: whose holding a lock made others wait (its own frames, by waiting caused).
    const auto holders = summarize(capture.lock_holders, 10);
    nlohmann::json top = nlohmann::json::array();
    for (const auto& f : holders.by_total) {
      if (ownFrame(f.name)) top.push_back({{"name", f.name}, {"us", f.total}, {"share", f.total_share}});
    }
    r.summary["lock_holders"] = {{"us", holders.samples}, {"top", top}};
  }
  if (!capture.goroutines.empty()) {
    // A Go program's goroutines at the end of the capture: how many, and where they wait (a pile-up, a leak).
    const auto where = summarizeOffCpu(capture.goroutines, 10);
    nlohmann::json top = nlohmann::json::array();
    for (const auto& w : where.waiting) {
      top.push_back(
          {{"name", w.name}, {"class", std::string(waitClassName(w.cls))}, {"count", w.us}, {"share", w.share}});
    }
    r.summary["goroutines"] = {{"count", where.us}, {"waiting", top}};
  }
  if (!capture.note.empty()) r.summary["note"] = capture.note;
  return stageProfile(profiles_dir, std::move(r), capture.stacks, baseline ? &*baseline : nullptr);
}

void ProfileManager::finished(const Job& job, std::int64_t start_ms, Result<Capture> result,
                              Result<StagedProfile> staged) {
  --running_;
  running_gauge_.Set(static_cast<double>(running_));
  target_busy_[job.target] = false;
  const std::int64_t now = clock_.nowMs();
  if (result) {
    cpu_seconds_.Increment(result->cpu_seconds);
    spent_.emplace_back(now, result->cpu_seconds);
  }
  if (auto it = firing_.find(job.incident_id); it != firing_.end()) {
    const ProfileTarget* t = target(job.target);
    it->second.capturing = false;
    it->second.captures += 1;
    it->second.last_duration = job.duration;
    it->second.next_ms = now + (t ? t->cooldown.count() : 300'000);
  }
  if (stopped_) {
    if (staged) discardStaged(*staged);
    return;
  }
  // auto: an on-CPU capture that explains nothing (no samples at all, or no frame that grew by kExplainsPp
  // points); while the incident fires, its next capture records the waits too, at once.
  auto escalate = [&](double grew_most_pp) {
    const ProfileTarget* t = target(job.target);
    auto it = firing_.find(job.incident_id);
    if (!t || it == firing_.end() || job.capture != CaptureKind::cpu || t->kinds != "auto" || !t->offcpuCapable() ||
        it->second.capture != CaptureKind::cpu) {
      return;
    }
    it->second.capture = CaptureKind::both;
    it->second.next_ms = now;
    log::info("No on-CPU frame explains the incident; its next capture records off-CPU time too",
              {{"target", job.target}, {"incident", job.incident_id}, {"grew_most_pp", grew_most_pp}});
  };
  if (!result) {
    if (result.error().message.starts_with("no samples")) escalate(0);
    recordFailure(job, start_ms, result.error().message, "error");
    return;
  }
  auto saved = staged ? profiles_.commit(std::move(*staged)) : tl::unexpected(staged.error());
  if (!saved) {
    recordFailure(job, start_ms, fmt::format("cannot store the profile: {}", saved.error().message), "error");
    return;
  }
  if (job.kind == ProfileKind::hotspot) {
    if (saved->summary.contains("grown") && saved->summary["grown"].is_array()) {
      // The same test as the page's: the frame that explains the growth (the first listed) grew by kExplainsPp.
      const auto& grown = saved->summary["grown"];
      const double top = grown.empty() ? 0.0 : grown[0].value("grew_pp", 0.0);
      if (!saved->summary.value("explains", "").starts_with("cpu:")) escalate(top);
    } else if (saved->duration_ms > 0) {
      // No baseline to tell what grew: a process that used less than half a CPU spent most of its time waiting.
      const double cpus = static_cast<double>(saved->samples) * 1000.0 /
                          (static_cast<double>(job.frequency) * static_cast<double>(saved->duration_ms));
      if (cpus < 0.5) escalate(0);
    }
  }
  // Attached before it is announced: whoever reads the log line finds the profile on the incident.
  if (job.kind == ProfileKind::hotspot) {
    last_profile_[job.target] = saved->id;
    if (!job.incident_id.empty()) attach(job.incident_id, *saved);
  } else {
    last_baseline_[job.target] = start_ms;
  }
  captures_.Add({{"target", job.target}, {"kind", std::string(kindName(job.kind))}, {"result", "ok"}}).Increment();
  std::string top;
  if (!saved->summary["top_self"].empty()) top = saved->summary["top_self"][0].value("name", "");
  log::info("Profile captured", {{"target", job.target},
                                 {"kind", std::string(kindName(job.kind))},
                                 {"incident", job.incident_id},
                                 {"profile", saved->id},
                                 {"samples", saved->samples},
                                 {"top_frame", top},
                                 {"explanation", saved->summary.value("explanation", "")}});
}

void ProfileManager::stop() {
  if (stopped_) return;
  stopped_ = true;
  cancel_ = true;
  timer_->cancel();
  queue_.clear();
  for (auto& [id, t] : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

}  // namespace hotspotd::profile
