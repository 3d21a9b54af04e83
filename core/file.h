// Reading a whole file into memory, and writing one (to a temporary beside it, then renamed into place, so a
// reader never sees half of it), with errors that name the file and say why. Any thread.
#pragma once

#include <filesystem>
#include <string>
#include <string_view>

#include "core/result.h"

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path);
Result<void> writeFile(const std::filesystem::path& path, std::string_view data);

}  // namespace hotspotd
