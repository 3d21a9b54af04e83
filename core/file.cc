#include "core/file.h"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include <fmt/format.h>

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  if (!in) return fail(fmt::format("{}: cannot open: {}", path.string(), std::strerror(errno)));
  std::ostringstream buf;
  buf << in.rdbuf();
  if (in.bad()) return fail(fmt::format("{}: cannot read: {}", path.string(), std::strerror(errno)));
  return buf.str();
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
