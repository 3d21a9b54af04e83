// An immutable value published by the thread that owns it and read by any other thread (HTTP handlers, mostly).
// The owner builds a new T and publishes it whole; readers get a shared_ptr to a consistent T that stays valid
// for as long as they hold it. Readers never see a half-updated value and never block the owner for long.
#pragma once

#include <atomic>
#include <memory>
#include <utility>

namespace hotspotd {

template <typename T>
class Snapshot {
 public:
  Snapshot() : value_(std::make_shared<const T>()) {}
  explicit Snapshot(T initial) : value_(std::make_shared<const T>(std::move(initial))) {}

  void publish(T value) { value_.store(std::make_shared<const T>(std::move(value)), std::memory_order_release); }
  std::shared_ptr<const T> load() const { return value_.load(std::memory_order_acquire); }

 private:
  std::atomic<std::shared_ptr<const T>> value_;
};

}  // namespace hotspotd
