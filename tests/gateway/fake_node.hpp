#pragma once
/// A fake actors::node for the gateway tests: records what sessions receive, lets a test reply,
/// close, or flood through a session's link, and can be made unhealthy or slow to sign up.
/// Thread-safe: the gateway calls it from its I/O threads, the test from its own.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "hibiki/actors/node.hpp"

namespace hibiki::testkit {

class fake_node final : public actors::node {
 public:
  /// A frame "echo:X" makes the session send X back; "close:CODE" makes it close with CODE.
  struct record {
    std::vector<std::string> frames;
    int closed = 0;  ///< times on_closed ran (must end at exactly 1)
    std::shared_ptr<actors::client_link> link;
  };

  ~fake_node() override;

  std::unique_ptr<actors::session> open_session(std::shared_ptr<actors::client_link> link) override;
  void signup(std::string name, std::function<void(result<actors::signup_result>)> done) override;
  /// Accounts handed out by signup exist; others are not_found; a rename to "" is bad_request.
  /// Every request is recorded (admin_requests()).
  void admin(actors::admin_request request,
             std::function<void(result<actors::admin_result>)> done) override;
  std::vector<actors::admin_request> admin_requests() const;
  bool healthy() const override { return healthy_; }
  /// Returns what set_journal_status gave; while hold_journal(true) is in force it first waits
  /// (a broker that is slow to answer).
  nlohmann::json journal_status() override;
  /// Returns what set_cluster_status gave; while hold_journal(true) is in force it first waits
  /// too (the same slow broker).
  nlohmann::json cluster_status() override;
  void set_cluster_status(nlohmann::json status);
  /// cluster_status calls that have returned.
  int cluster_calls() const;
  void stop() override {}

  /// The projections: projections_status() answers `{"projections": LIST}` as set here.
  /// rebuild_projection(name) of a listed name marks its rebuild active (state "rebuilding");
  /// the second projections_status() call after it reports it done with `applied` events. Other
  /// names: not_found naming the listed ones, like the real node.
  void set_projections(nlohmann::json list, std::int64_t applied = 0);
  nlohmann::json projections_status() override;
  hibiki::status rebuild_projection(const std::string& name) override;
  /// Names rebuild_projection was called with, in order.
  std::vector<std::string> rebuilds() const;

  void set_healthy(bool h) { healthy_ = h; }
  void set_signup_delay(std::chrono::milliseconds d) { signup_delay_ = d; }
  void set_journal_status(nlohmann::json status);
  void hold_journal(bool hold);
  /// Waits (bounded) until `n` journal_status or cluster_status calls have started; returns
  /// whether they did.
  bool wait_journal_started(int n, std::chrono::seconds limit = std::chrono::seconds(10));
  /// journal_status calls that have returned.
  int journal_calls() const;

  /// Waits (bounded, so a broken gateway fails the test instead of hanging it) until `pred` over
  /// the records holds. Returns whether it did.
  bool wait_for(const std::function<bool(const std::vector<record>&)>& pred,
                std::chrono::seconds limit = std::chrono::seconds(10));
  std::vector<record> snapshot() const;
  std::shared_ptr<actors::client_link> link(std::size_t session) const;
  std::size_t sessions() const;

 private:
  friend class fake_session;
  void on_text(std::size_t index, std::string frame);
  void on_closed(std::size_t index);

  mutable std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<record> records_;
  nlohmann::json journal_status_ = nlohmann::json{{"kind", "fake"}};
  nlohmann::json cluster_status_ = nlohmann::json{{"clustered", false}};
  std::atomic<bool> healthy_{true};
  std::chrono::milliseconds signup_delay_{0};
  bool journal_held_ = false;
  int journal_started_ = 0;
  int journal_calls_ = 0;
  int cluster_calls_ = 0;
  std::uint64_t next_account_ = 1;
  std::vector<actors::admin_request> admin_requests_;
  std::vector<std::thread> workers_;
  nlohmann::json projections_ = nlohmann::json::array();
  std::int64_t rebuild_applied_ = 0;
  std::vector<std::string> rebuilds_;
  int rebuild_polls_ = 0;  ///< status calls since the last rebuild started
};

}  // namespace hibiki::testkit
