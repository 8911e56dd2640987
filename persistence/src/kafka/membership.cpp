#include <librdkafka/rdkafka.h>

#include <algorithm>
#include <atomic>
#include <cstring>
#include <exception>
#include <mutex>
#include <set>
#include <thread>

#include "hibiki/core/log.hpp"
#include "hibiki/persistence/kafka_membership.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence {

namespace {

using kafka::client_kind;
using kafka::conf_ptr;
using kafka::millis;
using kafka::rd_kafka_ptr;
using kafka::to_ms;
using list_ptr = std::unique_ptr<rd_kafka_topic_partition_list_t,
                                 decltype(&rd_kafka_topic_partition_list_destroy)>;

/// How long one poll of the membership thread blocks: bounds how late close() is noticed.
constexpr int poll_ms = 100;

/// The partitions of `topic` in `list`, sorted and unique.
std::vector<std::int32_t> partitions_of(const rd_kafka_topic_partition_list_t* list,
                                        const std::string& topic) {
  std::vector<std::int32_t> out;
  for (int i = 0; list && i < list->cnt; ++i) {
    if (topic == list->elems[i].topic) out.push_back(list->elems[i].partition);
  }
  std::sort(out.begin(), out.end());
  out.erase(std::unique(out.begin(), out.end()), out.end());
  return out;
}

void log_error(const std::string& member, const std::string& what) {
  log::warn("cluster") << "membership " << member << ": " << what;
}

/// Logs and destroys a librdkafka error object; true when there was one.
bool failed(rd_kafka_error_t* err, const std::string& member, const char* what) {
  if (!err) return false;
  log_error(member, std::string(what) + ": " + rd_kafka_error_string(err));
  rd_kafka_error_destroy(err);
  return true;
}

}  // namespace

struct kafka_membership::impl {
  kafka_membership_options options;
  kafka_membership_handlers handlers;
  rd_kafka_ptr consumer;
  rd_kafka_ptr admin;
  std::thread thread;
  std::atomic<bool> stop{false};
  std::mutex close_mutex;  // serialises close()
  bool closed = false;

  mutable std::mutex owned_mutex;
  std::set<std::int32_t> owned;

