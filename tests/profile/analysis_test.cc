// Profile analysis: top frames by self and total samples, the class of time each takes, its usual caller, and
// the frames that grew against a baseline, by share.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "profile/analysis.h"
#include "profile/profile_store.h"

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

TEST_CASE("the page names the deepest frame holding most of its caller's growth, the caller after it") {
  // A query engine under expensive subqueries: Eval grows most (+75 pp), but evalSubquery, below it, holds most of
  // that (+65 pp): the page names evalSubquery first, Eval after it as context.
  const auto base = stacks("prom;serve;Eval;evalSubquery 5\nprom;serve;Eval;evalRange 5\nprom;serve;http 90\n");
  const auto now = stacks("prom;serve;Eval;evalSubquery 70\nprom;serve;Eval;evalRange 15\nprom;serve;http 15\n");
  const auto g = grownFrames(base, now);
  REQUIRE(g.size() == 3);
  CHECK(g[0].name == "evalSubquery");
  CHECK(g[0].grew_pp() == doctest::Approx(65));
  CHECK(g[0].caller == "Eval");
  CHECK(g[1].name == "Eval");
  CHECK(g[1].grew_pp() == doctest::Approx(75));
  CHECK(g[2].name == "evalRange");
  // A frame that holds only a little of its parent's growth does not displace it.
  const auto spread = stacks("p;work;a 10\np;work;b 10\np;work;c 10\np;idle 70\n");
  const auto wide = stacks("p;work;a 25\np;work;b 25\np;work;c 25\np;idle 25\n");
  const auto w = grownFrames(spread, wide);
  REQUIRE(!w.empty());
  CHECK(w[0].name == "work");  // +45 pp; each of a, b, c holds a third of it
  // Deeper chains: the explaining frame is the deepest that still holds most of the growth.
  const auto chain_base = stacks("p;main;eval;sub;inner 5\np;main;other 95\n");
  const auto chain_now = stacks("p;main;eval;sub;inner 60\np;main;eval;sub 5\np;main;other 35\n");
  const auto c = grownFrames(chain_base, chain_now);
  REQUIRE(c.size() >= 3);
  CHECK(c[0].name == "inner");
  CHECK(c[1].name == "sub");
  CHECK(c[2].name == "eval");
}

TEST_CASE("a blocked thread's wait class comes from the kernel frames where it left the CPU") {
  CHECK(classifyWait("a_[o];f_[o];entry_SYSCALL_64_[k];do_futex_[k];futex_wait_[k];schedule_[k]") == WaitClass::lock);
  CHECK(classifyWait("a_[o];f_[o];ksys_read_[k];vfs_read_[k];anon_pipe_read_[k];schedule_[k]") == WaitClass::network);
  CHECK(classifyWait("a_[o];f_[o];do_epoll_wait_[k];ep_poll_[k];schedule_hrtimeout_range_[k];schedule_[k]") ==
        WaitClass::network);
  CHECK(classifyWait("a_[o];f_[o];tcp_recvmsg_[k];sk_wait_data_[k];schedule_timeout_[k];schedule_[k]") ==
        WaitClass::network);
  CHECK(classifyWait("a_[o];f_[o];hrtimer_nanosleep_[k];do_nanosleep_[k];schedule_[k]") == WaitClass::sleep);
  CHECK(classifyWait("a_[o];fsync_[o];do_fsync_[k];ext4_sync_file_[k];jbd2_log_wait_commit_[k];schedule_[k]") ==
        WaitClass::disk);
  CHECK(classifyWait("a_[o];f_[o];vfs_read_[k];filemap_read_[k];folio_wait_bit_common_[k];io_schedule_[k]") ==
        WaitClass::disk);
  // A fault that reads the disk is a page fault: the code touched memory, it did not ask for I/O.
  CHECK(classifyWait("a_[o];f_[o];asm_exc_page_fault_[k];handle_mm_fault_[k];filemap_fault_[k];io_schedule_[k]") ==
        WaitClass::page_fault);
  CHECK(classifyWait("a_[o];f_[o];__do_sys_wait4_[k];do_wait_[k];schedule_[k]") == WaitClass::other);
  // Without kernel frames, the user frames say what they can.
  CHECK(classifyWait("a_[o];f_[o];pthread_mutex_lock_[o]") == WaitClass::lock);
  CHECK(classifyWait("a_[o];f_[o];clock_nanosleep_[o]") == WaitClass::sleep);
  CHECK(classifyWait("a_[o];f_[o];recv_[o]") == WaitClass::network);
  CHECK(classifyWait("a_[o];f_[o]") == WaitClass::other);
  CHECK(waitClassOfFrame("[lock wait]_[o]") == WaitClass::lock);
  CHECK(!waitClassOfFrame("lock_[o]"));
  CHECK(isOffCpuStack("svc_[o];f_[o]"));
  CHECK(!isOffCpuStack("svc;f_[o]"));
}

