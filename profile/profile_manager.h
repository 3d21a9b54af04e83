// DESIGN
// Profiles on incidents. When an incident fires and its rule names a profile target whose `match` takes the
// incident's labels, the target's process is captured once for that incident (perf, pprof or a command, on a
// worker thread); the profile is stored with its flame graph and its diff against the target's latest healthy
// baseline, and its id is attached to the incident. A capture that fails or is skipped is attached too, with
// the reason: the incident's alerts never wait for a profile.
//
// Progressive: while the incident goes on, the target is captured again each `cooldown`, each capture twice as
// long as the one before, up to `max_duration` (at most 5 captures an incident), so evidence grows with the
// problem and a brief blip costs one short capture.
//
// Limits: one capture of a target per `cooldown` (a second incident on the same target within it gets the recent
// profile instead of a new capture); at most `max_concurrent` captures at a time (others wait their turn); and a
// CPU budget: what profiling cost this host over the last hour (perf's CPU time) may not pass `cpu_budget` of one
// CPU; a capture that would is skipped with that reason.
//
// Baselines: each target is captured at `baseline_frequency` for `baseline_duration` every `baseline_interval`
// while none of its incidents fires, so every hotspot profile has a recent healthy one to be compared with. A
// target whose captures can record off-CPU time (`kinds` offcpu, both or auto) gets wall-clock baselines (or
// off-CPU ones for offcpu), so its waits have a healthy baseline too.
//
// Kinds (perf targets): `cpu`, `offcpu` and `both` record that from the first capture. `auto` records on-CPU
// first; when that capture explains nothing and the incident still fires, the next capture starts at once and
// records both (wall-clock), and so do the later ones. Explains nothing: no samples at all; against a baseline,
// no on-CPU frame that grew by kExplainsPp points; without one, the process used less than half a CPU.
//
// Threads: state lives on the thread of its io_context (the daemon's state thread); a worker runs the capture,
// reads the baseline's stacks, draws both flame graphs and writes the profile's files in its staging directory
// (stageProfile), then posts back. The loop only renames the staged folder into place and writes the index row
// (ProfileStore::commit). stop() cancels
// running captures (their programs are killed), joins the workers, and discards what they staged.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <atomic>
#include <deque>
#include <functional>
#include <map>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/registry.h>
#include <boost/asio/io_context.hpp>

#include "core/clock.h"
#include "daemon/config.h"
#include "profile/capture.h"
#include "profile/profile_store.h"
#include "rules/finding.h"

namespace hotspotd::profile {

// A profile attached to an incident: what the manager hands on (the incident store records it, alerting links it).
struct ProfileRef {
  std::string incident_id;
  std::string profile_id;
  ProfileKind kind = ProfileKind::hotspot;
  std::string error;  // why there is no profile; empty when the capture worked
  std::int64_t start_ms = 0;
};

class ProfileManager {
 public:
  ProfileManager(boost::asio::io_context& io, Clock& clock, ProfileStore& profiles, prometheus::Registry& registry,
                 std::filesystem::path work_dir);
  ~ProfileManager();
  ProfileManager(const ProfileManager&) = delete;
  ProfileManager& operator=(const ProfileManager&) = delete;

  // Replaces the targets and limits (reload); starts the schedule.
  void apply(ProfilingConfig config);
  // Incident transitions from the engine.
  void onEvents(const std::vector<rules::IncidentEvent>& events);
  // Cancels running captures and joins the workers. No capture starts after it.
  void stop();
  // Called on the io thread for every profile that belongs to an incident, as soon as it is stored: a capture for
  // it, the recent capture of its target it shares, or a capture that failed or was skipped (with the reason).
  void onProfile(std::function<void(const ProfileRef&)> listener) { on_profile_ = std::move(listener); }

  // Until when incident `id`'s first capture may take (its duration and the time to fold and store it, from when
  // it was asked for), while that capture is under way; 0 when none is. Alerting holds the first notification
  // until then.
  std::int64_t captureDeadlineMs(const std::string& incident_id) const;

  // For tests: captures running or waiting.
  std::size_t busy() const { return running_ + queue_.size(); }

 private:
  struct Job {
    std::string target;
    ProfileKind kind = ProfileKind::hotspot;
    std::string incident_id;
    Duration duration{};
    int frequency = 99;
    CaptureKind capture = CaptureKind::cpu;
  };
  struct Incident {
    std::string target;
    int captures = 0;
    Duration last_duration{};
    std::int64_t next_ms = 0;  // when the next progressive capture may start (0: none running yet)
    bool capturing = false;
    CaptureKind capture = CaptureKind::cpu;  // what its next capture records
    std::int64_t first_deadline_ms = 0;      // while its first capture is under way: when it should be stored
  };
  // What a target's incident captures record first, and its baselines.
  static CaptureKind firstCapture(const ProfileTarget& t);
  static CaptureKind baselineCapture(const ProfileTarget& t);

  const ProfileTarget* target(const std::string& name) const;
  void schedule();
  void tick();
  void request(Job job, std::int64_t now_ms);
  void launch(Job job);
  // On the loop, once a capture thread is done: `result` is the capture (its stacks already written), `staged`
  // its files in the staging directory (drawn on the capture thread, off the loop).
  void finished(const Job& job, std::int64_t start_ms, Result<Capture> result, Result<StagedProfile> staged);
  void attach(const std::string& incident_id, const ProfileRecord& record);
  void attach(ProfileRef ref);
  double spentLastHour(std::int64_t now_ms);
  void recordFailure(const Job& job, std::int64_t start_ms, const std::string& reason, const std::string& result);
  static ProfileRecord recordOf(const Job& job, std::int64_t start_ms);
  // The baseline a hotspot profile is compared with, from the index: its id and how long it recorded.
  struct BaselineRef {
    std::string id;  // empty: none
    double seconds = 0;
  };
  // On the capture thread: the profile's summary and files, in the staging directory.
  static Result<StagedProfile> stage(const Job& job, std::int64_t start_ms, const Capture& capture,
                                     const std::filesystem::path& profiles_dir, const BaselineRef& base,
                                     const std::string& stack_format);

  boost::asio::io_context& io_;
  ProfileStore& profiles_;
  std::filesystem::path work_dir_;
  ProfilingConfig config_;
  Clock& clock_;
  std::unique_ptr<Timer> timer_;
  std::map<std::string, Incident> firing_;            // by incident id
  std::map<std::string, std::int64_t> last_capture_;  // target -> start of its last hotspot capture
  std::map<std::string, std::string> last_profile_;   // target -> id of its last hotspot profile
  std::map<std::string, std::int64_t> last_baseline_;
  std::map<std::string, bool> target_busy_;
  std::deque<std::pair<std::int64_t, double>> spent_;  // (when, CPU seconds) of captures in the last hour
  std::deque<Job> queue_;
  std::size_t running_ = 0;
  std::int64_t started_ms_ = 0;
  std::int64_t pruned_ms_ = 0;
  std::atomic<bool> cancel_{false};
  std::function<void(const ProfileRef&)> on_profile_;
  bool stopped_ = false;
  std::map<std::uint64_t, std::thread> workers_;
  std::uint64_t next_worker_ = 0;
  prometheus::Family<prometheus::Counter>& captures_;
  prometheus::Counter& cpu_seconds_;
  prometheus::Gauge& running_gauge_;
};

}  // namespace hotspotd::profile
