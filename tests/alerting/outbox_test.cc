// The outbox: written before sent, kept across a reopen (a restart), in order per key and receiver, retries
// rescheduled, history kept; and the verdicts on receivers' answers, Retry-After and backoff, against real local
// HTTP servers.
#include <doctest/doctest.h>

#include <optional>
#include <set>

#include <boost/asio/io_context.hpp>

#include "alerting/delivery.h"
#include "alerting/outbox.h"
#include "tests/support/http_target.h"
#include "tests/support/temp_dir.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("notifications survive a reopen, come out in order per key, and wait for their retry time") {
  test::TempDir dir;
  const auto path = dir.path() / "hotspotd.db";
  {
    auto db = state::Database::open(path);
    REQUIRE(db);
    auto outbox = alerting::Outbox::open(**db);
    REQUIRE(outbox);
    REQUIRE(outbox->enqueue("slack", "incident-1", R"({"n":1})", "application/json", 1000));
    REQUIRE(outbox->enqueue("slack", "incident-2", R"({"n":2})", "application/json", 1001));
    REQUIRE(outbox->enqueue("slack", "incident-1", R"({"n":3})", "application/json", 1002));
    REQUIRE(outbox->enqueue("pager", "incident-1", R"({"n":4})", "application/json", 1003));
  }  // the "crash": nothing was sent
  auto db = state::Database::open(path);
  REQUIRE(db);
  auto outbox = alerting::Outbox::open(**db);
  REQUIRE(outbox);
  auto due = outbox->due("slack", 2000, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 2);  // incident-1's second waits behind its first
  CHECK((*due)[0].payload == R"({"n":1})");
  CHECK((*due)[1].payload == R"({"n":2})");
  // The first fails and is rescheduled: nothing of incident-1 goes before it.
  REQUIRE(outbox->retry((*due)[0].id, 5000, 503, "HTTP 503"));
  REQUIRE(outbox->delivered((*due)[1].id, 200, 2001));
  due = outbox->due("slack", 3000, 10);
  REQUIRE(due);
  CHECK(due->empty());
  auto next = outbox->nextDue("slack");
  REQUIRE(next);
  CHECK(*next == 5000);
  due = outbox->due("slack", 5000, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK(due->front().attempts == 1);
  CHECK(due->front().last_error == "HTTP 503");
  REQUIRE(outbox->delivered(due->front().id, 200, 5001));
  due = outbox->due("slack", 5001, 10);
  REQUIRE(due);
  REQUIRE(due->size() == 1);
  CHECK(due->front().payload == R"({"n":3})");
  REQUIRE(outbox->failed(due->front().id, 400, "HTTP 400: invalid_blocks", 5002));
  // Receivers do not wait on each other.
  auto pager = outbox->due("pager", 2000, 10);
  REQUIRE(pager);
  CHECK(pager->size() == 1);
  auto backlog = outbox->backlog();
  REQUIRE(backlog);
  REQUIRE(backlog->size() == 1);
  CHECK(backlog->front().receiver == "pager");
  CHECK(backlog->front().oldest_ms == 1003);
  auto history = outbox->history("incident-1", 10);
  REQUIRE(history);
  REQUIRE(history->size() == 3);
  CHECK(history->front().state == alerting::NotificationState::pending);  // newest first: the pager one
  CHECK((*history)[1].state == alerting::NotificationState::failed);
  CHECK((*history)[1].last_error == "HTTP 400: invalid_blocks");
  auto pruned = outbox->prune(6000);
  REQUIRE(pruned);
  CHECK(*pruned == 3);  // delivered and failed ones; the pending one stays
}

TEST_CASE("answers judged: success, a required body, retryable and permanent errors, Retry-After") {
  alerting::ReceiverRules webhook;
  CHECK(alerting::judge({200, "", "", ""}, webhook, 0).outcome == alerting::Outcome::delivered);
  CHECK(alerting::judge({500, "oops", "", ""}, webhook, 0).outcome == alerting::Outcome::retry);
  CHECK(alerting::judge({0, "", "", "Connection"}, webhook, 0).outcome == alerting::Outcome::retry);
  const auto bad = alerting::judge({400, "invalid_payload\nmore", "", ""}, webhook, 0);
  CHECK(bad.outcome == alerting::Outcome::permanent);
  CHECK(bad.reason == "HTTP 400: invalid_payload");
  const auto slow_down = alerting::judge({429, "", "7", ""}, webhook, 0);
  CHECK(slow_down.outcome == alerting::Outcome::retry);
  REQUIRE(slow_down.retry_after);
  CHECK(*slow_down.retry_after == 7s);
  alerting::ReceiverRules slack;
  slack.success = {200};
  slack.success_body = "ok";
  CHECK(alerting::judge({200, "ok", "", ""}, slack, 0).outcome == alerting::Outcome::delivered);
  CHECK(alerting::judge({200, "invalid_token", "", ""}, slack, 0).outcome == alerting::Outcome::permanent);
  CHECK(alerting::judge({410, "channel_is_archived", "", ""}, slack, 0).outcome == alerting::Outcome::permanent);

  const auto now = std::chrono::system_clock::from_time_t(1445412480);  // Wed, 21 Oct 2015 07:28:00 GMT
  CHECK(hotspotd::parseRetryAfter("120", now) == 120s);
  CHECK(hotspotd::parseRetryAfter("Wed, 21 Oct 2015 07:29:00 GMT", now) == 60s);
  CHECK(hotspotd::parseRetryAfter("Wed, 21 Oct 2015 07:27:00 GMT", now) == 0s);
  CHECK_FALSE(hotspotd::parseRetryAfter("soon", now));
  CHECK_FALSE(hotspotd::parseRetryAfter("", now));
}

