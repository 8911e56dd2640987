// The node's projection registry: a projection added to a running node follows the journal's
// feed (sign-ups land in it), its status and lag show in projections_status(), a rebuild runs
// through the node, bad names get a clear error, and stop() stops the projections.

#include <catch2/catch.hpp>

#include <chrono>
#include <future>
#include <mutex>
#include <thread>

#include "hibiki/actors/node.hpp"
#include "hibiki/persistence/projections.hpp"
#include "hibiki/persistence/storage.hpp"
#include "hibiki/testkit/temp_dir.hpp"

using hibiki::errc;
using hibiki::actors::node;
using hibiki::testkit::temp_dir;
using json = nlohmann::json;
using namespace std::chrono_literals;

namespace {

/// What the counting projection keeps; shared with the test, which outlives the projection.
struct counted {
  std::mutex mutex;
  hibiki::persistence::feed_positions positions;
  std::size_t events = 0;
  int resets = 0;
};

class counting_projection final : public hibiki::persistence::projection {
 public:
  explicit counting_projection(std::shared_ptr<counted> out) : out_(std::move(out)) {}
  std::string name() const override { return "count"; }
  hibiki::result<hibiki::persistence::feed_positions> committed() override {
    std::lock_guard lock(out_->mutex);
    return out_->positions;
  }
  hibiki::status apply(const std::vector<hibiki::persistence::feed_record>& batch,
                       const hibiki::persistence::feed_positions& next) override {
    std::lock_guard lock(out_->mutex);
    out_->events += batch.size();
    out_->positions = next;
    return {};
  }
  hibiki::status reset() override {
    std::lock_guard lock(out_->mutex);
    out_->events = 0;
    out_->positions.clear();
    ++out_->resets;
    return {};
  }

 private:
  std::shared_ptr<counted> out_;
};

void eventually(const std::function<bool()>& done, const char* what) {
  const auto deadline = std::chrono::steady_clock::now() + 60s;
  while (!done()) {
    if (std::chrono::steady_clock::now() > deadline) FAIL("never happened: " << what);
    std::this_thread::sleep_for(5ms);
  }
}

json projection_named(node& n, const std::string& name) {
  const auto all = n.projections_status();
  for (const auto& p : all["projections"])
    if (p["name"] == name) return p;
  return json();
}

}  // namespace

TEST_CASE("node: projections follow the journal, show their lag, and rebuild",
          "[node][projection]") {
  temp_dir dir;
  hibiki::persistence::storage_options s;
  s.data_dir = dir.sub("data");
  s.sync_writes = false;
  auto backend = hibiki::persistence::open_backend(s);
  REQUIRE(backend.ok());
  hibiki::actors::node_options o;
  o.io_threads = 1;
  o.actor_threads = 2;
  auto started = node::start(std::move(*backend), o);
  REQUIRE(started.ok());
  auto& n = *started.value();

  REQUIRE(n.projections() != nullptr);
  CHECK(n.projections_status() == json{{"projections", json::array()}});
  auto out = std::make_shared<counted>();
  REQUIRE(n.projections()->add(std::make_unique<counting_projection>(out)).ok());

  std::promise<bool> signed_up;
  n.signup("alice", [&](auto r) { signed_up.set_value(r.ok()); });
  REQUIRE(signed_up.get_future().get());
  const auto appends = n.journal_status()["appends"].get<std::int64_t>();
  REQUIRE(appends >= 2);
  eventually(
      [&] {
        auto p = projection_named(n, "count");
        return p.is_object() && p["lag"] == 0 && p["end_positions"]["0"].get<std::int64_t>() > 0 &&
               p["positions"]["0"] == p["end_positions"]["0"];
      },
      "caught up with the sign-up");
  auto p = projection_named(n, "count");
  CHECK(p["state"] == "running");
  CHECK(p["last_error"] == "");
  std::size_t first_pass = 0;
  {
    std::lock_guard lock(out->mutex);
    first_pass = out->events;
  }
  CHECK(first_pass >= 2);
  CHECK(p["applied"].get<std::size_t>() == first_pass);

  auto unknown = n.rebuild_projection("search");
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::not_found);
  CHECK(unknown.error().message == "no projection named search (this node runs: count)");

  REQUIRE(n.rebuild_projection("count").ok());
  eventually([&] { return projection_named(n, "count")["rebuild"]["done"] == true; },
             "rebuild done");
  {
    std::lock_guard lock(out->mutex);
    CHECK(out->resets == 1);
    CHECK(out->events == first_pass);
  }
  auto rebuilt = projection_named(n, "count");
  CHECK(rebuilt["rebuild"]["applied"].get<std::size_t>() == first_pass);
  CHECK(rebuilt["state"] == "running");

  n.stop();
  CHECK(n.projections_status() == json{{"projections", json::array()}});
  CHECK(n.projections()->add(std::make_unique<counting_projection>(out)).error().code ==
        errc::unavailable);
}
