#include "core/file.h"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>
#include <utility>

#include <fmt/format.h>

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  // Read straight into the string, sized from the file when it has a size (a pipe or /proc file has none).
  std::string out;
  struct stat st {};
  if (::fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size > 0)
    out.reserve(static_cast<std::size_t>(st.st_size) + 1);
  for (;;) {
    if (out.size() == out.capacity()) out.reserve(std::max<std::size_t>(out.capacity() * 2, 64 * 1024));
    const std::size_t used = out.size();
    out.resize(out.capacity());
    const ssize_t n = ::read(fd, out.data() + used, out.size() - used);
    out.resize(used + static_cast<std::size_t>(std::max<ssize_t>(n, 0)));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return fail(fmt::format("{}: cannot read: {}", path.string(), std::strerror(err)));
    }
    if (n == 0) break;
  }
  ::close(fd);
  return out;
}

Result<MappedFile> MappedFile::open(const std::filesystem::path& path) {
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  struct stat st {};
  // A /proc or /sys file says it has no size whatever it holds: only a regular file with a size is mapped.
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode) || st.st_size <= 0) {
    ::close(fd);
    return fail(fmt::format("{}: not a regular file with a size", path.string()));
  }
  MappedFile f;
  f.size_ = static_cast<std::size_t>(st.st_size);
  void* map = ::mmap(nullptr, f.size_, PROT_READ, MAP_PRIVATE | MAP_POPULATE, fd, 0);
  const int err = errno;
  ::close(fd);  // a mapping stays valid
  if (map == MAP_FAILED) return fail(fmt::format("{}: cannot map: {}", path.string(), std::strerror(err)));
  ::madvise(map, f.size_, MADV_SEQUENTIAL);
  f.map_ = map;
  return f;
}

MappedFile& MappedFile::operator=(MappedFile&& o) noexcept {
  if (this != &o) {
    if (map_) ::munmap(map_, size_);
    map_ = std::exchange(o.map_, nullptr);
    size_ = std::exchange(o.size_, 0);
  }
  return *this;
}

MappedFile::~MappedFile() {
  if (map_) ::munmap(map_, size_);
}

Result<void> writeFile(const std::filesystem::path& path, std::string_view data) {
  const std::string tmp = path.string() + ".tmp";
  auto failed = [&](std::string_view what, int err) {
    ::unlink(tmp.c_str());
    return fail(fmt::format("cannot write {}: {}: {}", path.string(), what, std::strerror(err)));
  };
  const int fd = ::open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0640);
  if (fd < 0) return fail(fmt::format("cannot write {}: {}", tmp, std::strerror(errno)));
  for (std::size_t done = 0; done < data.size();) {
    const ssize_t n = ::write(fd, data.data() + done, data.size() - done);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int err = errno;
      ::close(fd);
      return failed("write", err);
    }
    done += static_cast<std::size_t>(n);
  }
  // On disk before it takes the name: a crash or a full disk never leaves a truncated file under the real name.
  if (::fsync(fd) != 0) {
    const int err = errno;
    ::close(fd);
    return failed("fsync", err);
  }
  if (::close(fd) != 0) return failed("close", errno);
  if (::rename(tmp.c_str(), path.c_str()) != 0) return failed("rename", errno);
  return syncDirectory(path.parent_path());
}

Result<void> syncDirectory(const std::filesystem::path& dir) {
  const int fd = ::open(dir.empty() ? "." : dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (fd < 0) return fail(fmt::format("cannot open {}: {}", dir.string(), std::strerror(errno)));
  const int rc = ::fsync(fd);
  const int err = errno;
  ::close(fd);
  if (rc != 0) return fail(fmt::format("cannot sync {}: {}", dir.string(), std::strerror(err)));
  return {};
}

}  // namespace hotspotd
