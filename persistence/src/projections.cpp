#include "hibiki/persistence/projections.hpp"

#include "hibiki/core/log.hpp"

namespace hibiki::persistence {

projections::projections(backend& b, projection_runner_options defaults,
                         std::function<std::vector<std::int32_t>()> owned)
    : backend_(b), defaults_(std::move(defaults)), owned_(std::move(owned)) {}

projections::~projections() {
  stop();
}

hibiki::status projections::add(std::unique_ptr<projection> p, follow which) {
  if (!p) return {errc::bad_request, "no projection"};
  const std::string name = p->name();
  if (name.empty()) return {errc::bad_request, "a projection needs a name"};
  std::lock_guard lock(mutex_);
  if (stopped_) return {errc::unavailable, "the node is stopping"};
  if (runners_.contains(name))
    return {errc::bad_request, "a projection named " + name + " runs already"};
  auto feed = backend_.open_feed();
  if (!feed) return {errc::unavailable, "this journal backend has no feed to project"};
  auto options = defaults_;
  options.partitions = which == follow::owned_partitions ? owned_ : nullptr;
  // Partitions that move between nodes resume where the previous owner got to.
  if (which == follow::owned_partitions && owned_)
    options.shared_positions = backend_.open_position_store(name);
  auto runner = std::make_unique<projection_runner>(std::move(p), std::move(feed), options);
  runner->start();
  log::info("projection") << name << " started ("
                          << (which == follow::owned_partitions && owned_ ? "owned partitions"
                                                                          : "all partitions")
                          << (options.shared_positions ? ", shared positions" : "") << ")";
  runners_.emplace(name, std::move(runner));
  return {};
}

std::vector<projection_status> projections::status() const {
  std::lock_guard lock(mutex_);
  std::vector<projection_status> out;
  for (const auto& [name, r] : runners_) out.push_back(r->status());
  return out;
}

result<projection_status> projections::status(const std::string& name) const {
  std::lock_guard lock(mutex_);
  auto it = runners_.find(name);
  if (it == runners_.end()) return error{errc::not_found, "no projection named " + name};
  return it->second->status();
}

hibiki::status projections::rebuild(const std::string& name) {
  std::lock_guard lock(mutex_);
  auto it = runners_.find(name);
  if (it == runners_.end()) {
    std::string known;
    for (const auto& [n, r] : runners_) known += (known.empty() ? "" : ", ") + n;
    return {errc::not_found,
            "no projection named " + name +
                (known.empty() ? " (this node runs none)" : " (this node runs: " + known + ")")};
  }
  if (auto s = it->second->rebuild(); !s) return s;
  return {};
}

std::vector<std::string> projections::names() const {
  std::lock_guard lock(mutex_);
  std::vector<std::string> out;
  for (const auto& [name, r] : runners_) out.push_back(name);
  return out;
}

void projections::stop() {
  std::map<std::string, std::unique_ptr<projection_runner>> runners;
  {
    std::lock_guard lock(mutex_);
    stopped_ = true;
    runners.swap(runners_);
  }
  for (auto& [name, r] : runners) r->stop();
}

}  // namespace hibiki::persistence
