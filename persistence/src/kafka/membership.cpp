/// kafka_membership over the project's group_consumer and admin_client (rdkafka_client.hpp):
/// the thread that drives the group protocol, and the owned partitions kept from its rebalances.

#include <algorithm>
#include <atomic>
#include <exception>
#include <functional>
#include <mutex>
#include <set>
#include <thread>

#include "hibiki/core/log.hpp"
#include "hibiki/persistence/kafka_membership.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence {

namespace {

using kafka::millis;

/// How long one poll of the membership thread blocks: bounds how late close() is noticed.
constexpr millis poll_every{100};

void log_error(const std::string& member, const std::string& what) {
  log::warn("cluster") << "membership " << member << ": " << what;
}

}  // namespace

struct kafka_membership::impl {
  kafka_membership_options options;
  kafka_membership_handlers handlers;
  std::unique_ptr<kafka::group_consumer> consumer;
  std::unique_ptr<kafka::admin_client> admin;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex close_mutex;  // serialises close()
  bool closed = false;

  mutable std::mutex owned_mutex;
  std::set<std::int32_t> owned;

  void run() {
    // The partitions are paused (group_consumer): polling only drives the group protocol.
    while (!stop.load(std::memory_order_acquire)) consumer->poll(poll_every);
    // On this thread, so the revocation at close reaches on_revoked from here like every other.
    if (auto why = consumer->close(); !why.empty())
      log_error(options.member_name, "leaving the group: " + why);
  }

  void call(const std::function<void(std::vector<std::int32_t>)>& handler,
            std::vector<std::int32_t> partitions, const char* which) {
    if (!handler || partitions.empty()) return;
    try {
      handler(std::move(partitions));
    } catch (const std::exception& e) {
      log_error(options.member_name, std::string(which) + " threw: " + e.what());
    } catch (...) {
      log_error(options.member_name, std::string(which) + " threw");
    }
  }

  /// A rebalance, on the membership thread (inside poll or close): the owned set first, then the
  /// handler; a revoked partition goes back to the group after this returns.
  void rebalance(const kafka::group_rebalance& change) {
    auto partitions = change.partitions;
    if (change.assigned) {
      {
        std::lock_guard lock(owned_mutex);
        if (!change.incremental) owned.clear();  // an eager assignment is the whole assignment
        owned.insert(partitions.begin(), partitions.end());
      }
      call(handlers.on_assigned, std::move(partitions), "on_assigned");
      return;
    }
    {
      std::lock_guard lock(owned_mutex);
      if (change.incremental) {
        for (auto p : partitions) owned.erase(p);
      } else {
        partitions.assign(owned.begin(), owned.end());
        owned.clear();
      }
    }
    call(change.lost ? handlers.on_lost : handlers.on_revoked, std::move(partitions),
         change.lost ? "on_lost" : "on_revoked");
  }
};

kafka_membership::kafka_membership(std::unique_ptr<impl> p) : impl_(std::move(p)) {}

kafka_membership::~kafka_membership() {
  close();
}

result<std::unique_ptr<kafka_membership>> kafka_membership::join(
    const kafka_membership_options& options, kafka_membership_handlers handlers) {
  if (options.brokers.empty()) return error{errc::bad_request, "kafka membership: no brokers"};
  if (options.topic.empty()) return error{errc::bad_request, "kafka membership: no topic"};
  if (options.group_id.empty()) return error{errc::bad_request, "kafka membership: no group id"};
  if (options.member_name.empty()) {
    return error{errc::bad_request, "kafka membership: no member name"};
  }
  if (options.session_timeout.count() <= 0) {
    return error{errc::bad_request, "kafka membership: the session timeout must be positive"};
  }
  auto p = std::make_unique<impl>();
  p->options = options;
  p->handlers = std::move(handlers);

  // Heartbeats at a third of the session timeout, Kafka's usual ratio.
  const auto session = options.session_timeout.count();
  const kafka::connection conn{options.brokers, options.extra_config};
  auto* raw = p.get();
  auto consumer = kafka::group_consumer::create(
      conn,
      {{"group.id", options.group_id},
       {"client.id", options.member_name},
       {"partition.assignment.strategy", "cooperative-sticky"},
       {"session.timeout.ms", std::to_string(session)},
       {"heartbeat.interval.ms", std::to_string(std::max<long long>(1, session / 3))},
       {"enable.auto.commit", "false"},
       {"enable.auto.offset.store", "false"},
       {"auto.offset.reset", "latest"},
       {"allow.auto.create.topics", "false"}},
      options.topic, options.member_name,
      [raw](const kafka::group_rebalance& change) { raw->rebalance(change); });
  if (!consumer) {
    if (consumer.error().code == errc::bad_request) return consumer.error();
    return error{consumer.error().code, "kafka membership: " + consumer.error().message};
  }
  p->consumer = std::move(*consumer);

  auto admin = kafka::admin_client::create(conn, {{"client.id", options.member_name + ".admin"}});
  if (!admin) return admin.error();
  p->admin = std::move(*admin);

  p->thread = std::thread([raw] { raw->run(); });
  return std::unique_ptr<kafka_membership>(new kafka_membership(std::move(p)));
}

std::vector<std::int32_t> kafka_membership::owned() const {
  std::lock_guard lock(impl_->owned_mutex);
  return {impl_->owned.begin(), impl_->owned.end()};
}

const std::string& kafka_membership::member_name() const {
  return impl_->options.member_name;
}

void kafka_membership::close() {
  if (!impl_) return;
  std::lock_guard lock(impl_->close_mutex);
  if (impl_->closed) return;
  impl_->closed = true;
  impl_->stop.store(true, std::memory_order_release);
  if (impl_->thread.joinable()) impl_->thread.join();
  impl_->consumer.reset();
  std::lock_guard owned_lock(impl_->owned_mutex);
  impl_->owned.clear();
}

result<std::vector<kafka_group_member>> kafka_membership::describe(millis timeout) const {
  return impl_->admin->describe_group(impl_->options.group_id, impl_->options.topic, timeout);
}

}  // namespace hibiki::persistence
