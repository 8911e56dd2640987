#include "hibiki/persistence/kafka_settings.hpp"

#include <array>

#include "rdkafka_client.hpp"

namespace hibiki::persistence {

namespace {

struct reserved_key {
  std::string_view key;
  std::string_view why;
};

/// What hibiki sets itself, and why it must stay hibiki's (librdkafka aliases included).
constexpr std::array<reserved_key, 22> reserved{{
    {"bootstrap.servers", "use --kafka-brokers"},
    {"metadata.broker.list", "use --kafka-brokers"},
    {"transactional.id", "each partition's writer has its own, which fences the previous one"},
    {"enable.idempotence", "the transactional writers need it on"},
    {"acks", "a journal write is acknowledged only once every in-sync replica has it"},
    {"request.required.acks",
     "a journal write is acknowledged only once every in-sync replica "
     "has it"},
    {"isolation.level", "the index reads committed transactions only"},
    {"group.id", "the cluster's group and the indexing consumers are named by hibiki"},
    {"group.instance.id", "group membership is hibiki's"},
    {"client.id", "the cluster group member's client id carries its cluster endpoint"},
    {"partition.assignment.strategy", "shard ownership relies on the cooperative-sticky assignor"},
    {"session.timeout.ms", "use --cluster-session-timeout"},
    {"heartbeat.interval.ms", "derived from --cluster-session-timeout"},
    {"enable.auto.commit", "the index keeps its own offsets"},
    {"enable.auto.offset.store", "the index keeps its own offsets"},
    {"auto.offset.reset", "a missing offset must be an error, never a silent skip"},
    {"enable.partition.eof", "catch-up relies on end-of-partition events"},
    {"allow.auto.create.topics", "hibiki creates the journal topic itself"},
    {"message.max.bytes", "derived from the largest event hibiki accepts"},
    {"linger.ms", "set by the journal's group commit"},
    {"queue.buffering.max.ms", "set by the journal's group commit"},
    {"transaction.timeout.ms", "set by hibiki's transactional writers"},
}};

}  // namespace

status check_kafka_setting_key(std::string_view key) {
  for (const auto& r : reserved) {
    if (r.key == key) {
      return status(errc::bad_request, "the Kafka property '" + std::string(key) +
                                           "' is set by hibiki itself (" + std::string(r.why) +
                                           ")");
    }
  }
  return status::success();
}

status check_kafka_settings(const kafka_settings& settings) {
  for (const auto& [key, value] : settings)
    if (auto st = check_kafka_setting_key(key); !st) return st;
  // make_conf applies the pairs to a fresh librdkafka conf: what it refuses, librdkafka refuses.
  auto conf = kafka::make_conf(kafka::connection{"127.0.0.1:9092", settings}, {});
  if (!conf) return conf.error();
  return status::success();
}

}  // namespace hibiki::persistence
