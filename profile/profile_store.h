// DESIGN
// Captured profiles, kept under the state directory: one folder per profile (`profiles/<id>/`) with the folded
// stacks, the flame graph, the differential flame graph against the target's latest healthy baseline (when there
// is one) and meta.json (target, kind, incident, pids, start, duration, samples, top frames with their class and
// caller, the frames that grew); the index is a table in the state database. A failed capture is a row with its
// reason and no files, so the incident can say why it has no profile.
//
// Retention: by age, by count and by total bytes, oldest first; the newest baseline of each target is kept
// whatever the limits say, so every new profile has something to be compared with. Owned by the lifecycle thread.
#pragma once

#include <cstdint>
#include <filesystem>
#include <optional>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "core/result.h"
#include "profile/folded.h"
#include "state/database.h"

namespace hotspotd::profile {

// Why a profile was taken: during an incident, or as the target's healthy baseline.
enum class ProfileKind { hotspot, baseline };
std::string_view kindName(ProfileKind kind);  // "hotspot", "baseline": as stored and as the API says
ProfileKind parseProfileKind(std::string_view name);

struct ProfileRecord {
  std::string id;
  std::string target;
  ProfileKind kind = ProfileKind::hotspot;
  std::string incident_id;  // for hotspot profiles
  std::vector<int> pids;
  std::int64_t start_ms = 0;
  std::int64_t duration_ms = 0;
  std::uint64_t samples = 0;
  std::uint64_t bytes = 0;
  std::string error;        // a failed capture: why
  std::string baseline_id;  // the baseline the diff is against
  nlohmann::json summary;   // top frames, classes, grown frames
};

// What meta.json and the API say of a profile: top frames, where the time goes, and what grew against
// `baseline` (if given). Frame names from the profiled process are kept as they are; jsonText() repairs any
// invalid UTF-8 when the summary is written.
// - On-CPU: `top_self`, `top_total`, `classes` and `grown` (the frame that explains the growth first) over the
//   profile's on-CPU stacks, against the baseline's on-CPU stacks.
// - Off-CPU (`offcpu`, when the profile has off-CPU stacks): the time by wait class, the waiting frames, and
//   against a baseline with off-CPU stacks the waits that grew, per second of capture (`seconds` and
//   `base_seconds`: how long each recorded).
// - `view` (cpu, offcpu, wall), `unit` (samples, us), and `explanation`: one sentence naming what explains the
//   incident, on-CPU when a frame grew by 10 points or more, else the wait that grew most.
nlohmann::json summaryJson(const FoldedStacks& stacks, const FoldedStacks* baseline, double seconds = 0,
                           double base_seconds = 0);

// A captured profile written in its staging directory (`<id>.partial` under the profiles directory), not yet in
// place nor in the index. Only ProfileStore::commit puts it there.
struct StagedProfile {
  ProfileRecord record;  // its id assigned, its bytes counted
  std::filesystem::path dir;
};

// Writes a captured profile's files (folded stacks, flame graph, diff against `baseline` if given, meta.json) in a
// staging directory; on failure nothing is left. The costly half of storing a profile (drawing the flame graphs,
// fsync), and it touches no database: run it on a worker thread.
Result<StagedProfile> stageProfile(const std::filesystem::path& profiles_dir, ProfileRecord record,
                                   const FoldedStacks& stacks, const FoldedStacks* baseline);
// Removes a staged profile that will not be committed.
void discardStaged(const StagedProfile& staged);
// The folded stacks of a stored profile, read from its folder (no database): any thread.
Result<FoldedStacks> loadProfileStacks(const std::filesystem::path& profiles_dir, const std::string& id);

class ProfileStore {
 public:
  static Result<ProfileStore> open(state::Database& db, std::filesystem::path dir);
  // For readers on another connection (the API's): no migration, no clean-up of the directory; only the reads
  // below are used on it.
  static ProfileStore reader(state::Database& db, std::filesystem::path dir) {
    return ProfileStore(db, std::move(dir));
  }

  // Writes a captured profile (folded stacks, flame graph, diff against `baseline` if given, meta.json) and its
  // index row. `record.id` is assigned here.
  Result<ProfileRecord> save(ProfileRecord record, const FoldedStacks& stacks, const FoldedStacks* baseline);
  // The cheap half: renames a staged profile into place and writes its index row (the staging directory is
  // removed if the rename fails).
  Result<ProfileRecord> commit(StagedProfile staged);
  const std::filesystem::path& dir() const { return dir_; }
  // Records a failed capture (no files).
  Result<ProfileRecord> saveFailure(ProfileRecord record);

  Result<std::vector<ProfileRecord>> list(const std::string& target, const std::string& incident, std::size_t limit);
  Result<std::optional<ProfileRecord>> latestBaseline(const std::string& target);
  Result<std::optional<ProfileRecord>> get(const std::string& id);
  Result<FoldedStacks> loadStacks(const std::string& id);
  std::filesystem::path pathOf(const std::string& id) const { return dir_ / id; }

  // Deletes profiles past the limits (oldest first; each target's newest baseline stays). Returns how many.
  Result<std::size_t> prune(std::int64_t now_ms, std::int64_t max_age_ms, std::size_t max_count,
                            std::uint64_t max_bytes);

 private:
  ProfileStore(state::Database& db, std::filesystem::path dir) : db_(&db), dir_(std::move(dir)) {}
  Result<void> insert(const ProfileRecord& r);
  state::Database* db_;
  std::filesystem::path dir_;
};

}  // namespace hotspotd::profile