  void run() {
    while (!stop.load(std::memory_order_acquire)) {
      // The partitions are paused, so a message here is an error event or a record fetched in
      // the moment between assign and pause: neither is the membership's business.
      if (auto* m = rd_kafka_consumer_poll(consumer.get(), poll_ms)) rd_kafka_message_destroy(m);
    }
    // On this thread, so the revocation at close reaches on_revoked from here like every other.
    if (const auto err = rd_kafka_consumer_close(consumer.get())) {
      log_error(options.member_name, std::string("leaving the group: ") + rd_kafka_err2str(err));
    }
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

  void rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                 rd_kafka_topic_partition_list_t* partitions) {
    const bool cooperative = std::strcmp(rd_kafka_rebalance_protocol(rk), "COOPERATIVE") == 0;
    const auto& member = options.member_name;
    if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS) {
      // Nothing is read: start at the end and pause, so the consumer fetches no records.
      for (int i = 0; i < partitions->cnt; ++i) partitions->elems[i].offset = RD_KAFKA_OFFSET_END;
      if (cooperative) {
        if (failed(rd_kafka_incremental_assign(rk, partitions), member, "incremental assign")) {
          return;
        }
      } else if (const auto e = rd_kafka_assign(rk, partitions)) {
        log_error(member, std::string("assign: ") + rd_kafka_err2str(e));
        return;
      }
      if (const auto e = rd_kafka_pause_partitions(rk, partitions)) {
        log_error(member, std::string("pause: ") + rd_kafka_err2str(e));
      }
      auto added = partitions_of(partitions, options.topic);
      {
        std::lock_guard lock(owned_mutex);
        if (!cooperative) owned.clear();  // an eager assignment is the whole assignment
        owned.insert(added.begin(), added.end());
      }
      call(handlers.on_assigned, std::move(added), "on_assigned");
      return;
    }
    // Revocation (orderly or lost), or an error: the handler hears of it before the partitions go
    // back to the group, which happens when this callback unassigns them.
    const bool lost = err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS || rd_kafka_assignment_lost(rk);
    if (err != RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      log_error(member, std::string("rebalance error: ") + rd_kafka_err2str(err));
    }
    auto removed = partitions_of(partitions, options.topic);
    {
      std::lock_guard lock(owned_mutex);
      if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
        for (auto p : removed) owned.erase(p);
      } else {
        removed.assign(owned.begin(), owned.end());
        owned.clear();
      }
    }
    call(lost ? handlers.on_lost : handlers.on_revoked, std::move(removed),
         lost ? "on_lost" : "on_revoked");
    if (cooperative && err == RD_KAFKA_RESP_ERR__REVOKE_PARTITIONS) {
      failed(rd_kafka_incremental_unassign(rk, partitions), member, "incremental unassign");
    } else if (const auto e = rd_kafka_assign(rk, nullptr)) {
      log_error(member, std::string("unassign: ") + rd_kafka_err2str(e));
    }
  }

  static void on_rebalance(rd_kafka_t* rk, rd_kafka_resp_err_t err,
                           rd_kafka_topic_partition_list_t* partitions, void* opaque) {
    static_cast<impl*>(opaque)->rebalance(rk, err, partitions);
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
  auto conf = kafka::make_conf(
      conn, {{"group.id", options.group_id},
             {"client.id", options.member_name},
             {"partition.assignment.strategy", "cooperative-sticky"},
             {"session.timeout.ms", std::to_string(session)},
             {"heartbeat.interval.ms", std::to_string(std::max<long long>(1, session / 3))},
             {"enable.auto.commit", "false"},
             {"enable.auto.offset.store", "false"},
             {"auto.offset.reset", "latest"},
             {"allow.auto.create.topics", "false"}});
  if (!conf) return conf.error();
  rd_kafka_conf_set_rebalance_cb(conf->get(), &impl::on_rebalance);
  rd_kafka_conf_set_opaque(conf->get(), p.get());
  auto consumer = kafka::make_client(client_kind::consumer, std::move(*conf));
  if (!consumer) return consumer.error();
  p->consumer = std::move(*consumer);
  rd_kafka_poll_set_consumer(p->consumer.get());

  auto admin_conf = kafka::make_conf(conn, {{"client.id", options.member_name + ".admin"}});
  if (!admin_conf) return admin_conf.error();
  auto admin = kafka::make_client(client_kind::producer, std::move(*admin_conf));
  if (!admin) return admin.error();
  p->admin = std::move(*admin);

  list_ptr topics(rd_kafka_topic_partition_list_new(1), &rd_kafka_topic_partition_list_destroy);
  rd_kafka_topic_partition_list_add(topics.get(), options.topic.c_str(), RD_KAFKA_PARTITION_UA);
  if (const auto err = rd_kafka_subscribe(p->consumer.get(), topics.get())) {
    return error{errc::unavailable, "kafka membership: cannot subscribe to " + options.topic +
                                        ": " + rd_kafka_err2str(err)};
  }
  auto* raw = p.get();
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
  rd_kafka_t* rk = impl_->admin.get();
  const auto& group = impl_->options.group_id;
  const auto& topic = impl_->options.topic;
  char errstr[512];
  std::unique_ptr<rd_kafka_AdminOptions_t, decltype(&rd_kafka_AdminOptions_destroy)> opts(
      rd_kafka_AdminOptions_new(rk, RD_KAFKA_ADMIN_OP_DESCRIBECONSUMERGROUPS),
      &rd_kafka_AdminOptions_destroy);
  if (rd_kafka_AdminOptions_set_request_timeout(opts.get(), std::max(1, to_ms(timeout)), errstr,
                                                sizeof errstr)) {
    return error{errc::bad_request, std::string("describe timeout: ") + errstr};
  }
  std::unique_ptr<rd_kafka_queue_t, decltype(&rd_kafka_queue_destroy)> queue(
      rd_kafka_queue_new(rk), &rd_kafka_queue_destroy);
  const char* groups[] = {group.c_str()};
  rd_kafka_DescribeConsumerGroups(rk, groups, 1, opts.get(), queue.get());
  // librdkafka times the request out itself; the margin covers its timer's granularity.
  std::unique_ptr<rd_kafka_event_t, decltype(&rd_kafka_event_destroy)> ev(
      rd_kafka_queue_poll(queue.get(), to_ms(timeout + millis(1000))), &rd_kafka_event_destroy);
  if (!ev) return error{errc::unavailable, "describing group " + group + " timed out"};
  if (rd_kafka_event_error(ev.get())) {
    return error{errc::unavailable,
                 "describing group " + group + ": " + rd_kafka_event_error_string(ev.get())};
  }
  const auto* res = rd_kafka_event_DescribeConsumerGroups_result(ev.get());
  size_t n = 0;
  const auto** descs = res ? rd_kafka_DescribeConsumerGroups_result_groups(res, &n) : nullptr;
  std::vector<kafka_group_member> members;
  for (size_t i = 0; i < n; ++i) {
    const auto* d = descs[i];
    if (group != rd_kafka_ConsumerGroupDescription_group_id(d)) continue;
    if (const auto* e = rd_kafka_ConsumerGroupDescription_error(d)) {
      return error{errc::unavailable,
                   "describing group " + group + ": " + rd_kafka_error_string(e)};
    }
    const auto count = rd_kafka_ConsumerGroupDescription_member_count(d);
    for (size_t k = 0; k < count; ++k) {
      const auto* m = rd_kafka_ConsumerGroupDescription_member(d, k);
      kafka_group_member out;
      auto str = [](const char* s) { return s ? std::string(s) : std::string(); };
      out.member_id = str(rd_kafka_MemberDescription_consumer_id(m));
      out.client_id = str(rd_kafka_MemberDescription_client_id(m));
      out.host = str(rd_kafka_MemberDescription_host(m));
      if (const auto* a = rd_kafka_MemberDescription_assignment(m)) {
        out.partitions = partitions_of(rd_kafka_MemberAssignment_partitions(a), topic);
      }
      members.push_back(std::move(out));
    }
    return members;
  }
  return error{errc::unavailable, "describing group " + group + ": no answer for the group"};
}

}  // namespace hibiki::persistence