TEST_CASE("off-CPU summary: time by class and the user frame each wait belongs to, past the library's wrappers") {
  const auto off = stacks(
      "shop_[o];start_thread_[o];Worker::loop_[o];Inventory::reserve_[o];std::mutex::lock_[o];"
      "___pthread_mutex_lock_[o];lll_mutex_lock_optimized_[o];__GI___lll_lock_wait_[o];futex_wait_[k];"
      "[lock wait]_[o] 600000\n"
      "shop_[o];start_thread_[o];Worker::loop_[o];Downstream::call_[o];__GI___libc_read_[o];vfs_read_[k];"
      "[network/poll wait]_[o] 300000\n"
      "shop_[o];start_thread_[o];Worker::loop_[o];Pricing::recalculate_[o];schedule_[k];[run queue]_[o] 100000\n"
      "shop;Worker::loop;Pricing::recalculate 500000\n");  // on-CPU: not part of the off-CPU summary
  const auto s = summarizeOffCpu(off);
  CHECK(s.us == 1'000'000);
  CHECK(s.class_us[static_cast<std::size_t>(WaitClass::lock)] == 600'000);
  CHECK(s.class_us[static_cast<std::size_t>(WaitClass::run_queue)] == 100'000);
  REQUIRE(s.waiting.size() == 3);
  CHECK(s.waiting[0].name == "Inventory::reserve");
  CHECK(s.waiting[0].cls == WaitClass::lock);
  CHECK(s.waiting[0].share == doctest::Approx(0.6));
  CHECK(s.waiting[1].name == "Downstream::call");
  CHECK(s.waiting[1].cls == WaitClass::network);
  CHECK(s.waiting[2].name == "Pricing::recalculate");
  CHECK(s.waiting[2].cls == WaitClass::run_queue);
}

TEST_CASE("waits that grew are compared per second of capture, with their share of all the growth") {
  // Baseline: 10 s, the lock held 0.5 thread-seconds, the downstream 2. Now: 5 s, the lock 2 s, the downstream 1.
  const auto base = stacks(
      "s_[o];reserve_[o];futex_wait_[k];[lock wait]_[o] 500000\n"
      "s_[o];call_[o];vfs_read_[k];[network/poll wait]_[o] 2000000\n");
  const auto now = stacks(
      "s_[o];reserve_[o];futex_wait_[k];[lock wait]_[o] 2000000\n"
      "s_[o];call_[o];vfs_read_[k];[network/poll wait]_[o] 1000000\n"
      "s_[o];log_[o];fsync_[o];[disk I/O]_[o] 100000\n");
  const auto g = grownWaits(base, 10, now, 5);
  REQUIRE(g.size() == 2);  // the downstream waited as much per second as before: it did not grow
  CHECK(g[0].name == "reserve");
  CHECK(g[0].cls == WaitClass::lock);
  CHECK(g[0].grew_per_s == doctest::Approx(0.4 - 0.05));
  CHECK(g[0].growth_share == doctest::Approx(0.35 / (0.35 + 0.02)));
  CHECK(g[1].name == "log");
  CHECK(g[1].cls == WaitClass::disk);
  CHECK(grownWaits(base, 0, now, 5).empty());
}

TEST_CASE("condition waits are told apart from lock contention; a pool's idle workers explain nothing") {
  CHECK(classifyWait("a_[o];Pool::take_[o];pthread_cond_wait_[o];futex_wait_[k];schedule_[k]") == WaitClass::condition);
  CHECK(classifyWait("a_[o];Pool::take_[o];std::condition_variable::wait_[o];futex_wait_[k]") == WaitClass::condition);
  // Idle workers (nothing of the process's own on their stacks) wait more than the lock, but the page names the
  // lock: without a baseline, the largest wait in the process's own code.
  const auto off = stacks(
      "shop_[o];start_thread_[o];std::thread::_M_run_[o];pthread_cond_wait_[o];futex_wait_[k];"
      "[condition wait]_[o] 8000000\n"
      "shop_[o];start_thread_[o];Checkout::run_[o];Inventory::reserve_[o];std::mutex::lock_[o];futex_wait_[k];"
      "[lock wait]_[o] 2000000\n");
  const auto s = summarizeOffCpu(off);
  REQUIRE(s.waiting.size() == 2);
  CHECK(s.waiting[0].root);
  CHECK(s.waiting[0].name == "shop");
  CHECK(!s.waiting[1].root);
  const auto summary = summaryJson(off, nullptr);
  CHECK(summary.value("explanation", "") == "off-CPU: 20% of the waiting is lock in Inventory::reserve");
  CHECK(summary.value("explains", "") == "offcpu:lock:Inventory::reserve");
  CHECK(summary.value("view", "") == "offcpu");
}

TEST_CASE("the page's explanation names a frame with a name: an unknown frame's growth goes to its caller") {
  const auto base = stacks("svc;main;serve;work 10\nsvc;main;idle 90\n");
  const auto now = stacks("svc;main;serve;[unknown] 70\nsvc;main;serve;work 10\nsvc;main;idle 20\n");
  const auto summary = summaryJson(now, &base);
  CHECK(summary["grown"][0].value("name", "") == "[unknown]");
  CHECK(summary.value("explains", "") == "cpu:serve");
  CHECK(summary.value("explanation", "").starts_with("on-CPU: serve grew +70 points to 80%"));
}

TEST_CASE("a larger share of less CPU explains nothing: threads waiting on a lock leave the rest a larger share") {
  // 30 s of the healthy process: pricing is 73% of 3,000 samples. During the incident the requests queue on a lock:
  // 7 s, 155 samples, pricing 86% of them. Its share grew 13 points; its CPU time per second fell six-fold.
  const auto base = stacks("svc;main;serve;price 2190\nsvc;main;serve;render 810\n");
  const auto now = stacks("svc;main;serve;price 133\nsvc;main;serve;render 22\n");
  const auto waiting = summaryJson(now, &base, 7, 30);
  CHECK(waiting["grown"][0].value("name", "") == "price");
  CHECK(waiting["grown"][0].value("grew_pp", 0.0) > kExplainsPp);
  CHECK_FALSE(waiting.contains("explains"));
  // The same shares from a process that computes more: 1,550 samples in 7 s. That explains.
  const auto busy = stacks("svc;main;serve;price 1330\nsvc;main;serve;render 220\n");
  CHECK(summaryJson(busy, &base, 7, 30).value("explains", "") == "cpu:price");
  // Without the captures' lengths the shares alone decide, as before.
  CHECK(summaryJson(now, &base).value("explains", "") == "cpu:price");
}

TEST_CASE("time in the allocator, a syscall wrapper or the kernel is the time of the own function that called it") {
  // DWARF call chains of an allocation loop: libc's frames below the loop's function.
  const auto base = stacks("svc;_start;main;serve;render 90\nsvc;_start;main;serve;churn 10\n");
  const auto now = stacks(
      "svc;_start;main;serve;churn;operator new;__GI___libc_malloc;tcache_get 30\n"
      "svc;_start;main;serve;churn;__GI___libc_free;_int_free 32\n"
      "svc;_start;main;serve;churn 38\n");
  const auto owner = ownerOf(base, now, "tcache_get");
  REQUIRE(owner);
  CHECK(owner->name == "churn");
  CHECK(owner->caller == "serve");
  CHECK(owner->grew_pp() == doctest::Approx(90));
  CHECK(owner->class_share[static_cast<int>(FrameClass::allocation)] == doctest::Approx(0.62));
  const auto summary = summaryJson(now, &base);
  CHECK(summary.value("explains", "") == "cpu:churn");
  CHECK(summary.value("explanation", "") ==
        "on-CPU: churn grew +90 points to 100% of the CPU samples (62% of its time in allocation (malloc/free, GC), "
        "called from serve)");

  // A storm of write() calls: the kernel's frames and the libc wrapper belong to the function that writes.
  const auto writes = stacks(
      "svc;_start;main;serve;chatter;__GI___libc_write;entry_SYSCALL_64_after_hwframe_[k];do_syscall_64_[k];"
      "ksys_write_[k];vfs_write_[k];write_null_[k] 80\n"
      "svc;_start;main;serve;render 20\n");
  const auto writer = ownerOf(base, writes, "write_null_[k]");
  REQUIRE(writer);
  CHECK(writer->name == "chatter");
  CHECK(writer->class_share[static_cast<int>(FrameClass::syscall)] == doctest::Approx(1.0));
  CHECK(summaryJson(writes, &base).value("explanation", "").find("chatter grew +80 points") != std::string::npos);

  // An own frame called back from the standard library is its own owner.
  const auto sorted = stacks("svc;main;serve;std::sort<int*>;std::__introsort_loop<int*>;byPrice 50\n");
  CHECK(ownerOf(base, sorted, "byPrice")->name == "byPrice");
  CHECK(ownerOf(base, sorted, "std::__introsort_loop<int*>")->name == "serve");
  // Frame-pointer stacks through a library without them: no frame of the process's own on the path.
  const auto lost = stacks("svc;malloc 60\nsvc;[unknown];_int_free 40\n");
  CHECK_FALSE(ownerOf(base, lost, "malloc"));
  CHECK_FALSE(ownerOf(base, lost, "_int_free"));
  CHECK_FALSE(ownerOf(base, lost, "nowhere"));
  CHECK(ownFrame("Inventory::reserve"));
  CHECK(ownFrame("hotspotd_test_nap_[o]"));
  CHECK_FALSE(ownFrame("schedule_[k]"));
  CHECK_FALSE(ownFrame("std::vector<int>::push_back"));
  CHECK_FALSE(ownFrame("[libc.so.6]"));
}
