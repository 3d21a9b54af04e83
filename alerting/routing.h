// DESIGN
// Routing as Alertmanager users know it, on our incidents' labels:
// - A tree of routes: each has label matchers (`severity="page"`, `team=~"db|api"`, `!=`, `!~`, RE2 with
//   PromQL's full anchoring), a receiver, `group_by` (or `...` for every label), `group_wait`, `group_interval`,
//   `repeat_interval` and `continue`; children inherit what they do not set. An alert goes down the tree depth
//   first: the first matching child takes it (and, with `continue`, later siblings may too); a route whose
//   children all decline takes it itself. The root matches everything.
// - Groups: alerts of one route with equal values of its group_by labels; the group key names the route and those
//   values, as Alertmanager's does, so receivers can deduplicate by it.
// - Inhibition: an alert is muted while a firing alert matches a rule's source matchers, the muted one its target
//   matchers, and both have equal values for the rule's `equal` labels (a page mutes the ticket of one endpoint).
// - Silences: matchers with a start, an end, an author and a comment; an alert they all match is not sent while the
//   silence is active.
// Pure values and functions; any thread.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "core/duration.h"
#include "core/result.h"
#include "core/selector.h"

namespace hotspotd::alerting {

struct Route {
  std::vector<Matcher> matchers;
  std::string receiver;
  std::vector<std::string> group_by;
  bool group_by_all = false;  // group_by = ["..."]
  // Negative: not set, inherited from the parent (the root's defaults: 30s, 5m, 4h).
  Duration group_wait{-1};
  Duration group_interval{-1};
  Duration repeat_interval{-1};
  bool continue_matching = false;
  std::vector<Route> routes;
  std::string path;  // "0", "0.1", ...: which route this is, for group keys and messages
};

// Parses Alertmanager-style matcher strings (`name="value"`, `name=~"re"`, `name!="v"`, `name!~"re"`).
Result<std::vector<Matcher>> parseMatchers(const std::vector<std::string>& texts);
bool matchesAll(const std::vector<Matcher>& matchers, const LabelView& labels);

// Fills unset children from their parents and numbers the routes. Call once on the root after building it.
void finishRoutes(Route& root);

// The routes that take an alert, in tree order (at least the root).
std::vector<const Route*> routesFor(const Route& root, const LabelView& labels);

// The alert's group in a route: the route's path and the group_by labels' values.
std::string groupKey(const Route& route, const LabelView& labels);
std::vector<std::pair<std::string, std::string>> groupLabels(const Route& route, const LabelView& labels);

struct InhibitRule {
  std::vector<Matcher> source;
  std::vector<Matcher> target;
  std::vector<std::string> equal;
};

// Whether `labels` is muted by one of `firing` (the labels of alerts firing now) under `rules`. An alert never
// mutes itself.
bool inhibited(const LabelView& labels, const std::vector<LabelView>& firing, const std::vector<InhibitRule>& rules);

struct Silence {
  std::string id;
  std::vector<Matcher> matchers;
  std::vector<std::string> matcher_texts;  // as written
  std::int64_t starts_ms = 0;
  std::int64_t ends_ms = 0;
  std::string created_by;
  std::string comment;
  bool active(std::int64_t now_ms) const { return starts_ms <= now_ms && now_ms < ends_ms; }
};

// The first active silence that matches, if any.
const Silence* silencedBy(const LabelView& labels, const std::vector<Silence>& silences, std::int64_t now_ms);

}  // namespace hotspotd::alerting
