// The clocks: a simulated clock runs waits in time order, same-instant waits by their order, lets the work a wait
// started finish before time moves on, and never runs a cancelled or replaced wait; the real clock's waits fire on
// time and not after they are dropped.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include <boost/asio/post.hpp>
#include <boost/asio/steady_timer.hpp>

#include "core/clock.h"
#include "core/loop.h"

using namespace hotspotd;
using namespace std::chrono_literals;

TEST_CASE("a simulated clock runs waits in time order, then by their order at one instant, and stops at the end") {
  boost::asio::io_context io;
  SimClock clock(1'000);
  std::vector<std::string> ran;
  auto evaluate = clock.timer(io, TimerOrder::evaluate);
  auto ingest = clock.timer(io, TimerOrder::ingest);
  auto late = clock.timer(io);
  // Armed in the "wrong" order: the ingest wait still runs first at 2000.
  evaluate->at(2'000, [&] { ran.push_back("evaluate@" + std::to_string(clock.nowMs())); });
  ingest->at(2'000, [&] { ran.push_back("ingest@" + std::to_string(clock.nowMs())); });
  late->at(5'000, [&] { ran.push_back("late"); });
  CHECK(clock.nextDue() == 2'000);
  clock.run(io, 4'000);
  CHECK(ran == std::vector<std::string>{"ingest@2000", "evaluate@2000"});
  CHECK(clock.nowMs() == 4'000);
  CHECK(clock.pending() == 1);
  clock.run(io, 5'000);
  CHECK(ran.back() == "late");
  CHECK(clock.pending() == 0);
}

TEST_CASE("a simulated wait that re-arms itself ticks at every step; a cancelled or replaced one never runs") {
  boost::asio::io_context io;
  SimClock clock(0);
  auto tick = clock.timer(io);
  std::vector<std::int64_t> at;
  std::function<void()> again = [&] {
    at.push_back(clock.nowMs());
    clock.after(*tick, 15s, again);
  };
  clock.after(*tick, 15s, again);
  clock.run(io, 60'000);
  CHECK(at == std::vector<std::int64_t>{15'000, 30'000, 45'000, 60'000});

  int replaced = 0, kept = 0, cancelled = 0;
  auto a = clock.timer(io);
  a->at(70'000, [&] { ++replaced; });
  a->at(80'000, [&] { ++kept; });
  auto b = clock.timer(io);
  b->at(70'000, [&] { ++cancelled; });
  b->cancel();
  {
    auto c = clock.timer(io);
    c->at(70'000, [&] { ++cancelled; });
  }  // destroyed before it was due
  tick->cancel();
  clock.run(io, 100'000);
  CHECK(replaced == 0);
  CHECK(kept == 1);
  CHECK(cancelled == 0);
}

TEST_CASE("what a simulated wait starts on the io_context finishes before the next wait runs") {
  boost::asio::io_context io;
  SimClock clock(0);
  std::vector<std::string> ran;
  auto first = clock.timer(io, TimerOrder::ingest);
  auto second = clock.timer(io, TimerOrder::evaluate);
  // The first wait starts work that takes real time (a timer of the io_context itself, as an HTTP exchange would);
  // the second, due at the same instant, must see it done.
  boost::asio::steady_timer io_work(io);
  first->at(10, [&] {
    io_work.expires_after(30ms);
    io_work.async_wait([&](const boost::system::error_code&) { ran.push_back("answer"); });
  });
  second->at(10, [&] { ran.push_back("evaluate"); });
  clock.run(io, 10);
  CHECK(ran == std::vector<std::string>{"answer", "evaluate"});
}

TEST_CASE("a wait armed for the past runs at the present instant; time never goes back") {
  boost::asio::io_context io;
  SimClock clock(50'000);
  auto t = clock.timer(io);
  std::int64_t seen = 0;
  t->at(10'000, [&] { seen = clock.nowMs(); });
  clock.run(io, 40'000);  // earlier than now: nothing moves back
  CHECK(clock.nowMs() == 50'000);
  CHECK(seen == 50'000);
}

TEST_CASE("the real clock's waits fire at their time, and a dropped one never does") {
  boost::asio::io_context io;
  Clock& clock = realClock();
  auto fires = clock.timer(io);
  auto dropped = clock.timer(io);
  bool fired = false, never = false;
  const auto start = std::chrono::steady_clock::now();
  clock.after(*fires, 50ms, [&] { fired = true; });
  clock.after(*dropped, 20ms, [&] { never = true; });
  dropped->cancel();
  io.run_for(2s);
  CHECK(fired);
  CHECK_FALSE(never);
  CHECK(std::chrono::steady_clock::now() - start >= 45ms);
}

TEST_CASE("a handler that throws is reported and the loop goes on with the next ones") {
  boost::asio::io_context io;
  std::vector<std::string> ran, errors;
  boost::asio::post(io, [&] { ran.push_back("first"); });
  boost::asio::post(io, [&] { throw std::runtime_error("bad input nobody foresaw"); });
  boost::asio::post(io, [&] { ran.push_back("after"); });
  boost::asio::steady_timer later(io);
  later.expires_after(10ms);
  later.async_wait([&](const boost::system::error_code&) {
    ran.push_back("timer");
    throw 42;
  });
  hotspotd::runGuarded(io, [&](const std::exception& e) { errors.push_back(e.what()); });
  CHECK(ran == std::vector<std::string>{"first", "after", "timer"});
  REQUIRE(errors.size() == 2);
  CHECK(errors[0] == "bad input nobody foresaw");
}
