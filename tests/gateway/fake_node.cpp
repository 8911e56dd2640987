#include "fake_node.hpp"

namespace hibiki::testkit {

class fake_session final : public actors::session {
 public:
  fake_session(fake_node& node, std::size_t index) : node_(node), index_(index) {}
  void on_text(std::string frame) override { node_.on_text(index_, std::move(frame)); }
  void on_closed() override { node_.on_closed(index_); }

 private:
  fake_node& node_;
  std::size_t index_;
};

fake_node::~fake_node() {
  for (auto& w : workers_) w.join();
}

std::unique_ptr<actors::session> fake_node::open_session(
    std::shared_ptr<actors::client_link> link) {
  std::lock_guard lock(mutex_);
  records_.push_back(record{{}, 0, std::move(link)});
  changed_.notify_all();
  return std::make_unique<fake_session>(*this, records_.size() - 1);
}

void fake_node::on_text(std::size_t index, std::string frame) {
  std::shared_ptr<actors::client_link> link;
  {
    std::lock_guard lock(mutex_);
    records_[index].frames.push_back(frame);
    link = records_[index].link;
    changed_.notify_all();
  }
  // Reply outside the lock, as the real session actor does from its own thread.
  if (frame.rfind("echo:", 0) == 0) {
    link->send(std::make_shared<const std::string>(frame.substr(5)));
  } else if (frame.rfind("close:", 0) == 0) {
    link->close(static_cast<std::uint16_t>(std::stoi(frame.substr(6))), "requested");
  }
}

nlohmann::json fake_node::journal_status() {
  std::unique_lock lock(mutex_);
  ++journal_started_;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !journal_held_; });
  ++journal_calls_;
  return journal_status_;
}

void fake_node::hold_journal(bool hold) {
  std::lock_guard lock(mutex_);
  journal_held_ = hold;
  changed_.notify_all();
}

bool fake_node::wait_journal_started(int n, std::chrono::seconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return journal_started_ >= n; });
}

int fake_node::journal_calls() const {
  std::lock_guard lock(mutex_);
  return journal_calls_;
}

void fake_node::set_journal_status(nlohmann::json status) {
  std::lock_guard lock(mutex_);
  journal_status_ = std::move(status);
}

nlohmann::json fake_node::cluster_status() {
  std::unique_lock lock(mutex_);
  ++journal_started_;
  changed_.notify_all();
  changed_.wait(lock, [this] { return !journal_held_; });
  ++cluster_calls_;
  return cluster_status_;
}

void fake_node::set_projections(nlohmann::json list, std::int64_t applied) {
  std::lock_guard lock(mutex_);
  projections_ = std::move(list);
  rebuild_applied_ = applied;
}

nlohmann::json fake_node::projections_status() {
  std::lock_guard lock(mutex_);
  for (auto& p : projections_) {
    if (!p.contains("rebuild") || !p["rebuild"].value("active", false)) continue;
    if (++rebuild_polls_ < 2) continue;
    p["state"] = "running";
    p["rebuild"] = {{"active", false},
                    {"done", true},
                    {"applied", rebuild_applied_},
                    {"total", rebuild_applied_},
                    {"position", rebuild_applied_},
                    {"seconds", 2.0},
                    {"events_per_second", static_cast<double>(rebuild_applied_) / 2.0}};
  }
  return nlohmann::json{{"projections", projections_}};
}

hibiki::status fake_node::rebuild_projection(const std::string& name) {
  std::lock_guard lock(mutex_);
  rebuilds_.push_back(name);
  std::string known;
  for (auto& p : projections_) {
    if (p.value("name", std::string()) == name) {
      p["state"] = "rebuilding";
      p["rebuild"] = {{"active", true},
                      {"done", false},
                      {"applied", 0},
                      {"total", rebuild_applied_},
                      {"position", 0},
                      {"seconds", 0.0},
                      {"events_per_second", 0.0}};
      rebuild_polls_ = 0;
      return {};
    }
    known += (known.empty() ? "" : ", ") + p.value("name", std::string());
  }
  return hibiki::error{errc::not_found, "no projection named " + name +
                                            (known.empty() ? " (this node runs none)"
                                                           : " (this node runs: " + known + ")")};
}

std::vector<std::string> fake_node::rebuilds() const {
  std::lock_guard lock(mutex_);
  return rebuilds_;
}

void fake_node::set_cluster_status(nlohmann::json status) {
  std::lock_guard lock(mutex_);
  cluster_status_ = std::move(status);
}

int fake_node::cluster_calls() const {
  std::lock_guard lock(mutex_);
  return cluster_calls_;
}

void fake_node::on_closed(std::size_t index) {
  std::lock_guard lock(mutex_);
  ++records_[index].closed;
  changed_.notify_all();
}

void fake_node::signup(std::string name, std::function<void(result<actors::signup_result>)> done) {
  std::lock_guard lock(mutex_);
  const auto account = next_account_++;
  const auto delay = signup_delay_;
  // The callback runs on a thread that is not the caller's, as the contract says.
  workers_.emplace_back([name = std::move(name), done = std::move(done), account, delay] {
    std::this_thread::sleep_for(delay);
    if (name.empty() || name.find(' ') != std::string::npos) {
      done(result<actors::signup_result>(errc::bad_request, "invalid name"));
      return;
    }
    done(actors::signup_result{account_id(account), name, "token-" + std::to_string(account)});
  });
}

void fake_node::admin(actors::admin_request request,
                      std::function<void(result<actors::admin_result>)> done) {
  std::lock_guard lock(mutex_);
  admin_requests_.push_back(request);
  const bool known = request.account.value > 0 && request.account.value < next_account_;
  workers_.emplace_back([request = std::move(request), done = std::move(done), known] {
    if (!known) return done(result<actors::admin_result>(errc::not_found, "no such account"));
    const bool rename = request.action == actors::admin_action::rename_account;
    if (rename && request.name.empty())
      return done(result<actors::admin_result>(errc::bad_request, "name must not be empty"));
    done(actors::admin_result{
        request.account, rename ? request.name : "someone",
        request.action == actors::admin_action::disable_account,
        request.action == actors::admin_action::issue_token ? "new-token" : ""});
  });
}

std::vector<actors::admin_request> fake_node::admin_requests() const {
  std::lock_guard lock(mutex_);
  return admin_requests_;
}

bool fake_node::wait_for(const std::function<bool(const std::vector<record>&)>& pred,
                         std::chrono::seconds limit) {
  std::unique_lock lock(mutex_);
  return changed_.wait_for(lock, limit, [&] { return pred(records_); });
}

std::vector<fake_node::record> fake_node::snapshot() const {
  std::lock_guard lock(mutex_);
  return records_;
}

std::shared_ptr<actors::client_link> fake_node::link(std::size_t session) const {
  std::lock_guard lock(mutex_);
  return records_.at(session).link;
}

std::size_t fake_node::sessions() const {
  std::lock_guard lock(mutex_);
  return records_.size();
}

}  // namespace hibiki::testkit
