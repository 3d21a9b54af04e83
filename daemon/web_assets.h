// The web UI's files (web/), compiled into the binary so the daemon serves its UI with nothing to install.
#pragma once

#include <string_view>

namespace hotspotd::daemon {

struct WebAsset {
  std::string_view path;  // "/ui/app.js"
  std::string_view content_type;
  std::string_view body;
};

// The UI's files; "/ui/index.html" is the page every UI path serves.
const WebAsset* findWebAsset(std::string_view path);

}  // namespace hotspotd::daemon
