#include "shard_table.hpp"

#include <algorithm>

#include "context.hpp"
#include "hibiki/core/shard.hpp"
#include "messages.hpp"

namespace hibiki::actors {

std::shared_ptr<shard_table> shard_table::single(std::int32_t partitions, std::string self) {
  return std::make_shared<shard_table>(partitions, std::move(self), false);
}

std::shared_ptr<shard_table> shard_table::clustered(std::int32_t partitions, std::string self) {
  return std::make_shared<shard_table>(partitions, std::move(self), true);
}

shard_table::shard_table(std::int32_t partitions, std::string self, bool clustered)
    : partitions_(std::max<std::int32_t>(partitions, 1)),
      self_(std::move(self)),
      clustered_(clustered),
      local_(static_cast<std::size_t>(partitions_),
             clustered ? local_shard::none : local_shard::serving),
      owner_(static_cast<std::size_t>(partitions_), clustered ? std::string() : self_) {}

std::int32_t shard_table::partition_of(const entity_id& entity) const {
  if (partitions_ == 1) return 0;
  return shard_of(entity, partitions_);
}

shard_route shard_table::route(std::int32_t partition) const {
  shard_route r;
  if (partition < 0 || partition >= partitions_) return r;
  std::lock_guard lock(mutex_);
  const auto i = static_cast<std::size_t>(partition);
  switch (local_[i]) {
    case local_shard::serving:
      r.kind = shard_route::serving;
      r.node = self_;
      return r;
    case local_shard::acquiring:
      r.kind = shard_route::acquiring;
      r.node = self_;
      return r;
    case local_shard::none:
      break;
  }
  const auto& owner = owner_[i];
  if (owner.empty() || owner == self_) return r;  // unowned, or Kafka's view is behind ours
  auto peer = peers_.find(owner);
  if (peer == peers_.end()) return r;
  r.kind = shard_route::remote;
  r.node = owner;
  r.endpoint = peer->second;
  return r;
}

bool shard_table::serving(std::int32_t partition) const {
  if (partition < 0 || partition >= partitions_) return false;
  std::lock_guard lock(mutex_);
  return local_[static_cast<std::size_t>(partition)] == local_shard::serving;
}

std::uint64_t shard_table::version() const {
  std::lock_guard lock(mutex_);
  return version_;
}

void shard_table::set_local(std::int32_t partition, local_shard state) {
  if (partition < 0 || partition >= partitions_) return;
  std::lock_guard lock(mutex_);
  local_[static_cast<std::size_t>(partition)] = state;
  ++version_;
}

void shard_table::set_assignment(const std::map<std::string, std::vector<std::int32_t>>& by_node) {
  std::lock_guard lock(mutex_);
  std::fill(owner_.begin(), owner_.end(), std::string());
  for (const auto& [node, partitions] : by_node)
    for (auto p : partitions)
      if (p >= 0 && p < partitions_) owner_[static_cast<std::size_t>(p)] = node;
  ++version_;
}

void shard_table::set_peer(const std::string& node, caf::actor endpoint) {
  if (node == self_ || !endpoint) return;
  std::lock_guard lock(mutex_);
  peers_[node] = std::move(endpoint);
  ++version_;
}

void shard_table::peer_down(const std::string& node) {
  std::lock_guard lock(mutex_);
  if (peers_.erase(node) > 0) ++version_;
}

std::vector<std::pair<std::string, caf::actor>> shard_table::peers() const {
  std::lock_guard lock(mutex_);
  return {peers_.begin(), peers_.end()};
}

std::map<std::string, std::vector<std::int32_t>> shard_table::assignment() const {
  std::lock_guard lock(mutex_);
  std::map<std::string, std::vector<std::int32_t>> out;
  for (std::int32_t p = 0; p < partitions_; ++p) {
    const auto& owner = owner_[static_cast<std::size_t>(p)];
    if (!owner.empty()) out[owner].push_back(p);
  }
  return out;
}

std::vector<local_shard> shard_table::local_states() const {
  std::lock_guard lock(mutex_);
  return local_;
}

void notify_shards_changed(const node_context& ctx) {
  for (const auto* a : {&ctx.rooms, &ctx.users, &ctx.ids, &ctx.hub})
    if (*a) caf::anon_send(*a, shards_atom::value);
}

}  // namespace hibiki::actors
