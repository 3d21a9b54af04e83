// Profiles: the list and one profile's metadata (from the profile index, read on the HTTP server's worker thread
// through the state database's read-only connection), and its files:
// folded stacks, the flame graph and its diff, read from the state directory (ids are hex, so a path never leaves
// it).
#include <fmt/format.h>

#include "core/file.h"
#include "daemon/routes.h"
#include "daemon/state_reader.h"
#include "profile/profile_store.h"

namespace hotspotd::daemon {

void addProfileRoutes(Router& router, const RouteContext& ctx) {
  router.add(
      "GET", "/api/v1/profiles",
      [ctx](const HttpRequest& req) {
        HttpResponse error;
        const auto page = pageParams(req, 100, 10'000, error);
        if (!page) return error;
        const ApiReply r = ctx.reader->with([&ctx, target = req.param("target"), incident = req.param("incident"),
                                             p = *page](StateReader& db) {
          auto rows = db.profiles().list(target, incident, p.offset + p.limit);
          if (!rows) return ApiReply{500, apiError("internal", rows.error().message)};
          nlohmann::ordered_json list = nlohmann::ordered_json::array();
          for (std::size_t i = p.offset; i < rows->size(); ++i)
            list.push_back(profileJson((*rows)[i], ctx.externalUrl()));
          return ApiReply{
              200, nlohmann::ordered_json{{"status", "success"}, {"data", {{"offset", p.offset}, {"profiles", list}}}}};
        });
        return jsonResponse(r.status, r.body);
      },
      RouteCost::pooled, "/api/v1/profiles");
  router.add(
      "GET", R"(/api/v1/profiles/([0-9a-f]{1,32}-[0-9a-f]{1,16})(?:\.json)?)",
      [ctx](const HttpRequest& req) {
        const ApiReply r = ctx.reader->with([&ctx, &id = req.captures.at(0)](StateReader& db) {
          auto record = db.profiles().get(id);
          if (!record) return ApiReply{500, apiError("internal", record.error().message)};
          if (!*record) return ApiReply{404, apiError("not_found", fmt::format("no profile has id {}", id))};
          return ApiReply{
              200, nlohmann::ordered_json{{"status", "success"}, {"data", profileJson(**record, ctx.externalUrl())}}};
        });
        return jsonResponse(r.status, r.body);
      },
      RouteCost::pooled, "/api/v1/profiles/:id");
  router.add(
      "GET", R"(/api/v1/profiles/([0-9a-f]{1,32}-[0-9a-f]{1,16})\.folded)",
      [ctx](const HttpRequest& req) {
        const std::string& id = req.captures.at(0);
        auto folded = ctx.profiles_dir.empty() ? Result<std::string>(fail("no profiles are kept"))
                                               : readFile(ctx.profiles_dir / id / "stacks.folded");
        if (!folded) {
          return jsonResponse(404, apiError("not_found", fmt::format("profile {} has no folded stacks", id)));
        }
        return textResponse(200, std::move(*folded));
      },
      RouteCost::pooled, "/api/v1/profiles/:id.folded");
  // Flame graphs of captured profiles, as linked from alerts. Their own inline script (zoom, search) may run;
  // nothing else may load.
  router.add(
      "GET", R"(/api/v1/profiles/([0-9a-f]{1,32}-[0-9a-f]{1,16})(\.diff|\.offcpu)?\.svg)",
      [ctx](const HttpRequest& req) {
        const std::string& id = req.captures.at(0);
        const std::string& which = req.captures.at(1);
        const char* file = which == ".diff" ? "diff.svg" : which == ".offcpu" ? "offcpu.svg" : "flamegraph.svg";
        auto svg = ctx.profiles_dir.empty() ? Result<std::string>(fail("no profiles are kept"))
                                            : readFile(ctx.profiles_dir / id / file);
        if (!svg) {
          return jsonResponse(404, apiError("not_found", fmt::format("profile {} has no {}", id,
                                                                     which == ".diff"     ? "differential flame graph"
                                                                     : which == ".offcpu" ? "off-CPU flame graph"
                                                                                          : "flame graph")));
        }
        HttpResponse r = textResponse(200, std::move(*svg));
        r.content_type = "image/svg+xml";
        r.set("Content-Security-Policy",
              "default-src 'none'; script-src 'unsafe-inline'; style-src 'unsafe-inline'; img-src data:; "
              "frame-ancestors 'self'");
        r.set("X-Frame-Options", "SAMEORIGIN");
        return r;
      },
      RouteCost::pooled, "/api/v1/profiles/:id.svg");
}

}  // namespace hotspotd::daemon
