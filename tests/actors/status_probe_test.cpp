// status_probe: the backend's status with a deadline, one call at a time, and a stop that does
// not wait forever for a call stuck in the backend.

#include <catch2/catch.hpp>

#include <condition_variable>
#include <mutex>

#include "status_probe.hpp"

using hibiki::actors::status_probe;
using namespace std::chrono_literals;

namespace {

/// A backend whose status() blocks while held, and counts its calls. Only status() is used.
class held_backend final : public hibiki::persistence::backend {
 public:
  hibiki::persistence::journal& journal() override { std::abort(); }
  hibiki::persistence::snapshot_store& snapshots() override { std::abort(); }
  hibiki::persistence::read_store& reads() override { std::abort(); }
  void close() override {}
  hibiki::persistence::journal_status identity() const override {
    hibiki::persistence::journal_status st;
    st.kind = "held";
    return st;
  }

  hibiki::persistence::journal_status status() override {
    std::unique_lock lock(mutex_);
    ++started_;
    changed_.notify_all();
    changed_.wait(lock, [&] { return !held_; });
    hibiki::persistence::journal_status st;
    st.kind = "held";
    st.appends = static_cast<std::uint64_t>(++finished_);
    return st;
  }

  void hold(bool h) {
    std::lock_guard lock(mutex_);
    held_ = h;
    changed_.notify_all();
  }
  bool wait_started(int n) {
    std::unique_lock lock(mutex_);
    return changed_.wait_for(lock, 10s, [&] { return started_ >= n; });
  }
  int started() {
    std::lock_guard lock(mutex_);
    return started_;
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool held_ = false;
  int started_ = 0;
  int finished_ = 0;
};

}  // namespace

TEST_CASE("status_probe answers with a fresh status each time", "[status_probe]") {
  held_backend b;
  status_probe probe(b);
  auto first = probe.get(10s);
  REQUIRE(first.has_value());
  REQUIRE(first->kind == "held");
  REQUIRE(first->appends == 1);
  auto second = probe.get(10s);
  REQUIRE(second.has_value());
  REQUIRE(second->appends == 2);
  REQUIRE(probe.wait_idle(10s));
}

TEST_CASE("status_probe gives up on a stuck backend and shares the stuck call", "[status_probe]") {
  held_backend b;
  status_probe probe(b);
  b.hold(true);
  REQUIRE_FALSE(probe.get(50ms).has_value());  // the backend is inside status(), held
  REQUIRE(b.wait_started(1));
  // A second caller does not start a second call while the first is stuck.
  REQUIRE_FALSE(probe.get(50ms).has_value());
  REQUIRE(b.started() == 1);
  // The stuck call ends: the next caller gets its answer.
  b.hold(false);
  auto late = probe.get(10s);
  REQUIRE(late.has_value());
  REQUIRE(late->appends >= 1);
  REQUIRE(probe.wait_idle(10s));
}

TEST_CASE("status_probe stop reports a call that is still stuck", "[status_probe]") {
  held_backend b;
  {
    status_probe probe(b);
    b.hold(true);
    REQUIRE_FALSE(probe.get(10ms).has_value());
    REQUIRE(b.wait_started(1));
    REQUIRE_FALSE(probe.wait_idle(20ms));
    // Stopped: no more calls, even once the backend answers.
    b.hold(false);
    REQUIRE(probe.wait_idle(10s));
    REQUIRE_FALSE(probe.get(10s).has_value());
    REQUIRE(b.started() == 1);
  }  // the destructor joins a thread that is idle
}
