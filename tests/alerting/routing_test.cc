// Routing as Alertmanager does it: depth first, first match wins unless `continue`, children inherit receiver,
// grouping and timings; group keys; inhibition of a ticket by the page of the same endpoint; silences in their
// time window.
#include <doctest/doctest.h>

#include "alerting/routing.h"

using namespace hotspotd;
using namespace hotspotd::alerting;
using namespace std::chrono_literals;

namespace {

std::vector<Matcher> m(std::vector<std::string> texts) {
  auto r = parseMatchers(texts);
  REQUIRE_MESSAGE(r, (r ? "" : r.error().message));
  return *r;
}

Route tree() {
  Route root;
  root.receiver = "default";
  root.group_by = {"alertname"};
  Route pages;
  pages.matchers = m({"severity=\"page\""});
  pages.receiver = "pagerduty";
  pages.group_wait = 0s;
  pages.continue_matching = true;
  Route shop_pages;
  shop_pages.matchers = m({"service=~\"shop|cart\""});
  shop_pages.receiver = "shop-pager";
  shop_pages.group_by = {"service", "route"};
  pages.routes.push_back(shop_pages);
  Route everything_to_slack;
  everything_to_slack.matchers = m({"severity=~\"page|ticket\""});
  everything_to_slack.receiver = "slack";
  root.routes = {pages, everything_to_slack};
  finishRoutes(root);
  return root;
}

}  // namespace

TEST_CASE("alerts go down the tree depth first; continue lets later siblings take them too") {
  const Route root = tree();
  const LabelView shop_page{{"alertname", "Slow"}, {"service", "shop"}, {"route", "/pay"}, {"severity", "page"}};
  auto routes = routesFor(root, shop_page);
  REQUIRE(routes.size() == 2);
  CHECK(routes[0]->receiver == "shop-pager");
  CHECK(routes[0]->group_wait == 0s);         // inherited from the pages route
  CHECK(routes[0]->repeat_interval == 4h);     // the root's default
  CHECK(routes[1]->receiver == "slack");
  const LabelView other_page{{"alertname", "Slow"}, {"service", "search"}, {"severity", "page"}};
  routes = routesFor(root, other_page);
  REQUIRE(routes.size() == 2);
  CHECK(routes[0]->receiver == "pagerduty");  // no child took it: the pages route itself
  CHECK(routes[0]->group_by == std::vector<std::string>{"alertname"});
  const LabelView info{{"alertname", "Note"}, {"severity", "info"}};
  routes = routesFor(root, info);
  REQUIRE(routes.size() == 1);
  CHECK(routes[0]->receiver == "default");
  CHECK(groupKey(*routesFor(root, shop_page)[0], shop_page) == "0.0.0:{route=\"/pay\",service=\"shop\"}");
}

TEST_CASE("a page mutes the ticket of the same endpoint, not another endpoint's, and never itself") {
  const std::vector<InhibitRule> rules{{m({"severity=\"page\""}), m({"severity=\"ticket\""}), {"service", "route"}}};
  const LabelView page{{"alertname", "Burn"}, {"route", "/pay"}, {"service", "shop"}, {"severity", "page"}};
  const LabelView ticket{{"alertname", "Burn"}, {"route", "/pay"}, {"service", "shop"}, {"severity", "ticket"}};
  const LabelView other_ticket{{"alertname", "Burn"}, {"route", "/cart"}, {"service", "shop"}, {"severity", "ticket"}};
  CHECK(inhibited(ticket, {page}, rules));
  CHECK_FALSE(inhibited(other_ticket, {page}, rules));
  CHECK_FALSE(inhibited(page, {page}, rules));
  CHECK_FALSE(inhibited(ticket, {}, rules));
}

TEST_CASE("silences mute matching alerts only inside their window") {
  const std::vector<Silence> silences{{"s1", m({"service=\"shop\"", "route=~\"/pay.*\""}), {}, 1000, 2000, "ana", "deploy"}};
  const LabelView pay{{"route", "/pay/v2"}, {"service", "shop"}};
  const LabelView cart{{"route", "/cart"}, {"service", "shop"}};
  REQUIRE(silencedBy(pay, silences, 1500));
  CHECK(silencedBy(pay, silences, 1500)->comment == "deploy");
  CHECK_FALSE(silencedBy(pay, silences, 999));
  CHECK_FALSE(silencedBy(pay, silences, 2000));
  CHECK_FALSE(silencedBy(cart, silences, 1500));
  CHECK_FALSE(parseMatchers({"service"}));
  CHECK_FALSE(parseMatchers({"a=\"1\",b=\"2\""}));
}
