// Profile analysis: top frames by self and total samples, the class of time each takes, its usual caller, and
// the frames that grew against a baseline, by share.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "profile/analysis.h"

using namespace hotspotd::profile;

namespace {

FoldedStacks stacks(std::string_view text) {
  auto s = FoldedStacks::parse(text);
  REQUIRE(s);
  return *s;
}

}  // namespace

TEST_CASE("frames are classified from their names, annotations ignored") {
  CHECK(classifyName("malloc") == FrameClass::allocation);
  CHECK(classifyName("runtime.mallocgc") == FrameClass::allocation);
  CHECK(classifyName("runtime.scanobject") == FrameClass::allocation);
  CHECK(classifyName("operator new") == FrameClass::allocation);
  CHECK(classifyName("futex_wait_queue_me_[k]") == FrameClass::lock);
  CHECK(classifyName("pthread_mutex_lock") == FrameClass::lock);
  CHECK(classifyName("runtime.lock2") == FrameClass::lock);
  CHECK(classifyName("do_syscall_64_[k]") == FrameClass::syscall);
  CHECK(classifyName("sys_write") == FrameClass::syscall);
  CHECK(classifyName("epoll_wait") == FrameClass::syscall);
  CHECK_FALSE(classifyName("app::Pricing::recalculate"));
  CHECK_FALSE(classifyName("freezer"));  // not free
}

TEST_CASE("top frames by self and total, with class, caller and shares; roots and recursion counted right") {
  const auto s = stacks(
      "svc;main;handle;price;price;compute 60\n"  // recursion: price counts once per stack
      "svc;main;handle;json;malloc 25\n"
      "svc;main;handle;lock;pthread_mutex_lock;futex_wait 10\n"
      "svc;main;io;write;sys_write 5\n");
  const auto sum = summarize(s, 5);
  CHECK(sum.samples == 100);
  REQUIRE(!sum.by_self.empty());
  CHECK(sum.by_self[0].name == "compute");
  CHECK(sum.by_self[0].self_share == doctest::Approx(0.6));
  CHECK(sum.by_self[0].cls == FrameClass::cpu);
  CHECK(sum.by_self[0].caller == "price");
  CHECK(sum.by_self[1].name == "malloc");
  CHECK(sum.by_self[1].cls == FrameClass::allocation);
  CHECK(sum.by_self[1].caller == "json");
  // By total: the root (svc) is left out; main holds everything, then handle.
  CHECK(sum.by_total[0].name == "main");
  CHECK(sum.by_total[1].name == "handle");
  CHECK(sum.by_total[1].total == 95);
  const auto price = std::find_if(sum.by_total.begin(), sum.by_total.end(), [](auto& f) { return f.name == "price"; });
  REQUIRE(price != sum.by_total.end());
  CHECK(price->total == 60);
  CHECK(price->caller == "handle");  // the outermost call
  const auto lock = summarize(s, 50).by_total;
  const auto l = std::find_if(lock.begin(), lock.end(), [](auto& f) { return f.name == "lock"; });
  REQUIRE(l != lock.end());
  CHECK(l->cls == FrameClass::lock);
  CHECK(sum.class_share[static_cast<int>(FrameClass::cpu)] == doctest::Approx(0.6));
  CHECK(sum.class_share[static_cast<int>(FrameClass::allocation)] == doctest::Approx(0.25));
  CHECK(sum.class_share[static_cast<int>(FrameClass::lock)] == doctest::Approx(0.10));
  CHECK(sum.class_share[static_cast<int>(FrameClass::syscall)] == doctest::Approx(0.05));
}

TEST_CASE("grown frames: by share of each profile's samples, most first, new frames included") {
  const auto base = stacks("svc;main;parse 50\nsvc;main;render 50\n");
  const auto now = stacks("svc;main;parse 100\nsvc;main;render 250\nsvc;main;render;recalc 50\n");  // 400 samples
  const auto g = grownFrames(base, now);
  REQUIRE(g.size() == 2);
  CHECK(g[0].name == "render");
  CHECK(g[0].base_share == doctest::Approx(0.5));
  CHECK(g[0].now_share == doctest::Approx(0.75));
  CHECK(g[0].grew_pp() == doctest::Approx(25));
  CHECK(g[0].grew_rel() == doctest::Approx(50));
  CHECK(g[1].name == "recalc");
  CHECK(std::isinf(g[1].grew_rel()));
  CHECK(g[1].caller == "render");
  // parse went from 50% to 25%: it did not grow, and more samples alone never count as growth.
  CHECK(std::none_of(g.begin(), g.end(), [](auto& f) { return f.name == "parse"; }));
}
