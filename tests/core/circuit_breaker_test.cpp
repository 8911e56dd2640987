// The pure circuit breaker: closed → open after max_failures failures in a row, fail fast while
// open, one trial after reset_timeout, the trial's outcome closes or re-opens it. Time is passed
// in, so every case uses made-up time points.

#include <catch2/catch.hpp>

#include "hibiki/core/circuit_breaker.hpp"

using namespace hibiki;
using namespace std::chrono_literals;

namespace {

const circuit_breaker::time_point t0 = circuit_breaker::time_point{} + 1h;

breaker_options opts(std::uint32_t failures, std::chrono::milliseconds reset = 30s) {
  breaker_options o;
  o.max_failures = failures;
  o.call_timeout = 10s;
  o.reset_timeout = reset;
  return o;
}

/// Fails `n` granted calls at `now`.
void fail_n(circuit_breaker& b, int n, circuit_breaker::time_point now) {
  for (int i = 0; i < n; ++i) {
    REQUIRE(b.try_acquire(now));
    b.on_failure(now);
  }
}

}  // namespace

TEST_CASE("circuit breaker: defaults are the issue's (10 failures, 10 s, 30 s)", "[breaker]") {
  circuit_breaker b;
  CHECK(b.options().max_failures == 10);
  CHECK(b.options().call_timeout == 10s);
  CHECK(b.options().reset_timeout == 30s);
  CHECK(b.state(t0) == breaker_state::closed);
  CHECK(b.consecutive_failures() == 0);
}

TEST_CASE("circuit breaker: state names", "[breaker]") {
  CHECK(to_string(breaker_state::closed) == "closed");
  CHECK(to_string(breaker_state::open) == "open");
  CHECK(to_string(breaker_state::half_open) == "half_open");
}

TEST_CASE("circuit breaker: opens after max_failures failures in a row", "[breaker]") {
  circuit_breaker b(opts(3));
  fail_n(b, 2, t0);
  CHECK(b.state(t0) == breaker_state::closed);
  CHECK(b.consecutive_failures() == 2);
  fail_n(b, 1, t0);
  CHECK(b.state(t0) == breaker_state::open);
  CHECK_FALSE(b.try_acquire(t0));
  CHECK_FALSE(b.try_acquire(t0 + 29s));
}

TEST_CASE("circuit breaker: a success resets the failure count", "[breaker]") {
  circuit_breaker b(opts(3));
  fail_n(b, 2, t0);
  REQUIRE(b.try_acquire(t0));
  b.on_success(t0);
  CHECK(b.consecutive_failures() == 0);
  fail_n(b, 2, t0);
  CHECK(b.state(t0) == breaker_state::closed);
  fail_n(b, 1, t0);
  CHECK(b.state(t0) == breaker_state::open);
}

TEST_CASE("circuit breaker: half-open after reset_timeout lets exactly one trial through",
          "[breaker]") {
  circuit_breaker b(opts(2, 30s));
  fail_n(b, 2, t0);
  CHECK(b.state(t0 + 29999ms) == breaker_state::open);
  CHECK(b.state(t0 + 30s) == breaker_state::half_open);
  CHECK(b.try_acquire(t0 + 30s));
  CHECK_FALSE(b.try_acquire(t0 + 30s));
  CHECK_FALSE(b.try_acquire(t0 + 90s));  // still one trial, however long it takes
  CHECK(b.state(t0 + 90s) == breaker_state::half_open);
}

TEST_CASE("circuit breaker: a successful trial closes it", "[breaker]") {
  circuit_breaker b(opts(2, 30s));
  fail_n(b, 2, t0);
  REQUIRE(b.try_acquire(t0 + 31s));
  b.on_success(t0 + 31s);
  CHECK(b.state(t0 + 31s) == breaker_state::closed);
  CHECK(b.consecutive_failures() == 0);
  CHECK(b.try_acquire(t0 + 31s));
  CHECK(b.try_acquire(t0 + 31s));
  // And it needs max_failures new failures to open again.
  b.on_failure(t0 + 32s);
  CHECK(b.state(t0 + 32s) == breaker_state::closed);
}

TEST_CASE("circuit breaker: a failed trial re-opens it for another reset_timeout", "[breaker]") {
  circuit_breaker b(opts(2, 30s));
  fail_n(b, 2, t0);
  REQUIRE(b.try_acquire(t0 + 40s));
  b.on_failure(t0 + 40s);
  CHECK(b.state(t0 + 40s) == breaker_state::open);
  CHECK_FALSE(b.try_acquire(t0 + 69s));
  CHECK(b.state(t0 + 69s) == breaker_state::open);  // counted from the re-opening, not t0
  CHECK(b.state(t0 + 70s) == breaker_state::half_open);
  CHECK(b.try_acquire(t0 + 70s));
}

TEST_CASE("circuit breaker: stragglers while open neither close it nor extend it", "[breaker]") {
  circuit_breaker b(opts(1, 30s));
  REQUIRE(b.try_acquire(t0));
  REQUIRE(b.try_acquire(t0));  // two calls in flight
  b.on_failure(t0);
  REQUIRE(b.state(t0) == breaker_state::open);
  b.on_success(t0 + 1s);  // the other one, granted while closed, answers late
  CHECK(b.state(t0 + 1s) == breaker_state::open);
  b.on_failure(t0 + 20s);
  CHECK(b.state(t0 + 30s) == breaker_state::half_open);  // reset counted from t0
}

TEST_CASE("circuit breaker: bad options", "[breaker]") {
  SECTION("zero max_failures counts as one") {
    circuit_breaker b(opts(0));
    CHECK(b.options().max_failures == 1);
    CHECK(b.state(t0) == breaker_state::closed);
    REQUIRE(b.try_acquire(t0));  // it is not open before the first call
    b.on_failure(t0);
    CHECK(b.state(t0) == breaker_state::open);
  }
  SECTION("zero reset_timeout: half-open at once, still one trial at a time") {
    circuit_breaker b(opts(1, 0ms));
    fail_n(b, 1, t0);
    CHECK(b.state(t0) == breaker_state::half_open);
    CHECK(b.try_acquire(t0));
    CHECK_FALSE(b.try_acquire(t0));
    b.on_failure(t0);
    CHECK(b.try_acquire(t0));
    b.on_success(t0);
    CHECK(b.state(t0) == breaker_state::closed);
  }
  SECTION("negative timeouts count as zero") {
    breaker_options o = opts(1, -5s);
    o.call_timeout = -1s;
    circuit_breaker b(o);
    CHECK(b.options().call_timeout == 0ms);
    CHECK(b.options().reset_timeout == 0ms);
  }
  SECTION("success and failure reports with no call granted do not break it") {
    circuit_breaker b(opts(2));
    b.on_success(t0);
    CHECK(b.state(t0) == breaker_state::closed);
    b.on_failure(t0);
    b.on_failure(t0);
    b.on_failure(t0);
    CHECK(b.consecutive_failures() == 2);  // capped at max_failures
    CHECK(b.state(t0) == breaker_state::open);
  }
}
