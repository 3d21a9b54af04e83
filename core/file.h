// Reading a whole file into memory (or mapping it), and writing one durably: to a temporary beside it, flushed to disk
// (fsync) and closed with every error checked, then renamed into place and the directory synced, so that neither a
// reader nor a crash, a power loss or a full disk ever leaves half a file under the real name. Errors name the file and
// say why. Any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path);

// A file's bytes mapped read-only, for reading a large file once from start to end (folding a perf script file):
// no copy out of the page cache and no zeroed buffer to fill. Reads past a file truncated meanwhile would fault,
// so only for files the user handed over. Only a regular file with a size (not an empty one, nor a /proc file,
// which says it has none): the caller reads the others with readFile. Move-only.
class MappedFile {
 public:
  static Result<MappedFile> open(const std::filesystem::path& path);
  MappedFile() = default;
  MappedFile(MappedFile&& o) noexcept { *this = std::move(o); }
  MappedFile& operator=(MappedFile&& o) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::string_view view() const { return {static_cast<const char*>(map_), size_}; }

 private:
  void* map_ = nullptr;
  std::size_t size_ = 0;
};
Result<void> writeFile(const std::filesystem::path& path, std::string_view data);
// fsync of a directory: what was created, renamed or removed in it is on disk.
Result<void> syncDirectory(const std::filesystem::path& dir);

}  // namespace hotspotd
