// Operations and status: /metrics, /-/healthy, /-/ready, /-/reload, /api/v1/status, /api/v1/targets,
// /api/v1/hotspots. All answered on the server's I/O threads from snapshots, but the reload, which waits for the
// lifecycle thread on a worker.
#include <charconv>

#include <fmt/format.h>

#include "core/rfc3339.h"
#include "core/version.h"
#include "daemon/routes.h"

namespace hotspotd::daemon {

std::optional<Page> pageParams(const HttpRequest& req, std::size_t default_limit, std::size_t max_limit,
                               HttpResponse& error) {
  auto size = [&](const char* name, std::size_t fallback, std::size_t max) -> std::optional<std::size_t> {
    if (!req.has(name)) return fallback;
    const std::string v = req.param(name);
    std::size_t out = 0;
    const auto [ptr, ec] = std::from_chars(v.data(), v.data() + v.size(), out);
    if (v.empty() || ec != std::errc() || ptr != v.data() + v.size() || out > max) return std::nullopt;
    return out;
  };
  const auto limit = size("limit", default_limit, max_limit);
  const auto offset = size("offset", 0, 10'000'000);
  if (!limit || !offset) {
    error = jsonResponse(400, apiError("bad_data", fmt::format("limit and offset are non-negative integers (limit "
                                                               "at most {})",
                                                               max_limit)));
    return std::nullopt;
  }
  return Page{*offset, *limit};
}

void addOpsRoutes(Router& router, const RouteContext& ctx) {
  router.add("GET", "/metrics", [ctx](const HttpRequest&) {
    HttpResponse r = textResponse(200, ctx.metrics->render());
    r.content_type = "text/plain; version=0.0.4; charset=utf-8";
    return r;
  });
  router.add("GET", "/-/healthy", [](const HttpRequest&) { return textResponse(200, "hotspotd is Healthy.\n"); });
  router.add("GET", "/-/ready", [ctx](const HttpRequest&) {
    return ctx.status->load()->ready ? textResponse(200, "hotspotd is Ready.\n")
                                     : textResponse(503, "Service Unavailable\n");
  });
  auto reload = [ctx](const HttpRequest&) {
    auto outcome = ctx.reload();
    if (outcome) return textResponse(200, "Configuration reloaded.\n");
    return textResponse(500, fmt::format("Configuration not reloaded; the running configuration stays.\n{}\n",
                                         outcome.error().message));
  };
  router.add("POST", "/-/reload", reload, RouteCost::pooled);
  router.add("PUT", "/-/reload", reload, RouteCost::pooled);
}

void addStatusRoutes(Router& router, const RouteContext& ctx) {
  router.add("GET", "/api/v1/status", [ctx](const HttpRequest&) {
    const auto status = ctx.status->load();
    const BuildInfo& build = buildInfo();
    // The state database's writes: while they fail, detection and alerting go on from memory.
    nlohmann::ordered_json state = {{"writable", true}};
    if (ctx.state_health) {
      const auto health = ctx.state_health->load();
      state = {{"writable", health->writable}, {"writeErrors", health->failures}};
      if (!health->writable) {
        state["error"] = health->error;
        state["failingSince"] = formatRfc3339(health->failing_since_ms);
      }
    }
    return jsonResponse(
        200, nlohmann::ordered_json{
                 {"status", "success"},
                 {"data",
                  {{"version", build.version},
                   {"revision", build.revision},
                   {"compiler", build.compiler},
                   {"ready", status->ready},
                   {"startTime", formatRfc3339(status->start_ms)},
                   {"uptimeSeconds", static_cast<double>(ctx.nowMs() - status->start_ms) / 1000.0},
                   {"configSource", status->config_source},
                   {"configLoadedAt", formatRfc3339(status->config_loaded_ms)},
                   {"state", state},
                   {"config", status->config}}}});
  });
  router.add("GET", "/api/v1/targets", [ctx](const HttpRequest& req) {
    HttpResponse error;
    const auto page = pageParams(req, 1000, 100'000, error);
    if (!page) return error;
    const std::string health = req.param("health");
    if (!health.empty() && health != "up" && health != "down" && health != "unknown") {
      return jsonResponse(400, apiError("bad_data", "health is up, down or unknown"));
    }
    return jsonResponse(200, targetsJson(*ctx.targets->load(), health, page->offset, page->limit));
  });
  router.add("GET", "/api/v1/hotspots", [ctx](const HttpRequest& req) {
    HttpResponse error;
    const auto page = pageParams(req, 100, 10'000, error);
    if (!page) return error;
    return jsonResponse(200, hotspotsJson(*ctx.hotspots->load(), page->offset, page->limit));
  });
}

Router daemonRoutes(const RouteContext& ctx) {
  Router router;
  addOpsRoutes(router, ctx);
  addStatusRoutes(router, ctx);
  addIncidentRoutes(router, ctx);
  addProfileRoutes(router, ctx);
  addAlertingRoutes(router, ctx);
  addUiRoutes(router);
  return router;
}

}  // namespace hotspotd::daemon
