// The state directory: created on start-up if missing and held with an exclusive lock (flock on `lock`), so two
// daemons never share one state database. The lock is released when the process exits, however it exits, so a
// `kill -9` never leaves a stale lock behind. Lifecycle thread only.
#pragma once

#include <filesystem>

#include "core/result.h"

namespace hotspotd::daemon {

class StateDirLock {
 public:
  StateDirLock() = default;
  ~StateDirLock();
  StateDirLock(StateDirLock&& other) noexcept;
  StateDirLock& operator=(StateDirLock&& other) noexcept;
  StateDirLock(const StateDirLock&) = delete;
  StateDirLock& operator=(const StateDirLock&) = delete;

  // Creates `dir` if needed (mode 0750), checks that it is writable, and takes the lock.
  static Result<StateDirLock> acquire(const std::filesystem::path& dir);

  const std::filesystem::path& dir() const { return dir_; }

 private:
  std::filesystem::path dir_;
  int fd_ = -1;
};

}  // namespace hotspotd::daemon
