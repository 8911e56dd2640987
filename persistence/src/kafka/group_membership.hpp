#pragma once
/// persistence::membership over a kafka_membership: what the clustered Kafka backend hands the
/// node. The group is "hibiki-<topic>", the member's client.id its member name.

#include <memory>
#include <mutex>

#include "hibiki/persistence/kafka_membership.hpp"
#include "hibiki/persistence/membership.hpp"

namespace hibiki::persistence::kafka {

class group_membership final : public membership {
 public:
  explicit group_membership(kafka_membership_options options) : options_(std::move(options)) {}
  ~group_membership() override { group_membership::leave(); }

  const std::string& member_name() const override { return options_.member_name; }
  const std::string& group() const override { return options_.group_id; }

  status join(membership_handlers handlers) override {
    std::lock_guard lock(mutex_);
    if (group_) return status(errc::bad_request, "already joined");
    kafka_membership_handlers h;
    h.on_assigned = std::move(handlers.on_assigned);
    h.on_revoked = std::move(handlers.on_revoked);
    h.on_lost = std::move(handlers.on_lost);
    auto joined = kafka_membership::join(options_, std::move(h));
    if (!joined) return joined.error();
    group_ = std::move(*joined);
    return status::success();
  }

  result<std::vector<cluster_member>> describe(std::chrono::milliseconds timeout) const override {
    const kafka_membership* group = nullptr;
    {
      std::lock_guard lock(mutex_);
      group = group_.get();
    }
    if (!group) return error{errc::unavailable, "not a member of the cluster's group yet"};
    auto described = group->describe(timeout);
    if (!described) return described.error();
    std::vector<cluster_member> out;
    for (auto& m : *described) out.push_back({m.client_id, m.host, m.partitions});
    return out;
  }

  void leave() override {
    std::lock_guard lock(mutex_);
    if (group_) group_->close();
  }

 private:
  kafka_membership_options options_;
  mutable std::mutex mutex_;
  /// Kept after leave(): describe() works after close, and the owner of this object outlives
  /// every caller of describe() (the node stops its cluster glue before closing the backend).
  std::unique_ptr<kafka_membership> group_;
};

}  // namespace hibiki::persistence::kafka
