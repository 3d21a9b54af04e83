// Alerting: silences (list, create, expire), answered by the alert service on the state thread that owns
// them, and the notification history, read from the state database on the HTTP server's worker thread.
#include <fmt/format.h>

#include "alerting/alert_service.h"
#include "daemon/routes.h"
#include "daemon/state_reader.h"

namespace hotspotd::daemon {

void addAlertingRoutes(Router& router, const RouteContext& ctx) {
  auto reply = [](const ApiReply& r) { return jsonResponse(r.status, r.body); };
  router.add(
      "GET", "/api/v1/silences",
      [ctx, reply](const HttpRequest&) {
        return reply(ctx.on_state([ctx] {
          auto list = ctx.alerts->silences();
          if (!list) return ApiReply{500, apiError("internal", list.error().message)};
          return ApiReply{200, silencesJson(*list, ctx.nowMs())};
        }));
      },
      RouteCost::pooled, "/api/v1/silences");
  router.add(
      "POST", "/api/v1/silences",
      [ctx, reply](const HttpRequest& req) {
        // A JSON content type cannot be sent cross-site without a CORS preflight, which this server never grants.
        if (!req.header("content-type").starts_with("application/json")) {
          return jsonResponse(415, apiError("bad_data", "send the silence as JSON (Content-Type: application/json)"));
        }
        auto request = parseSilenceRequest(req.body, ctx.nowMs());
        if (!request) return jsonResponse(400, apiError("bad_data", request.error().message));
        return reply(ctx.on_state([ctx, r = *request] {
          auto created = ctx.alerts->createSilence(r);
          if (!created) return ApiReply{400, apiError("bad_data", created.error().message)};
          return ApiReply{200, nlohmann::ordered_json{
                                   {"status", "success"},
                                   {"data", {{"silenceID", created->id}, {"silence", silenceJson(*created, ctx.nowMs())}}}}};
        }));
      },
      RouteCost::pooled, "/api/v1/silences");
  router.add(
      "DELETE", "/api/v1/silences/([A-Za-z0-9-]{1,64})",
      [ctx, reply](const HttpRequest& req) {
        return reply(ctx.on_state([ctx, id = req.captures.at(0)] {
          auto expired = ctx.alerts->expireSilence(id);
          if (!expired) return ApiReply{500, apiError("internal", expired.error().message)};
          if (!*expired) return ApiReply{404, apiError("not_found", fmt::format("no silence has id {}", id))};
          return ApiReply{200, nlohmann::ordered_json{{"status", "success"}}};
        }));
      },
      RouteCost::pooled, "/api/v1/silences/:id");
  router.add(
      "GET", "/api/v1/notifications",
      [ctx, reply](const HttpRequest& req) {
        HttpResponse error;
        const auto page = pageParams(req, 100, 10'000, error);
        if (!page) return error;
        return reply(ctx.reader->with([incident = req.param("incident"), p = *page](StateReader& db) {
          auto list = db.notifications(incident, p.offset + p.limit);
          if (!list) return ApiReply{500, apiError("internal", list.error().message)};
          list->erase(list->begin(), list->begin() + static_cast<std::ptrdiff_t>(std::min(p.offset, list->size())));
          return ApiReply{200, notificationsJson(*list)};
        }));
      },
      RouteCost::pooled, "/api/v1/notifications");
}

}  // namespace hotspotd::daemon
