// Reading a whole file into memory, with an error that names the file and says why. Any thread.
#pragma once

#include <filesystem>
#include <string>

#include "core/result.h"

namespace hotspotd {

Result<std::string> readFile(const std::filesystem::path& path);

}  // namespace hotspotd
