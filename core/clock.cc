#include "core/clock.h"

#include <algorithm>
#include <chrono>

#include <boost/asio/steady_timer.hpp>

namespace hotspotd {
namespace {

// A wait on a steady timer. The state the completion handler checks is shared, so a handler already queued when the
// wait is replaced, cancelled or the Timer destroyed finds it stale and does nothing.
class RealTimer final : public Timer {
 public:
  explicit RealTimer(boost::asio::io_context& io) : timer_(io), generation_(std::make_shared<std::uint64_t>(0)) {}
  ~RealTimer() override { cancel(); }

  void at(std::int64_t at_ms, std::function<void()> fn) override {
    const std::uint64_t mine = ++*generation_;
    timer_.expires_after(std::chrono::milliseconds(std::max<std::int64_t>(0, at_ms - nowUnixMs())));
    timer_.async_wait([generation = generation_, mine, fn = std::move(fn)](const boost::system::error_code& ec) {
      if (ec || *generation != mine) return;
      fn();
    });
  }
  void cancel() override {
    ++*generation_;
    timer_.cancel();
  }

 private:
  boost::asio::steady_timer timer_;
  std::shared_ptr<std::uint64_t> generation_;
};

}  // namespace

std::unique_ptr<Timer> RealClock::timer(boost::asio::io_context& io, TimerOrder /*order*/) {
  return std::make_unique<RealTimer>(io);
}

Clock& realClock() {
  static RealClock clock;
  return clock;
}

class SimClock::SimTimer final : public Timer {
 public:
  SimTimer(SimClock& clock, std::uint8_t order) : clock_(&clock), order_(order) {}
  ~SimTimer() override { cancel(); }

  void at(std::int64_t at_ms, std::function<void()> fn) override {
    cancel();
    if (clock_) key_ = clock_->add(this, at_ms, order_, std::move(fn));
  }
  void cancel() override {
    if (key_ && clock_) clock_->remove(*key_);
    key_.reset();
  }

  SimClock* clock_;
  std::uint8_t order_;
  std::optional<Key> key_;
};

SimClock::~SimClock() {
  for (auto& [key, wait] : waits_) {
    wait.timer->clock_ = nullptr;
    wait.timer->key_.reset();
  }
}

std::unique_ptr<Timer> SimClock::timer(boost::asio::io_context& /*io*/, TimerOrder order) {
  return std::make_unique<SimTimer>(*this, static_cast<std::uint8_t>(order));
}

SimClock::Key SimClock::add(SimTimer* timer, std::int64_t at_ms, std::uint8_t order, std::function<void()> fn) {
  // A wait for the past runs at the next run(), at the present instant: time never goes back.
  Key key{std::max(at_ms, now_ms_), order, seq_++};
  waits_.emplace(key, Wait{timer, std::move(fn)});
  return key;
}

std::optional<std::int64_t> SimClock::nextDue() const {
  if (waits_.empty()) return std::nullopt;
  return std::get<0>(waits_.begin()->first);
}

void SimClock::run(boost::asio::io_context& io, std::int64_t until_ms) {
  // Everything the io_context has to do (answers in flight, posted handlers) finishes before time moves on.
  auto settle = [&io] {
    io.restart();
    io.run();
  };
  settle();
  until_ms = std::max(until_ms, now_ms_);
  while (!waits_.empty()) {
    auto first = waits_.begin();
    if (std::get<0>(first->first) > until_ms) break;
    now_ms_ = std::max(now_ms_, std::get<0>(first->first));
    Wait wait = std::move(first->second);
    wait.timer->key_.reset();
    waits_.erase(first);
    wait.fn();
    settle();
  }
  now_ms_ = std::max(now_ms_, until_ms);
}

}  // namespace hotspotd
