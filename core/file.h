// Reading a whole file into memory, and writing one durably: to a temporary beside it, flushed to disk (fsync) and
// closed with every error checked, then renamed into place and the directory synced, so that neither a reader nor a
// crash, a power loss or a full disk ever leaves half a file under the real name. Errors name the file and say
// why. Any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path);
Result<void> writeFile(const std::filesystem::path& path, std::string_view data);
// fsync of a directory: what was created, renamed or removed in it is on disk.
Result<void> syncDirectory(const std::filesystem::path& dir);

}  // namespace hotspotd
