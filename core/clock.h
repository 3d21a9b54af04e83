// DESIGN
// Time as the pipeline sees it. Every stage that stamps a sample, judges an endpoint, schedules a scrape or a retry
// asks a Clock for the time and for timers, never the system directly, so that the very objects the daemon runs
// on real time run on simulated time in replay, test-rules and tests (chrony's simulation tests are the model).
//
// - RealClock: the system clock for timestamps (Unix milliseconds); waits run on Asio steady timers, so a step of
//   the wall clock neither fires nor stalls them.
// - SimClock: time moves only when its driver moves it. run(io, until) takes the waits in time order, one at a
//   time, moves the time to each, runs it on the io_context and then lets the io_context finish everything that
//   wait started (a scrape's HTTP exchange, a query), so that a simulated day takes as long as its work does and
//   every run of the same input gives the same result. Waits due at the same instant run by their TimerOrder:
//   ingest, then evaluation, then what acts on findings, so that a scrape landing at t is seen by an evaluation at
//   t, as it would be on a daemon whose scrape finished a moment earlier.
//
// Timers belong to one io_context and are used from its thread; a wait that is cancelled, replaced or whose Timer is
// destroyed never runs.
#pragma once

#include <utility>  // before Asio: boost/asio/awaitable.hpp misses it with GCC 12 in C++20 mode

#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <tuple>

#include <boost/asio/io_context.hpp>

#include "core/duration.h"

namespace hotspotd {

// Which of several waits due at the same simulated instant runs first (real time ignores it).
enum class TimerOrder : std::uint8_t { ingest = 0, evaluate = 1, act = 2 };

class Timer {
 public:
  virtual ~Timer() = default;
  // Runs `fn` on the timer's io_context once the clock reads `at_ms` or later; replaces a wait not yet run.
  virtual void at(std::int64_t at_ms, std::function<void()> fn) = 0;
  // Drops the pending wait, if any: its function never runs.
  virtual void cancel() = 0;
};

class Clock {
 public:
  virtual ~Clock() = default;
  // Unix milliseconds: the time samples, incidents, notifications and profiles are stamped with.
  virtual std::int64_t nowMs() const = 0;
  virtual std::unique_ptr<Timer> timer(boost::asio::io_context& io, TimerOrder order = TimerOrder::act) = 0;

  // Runs `fn` after `d` from now (a convenience over Timer::at).
  void after(Timer& t, Duration d, std::function<void()> fn) { t.at(nowMs() + d.count(), std::move(fn)); }
};

class RealClock final : public Clock {
 public:
  std::int64_t nowMs() const override { return nowUnixMs(); }
  std::unique_ptr<Timer> timer(boost::asio::io_context& io, TimerOrder order = TimerOrder::act) override;
};

// The process's real clock (the daemon's).
Clock& realClock();

class SimClock final : public Clock {
 public:
  explicit SimClock(std::int64_t start_ms) : now_ms_(start_ms) {}
  ~SimClock() override;
  SimClock(const SimClock&) = delete;
  SimClock& operator=(const SimClock&) = delete;

  std::int64_t nowMs() const override { return now_ms_; }
  std::unique_ptr<Timer> timer(boost::asio::io_context& io, TimerOrder order = TimerOrder::act) override;

  // Runs every wait due up to `until_ms` in time (then TimerOrder, then arming) order, each followed by whatever
  // work it started on `io`, and leaves the time at `until_ms` (or where it was, if later). Every timer must
  // belong to `io`.
  void run(boost::asio::io_context& io, std::int64_t until_ms);
  // The time of the earliest pending wait.
  std::optional<std::int64_t> nextDue() const;
  std::size_t pending() const { return waits_.size(); }

 private:
  class SimTimer;
  friend class SimTimer;
  using Key = std::tuple<std::int64_t, std::uint8_t, std::uint64_t>;  // due, order, arming sequence
  struct Wait {
    SimTimer* timer;
    std::function<void()> fn;
  };

  Key add(SimTimer* timer, std::int64_t at_ms, std::uint8_t order, std::function<void()> fn);
  void remove(const Key& key) { waits_.erase(key); }

  std::int64_t now_ms_;
  std::uint64_t seq_ = 0;
  std::map<Key, Wait> waits_;
};

}  // namespace hotspotd
