#include "daemon/state_dir.h"

#include <fcntl.h>
#include <sys/file.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <string>

#include <fmt/format.h>

namespace hotspotd::daemon {

StateDirLock::~StateDirLock() {
  if (fd_ >= 0) close(fd_);
}

StateDirLock::StateDirLock(StateDirLock&& other) noexcept : dir_(std::move(other.dir_)), fd_(other.fd_) {
  other.fd_ = -1;
}

StateDirLock& StateDirLock::operator=(StateDirLock&& other) noexcept {
  if (this != &other) {
    if (fd_ >= 0) close(fd_);
    dir_ = std::move(other.dir_);
    fd_ = other.fd_;
    other.fd_ = -1;
  }
  return *this;
}

Result<StateDirLock> StateDirLock::acquire(const std::filesystem::path& dir) {
  std::error_code ec;
  std::filesystem::create_directories(dir, ec);
  if (ec) {
    return fail(fmt::format("cannot create state directory {}: {} (set storage.state_dir to a writable directory)",
                            dir.string(), ec.message()));
  }
  if (!std::filesystem::is_directory(dir, ec)) {
    return fail(fmt::format("state directory {} is not a directory (set storage.state_dir)", dir.string()));
  }
  // Owner and group only: alerts, incidents and profiles may be sensitive.
  std::filesystem::permissions(dir, std::filesystem::perms::others_all, std::filesystem::perm_options::remove, ec);

  const std::filesystem::path lock_path = dir / "lock";
  const int fd = open(lock_path.c_str(), O_RDWR | O_CREAT | O_CLOEXEC, 0640);
  if (fd < 0) {
    return fail(
        fmt::format("cannot write to state directory {}: {} (set storage.state_dir to a directory this "
                    "user can write, or fix its permissions)",
                    dir.string(), std::strerror(errno)));
  }
  StateDirLock lock;
  lock.dir_ = dir;
  lock.fd_ = fd;
  if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
    char holder[32] = {};
    const ssize_t n = pread(fd, holder, sizeof(holder) - 1, 0);
    std::string pid = n > 0 ? std::string(holder, static_cast<std::size_t>(n)) : std::string("unknown");
    while (!pid.empty() && (pid.back() == '\n' || pid.back() == ' ')) pid.pop_back();
    return fail(
        fmt::format("state directory {} is in use by another hotspotd (pid {}); stop it, or give this one "
                    "its own storage.state_dir",
                    dir.string(), pid));
  }
  const std::string pid = fmt::format("{}\n", getpid());
  if (ftruncate(fd, 0) != 0 || pwrite(fd, pid.data(), pid.size(), 0) != static_cast<ssize_t>(pid.size())) {
    return fail(fmt::format("cannot write to state directory {}: {}", dir.string(), std::strerror(errno)));
  }
  return lock;
}

}  // namespace hotspotd::daemon