TEST_CASE("backoff doubles up to its cap, with jitter in its second half") {
  std::mt19937_64 rng(1);
  for (int attempt = 0; attempt < 12; ++attempt) {
    const Duration full = std::min<Duration>(1s * (1 << std::min(attempt, 10)), 300s);
    const Duration d = alerting::backoff(attempt, 1s, 300s, rng);
    CHECK(d >= full / 2);
    CHECK(d <= full);
  }
  std::set<std::int64_t> seen;
  for (int i = 0; i < 20; ++i) seen.insert(alerting::backoff(5, 1s, 300s, rng).count());
  CHECK(seen.size() > 10);  // spread, so a burst of failures does not retry in lockstep
}

namespace {

// One POST on an io_context of its own, to completion.
alerting::HttpResponse postNow(const alerting::HttpRequest& req) {
  boost::asio::io_context io;
  alerting::HttpResponse out;
  alerting::post(io, req, [&](alerting::HttpResponse r) { out = std::move(r); });
  io.run();
  return out;
}

}  // namespace

TEST_CASE("posting to real receivers: success, 429 with Retry-After, a refused connection, a receiver that hangs") {
  test::HttpTarget receiver;
  std::string got;
  receiver.server().Post("/ok", [&](const httplib::Request& req, httplib::Response& res) {
    got = req.body + " " + req.get_header_value("Authorization") + " " + req.get_header_value("Content-Type");
    res.set_content("ok", "text/plain");
  });
  receiver.server().Post("/busy", [](const httplib::Request&, httplib::Response& res) {
    res.status = 429;
    res.set_header("Retry-After", "3");
  });
  receiver.server().Post("/moved", [](const httplib::Request&, httplib::Response& res) {
    res.status = 307;
    res.set_header("Location", "http://elsewhere.example/");
  });
  const std::string base = "http://" + receiver.start();
  alerting::HttpRequest req;
  req.url = base + "/ok";
  req.body = R"({"text":"hi"})";
  req.headers = {{"Authorization", "Bearer s3cret"}};
  const auto ok = postNow(req);
  CHECK(ok.status == 200);
  CHECK(got == R"({"text":"hi"} Bearer s3cret application/json)");
  req.url = base + "/busy";
  const auto busy = alerting::judge(postNow(req), {}, 0);
  CHECK(busy.outcome == alerting::Outcome::retry);
  CHECK(busy.retry_after == 3s);
  // A redirect is not followed: the notification is not sent to wherever a receiver points.
  req.url = base + "/moved";
  const auto moved = postNow(req);
  CHECK(moved.status == 307);
  CHECK(alerting::judge(moved, {}, 0).outcome == alerting::Outcome::permanent);

  req.url = "http://127.0.0.1:" + std::to_string(test::freePort()) + "/";
  const auto refused = postNow(req);
  CHECK(refused.status == 0);
  CHECK(!refused.error.empty());
  CHECK(alerting::judge(refused, {}, 0).outcome == alerting::Outcome::retry);

  test::SilentListener silent;
  req.url = "http://" + silent.address() + "/";
  req.timeout = 500ms;
  const auto start = std::chrono::steady_clock::now();
  const auto hung = postNow(req);
  CHECK(hung.status == 0);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
}

TEST_CASE("a delivery under way can be cancelled: it ends at once, as cancelled, without a verdict") {
  test::SilentListener silent;
  boost::asio::io_context io;
  alerting::HttpRequest req;
  req.url = "http://" + silent.address() + "/";
  req.timeout = 30s;
  std::optional<alerting::HttpResponse> out;
  const auto handle = alerting::post(io, req, [&](alerting::HttpResponse r) { out = std::move(r); });
  io.run_for(200ms);
  CHECK_FALSE(out);
  const auto start = std::chrono::steady_clock::now();
  handle.cancel();
  io.restart();
  io.run_for(5s);
  REQUIRE(out);
  CHECK(out->cancelled);
  CHECK(std::chrono::steady_clock::now() - start < 1s);
}
