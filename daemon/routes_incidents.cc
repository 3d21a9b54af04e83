// Incidents: the list (filtered by state, rule and label matchers), one incident with its notifications, and its
// endpoint's chart. Lists and details are read on the HTTP server's worker thread from the state database's
// read-only connection; the chart reads the series stores, which belong to the lifecycle thread, so it is a job
// there.
#include <fmt/format.h>

#include "alerting/alert_service.h"
#include "core/selector.h"
#include "daemon/routes.h"
#include "daemon/state_reader.h"
#include "incidents/incident_store.h"
#include "rules/rule.h"

namespace hotspotd::daemon {
namespace {

// An open incident whose rule was last left unjudged for want of its query source's data says so: it neither fires
// nor resolves on missing data, and the reader should know why it stands still.
void addDegraded(const RouteContext& ctx, nlohmann::ordered_json& row, const incidents::IncidentRecord& r) {
  if (!ctx.degraded || r.state == incidents::IncidentState::resolved) return;
  if (auto why = ctx.degraded(r.alertname); !why.empty()) row["sourceDegraded"] = why;
}

HttpResponse reply(const ApiReply& r) { return jsonResponse(r.status, r.body); }

}  // namespace

void addIncidentRoutes(Router& router, const RouteContext& ctx) {
  router.add(
      "GET", "/api/v1/incidents",
      [ctx](const HttpRequest& req) {
        HttpResponse error;
        const auto page = pageParams(req, 100, 10'000, error);
        if (!page) return error;
        const std::string state = req.param("state");
        if (!state.empty() && state != "open" && state != "pending" && state != "firing" && state != "resolved") {
          return jsonResponse(400, apiError("bad_data", "state is one of open, pending, firing, resolved"));
        }
        std::optional<Selector> match;
        if (req.has("match")) {
          auto parsed = parseSelector(req.param("match"));
          if (!parsed) return jsonResponse(400, apiError("bad_data", fmt::format("match: {}", parsed.error().message)));
          match = std::move(*parsed);
        }
        return reply(ctx.reader->with([&ctx, &state, rule = req.param("rule"), &match, p = *page](StateReader& db) {
          // Label matchers are judged here; the database filters by state and rule.
          auto rows = match ? db.incidents().query(state, rule, 0, 100'000)
                            : db.incidents().query(state, rule, p.offset, p.limit);
          if (!rows) return ApiReply{500, apiError("internal", rows.error().message)};
          nlohmann::ordered_json list = nlohmann::ordered_json::array();
          std::size_t matched = 0;
          for (const auto& r : *rows) {
            if (match) {
              LabelView view;
              for (const auto& [k, v] : r.labels) view.emplace_back(k, v);
              view.emplace_back("alertname", r.alertname);
              if (!match->matches(r.alertname, view)) continue;
              if (matched++ < p.offset || list.size() >= p.limit) continue;
            }
            auto row = incidentJson(r, ctx.externalUrl());
            addDegraded(ctx, row, r);
            auto sent = db.notifications(r.id, 20);
            row["notifications"] = sent ? notificationsJson(*sent)["data"] : nlohmann::ordered_json::array();
            list.push_back(std::move(row));
          }
          return ApiReply{200, nlohmann::ordered_json{{"status", "success"},
                                                      {"data", {{"offset", p.offset}, {"incidents", list}}}}};
        }));
      },
      RouteCost::pooled, "/api/v1/incidents");
  router.add(
      "GET", "/api/v1/incidents/([0-9a-f]{1,64})",
      [ctx](const HttpRequest& req) {
        return reply(ctx.reader->with([&ctx, &id = req.captures.at(0)](StateReader& db) {
          auto record = db.incidents().get(id);
          if (!record) return ApiReply{500, apiError("internal", record.error().message)};
          if (!*record) return ApiReply{404, apiError("not_found", fmt::format("no incident has id {}", id))};
          auto out = incidentJson(**record, ctx.externalUrl());
          addDegraded(ctx, out, **record);
          auto sent = db.notifications(id, 100);
          out["notifications"] = sent ? notificationsJson(*sent)["data"] : nlohmann::ordered_json::array();
          return ApiReply{200, nlohmann::ordered_json{{"status", "success"}, {"data", out}}};
        }));
      },
      RouteCost::pooled, "/api/v1/incidents/:id");
  router.add(
      "GET", "/api/v1/incidents/([0-9a-f]{1,64})/series",
      [ctx](const HttpRequest& req) {
        // The incident from the state database on this worker, then its series on the lifecycle thread.
        const std::string id = req.captures.at(0);
        auto found = ctx.reader->with([&](StateReader& db) { return db.incidents().get(id); });
        if (!found) return reply(ApiReply{500, apiError("internal", found.error().message)});
        if (!*found) return reply(ApiReply{404, apiError("not_found", fmt::format("no incident has id {}", id))});
        return reply(ctx.on_lifecycle([ctx, record = std::move(**found)] {
          const auto rule = std::find_if(ctx.rules->begin(), ctx.rules->end(),
                                         [&](const rules::Rule& r) { return r.name == record.alertname; });
          if (rule == ctx.rules->end()) {
            return ApiReply{404, apiError("not_found", fmt::format("rule {} is no longer loaded", record.alertname))};
          }
          const store::SeriesStore* store = ctx.store_for ? ctx.store_for(*rule) : ctx.store;
          return ApiReply{200, incidentSeriesJson(*store, *rule, record, ctx.nowMs(), ctx.status->load()->start_ms)};
        }));
      },
      RouteCost::pooled, "/api/v1/incidents/:id/series");
}

}  // namespace hotspotd::daemon
