// The web UI: one page for every UI path (the script reads the path), its script and style compiled in. Its policy
// lets it load only itself, talk only to this API and frame only this daemon's flame graphs.
#include "daemon/routes.h"
#include "daemon/web_assets.h"

namespace hotspotd::daemon {

void addUiRoutes(Router& router) {
  auto page = [](const HttpRequest&) {
    const WebAsset* index = findWebAsset("/ui/index.html");
    HttpResponse r = textResponse(200, std::string(index->body));
    r.content_type = std::string(index->content_type);
    r.set("Content-Security-Policy",
          "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; connect-src 'self'; "
          "frame-src 'self'; frame-ancestors 'none'; base-uri 'none'; form-action 'self'");
    r.set("Cache-Control", "no-cache");
    return r;
  };
  router.add("GET", "/", page, RouteCost::inline_, "/");
  router.add("GET", "/profiles", page, RouteCost::inline_, "/ui");
  router.add("GET", "/silences", page, RouteCost::inline_, "/ui");
  router.add("GET", "/incidents/[0-9a-f]{1,64}", page, RouteCost::inline_, "/ui");
  router.add("GET", "/profiles/[0-9a-f]{1,32}-[0-9a-f]{1,16}", page, RouteCost::inline_, "/ui");
  router.add(
      "GET", R"(/ui/(app\.js|app\.css))",
      [](const HttpRequest& req) {
        const WebAsset* asset = findWebAsset(req.path);
        HttpResponse r = textResponse(200, std::string(asset->body));
        r.content_type = std::string(asset->content_type);
        r.set("Cache-Control", "no-cache");
        return r;
      },
      RouteCost::inline_, "/ui/assets");
}

}  // namespace hotspotd::daemon
