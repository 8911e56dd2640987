// hibiki_topic_dump: prints every COMMITTED record of a journal topic (read_committed, from the
// beginning to the end as of the start), one JSON object per line:
//   {"partition":P,"offset":O,"timestamp":MS,"key":"room-7","kind":1,"writer":"...","seq":N}
// then a last line {"end":true,"records":N}. The cluster e2e tests use it to prove that a node
// fenced while frozen committed nothing after it resumed: /usr/bin/python3 has no Kafka client,
// and the broker's console consumer prints the binary record values unusable.
//
//   hibiki_topic_dump BROKERS TOPIC [TIMEOUT_SECONDS]
//
// The value's layout (persistence/src/kafka/kafka_record.hpp): u8 format (1), u8 kind; kind 1
// (event): be64 seq, be32 length + writer, ...; kind 2 (delete_to): be64 to, be32 length + writer.
// Decoded here by hand on purpose: a test tool that shares the decoder cannot catch its bugs.
// Exit 0 when every partition was read to its end, 1 on errors, 2 on usage errors.

#include <librdkafka/rdkafka.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <memory>
#include <set>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace {

struct kafka_deleter {
  void operator()(rd_kafka_t* k) const {
    rd_kafka_consumer_close(k);
    rd_kafka_destroy(k);
  }
};

std::uint64_t be(const unsigned char* p, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = v << 8 | p[i];
  return v;
}

/// Kind, seq (or delete bound) and writer of a record value; kind 0 when it cannot be decoded.
nlohmann::json decode(const unsigned char* v, std::size_t n) {
  nlohmann::json out{{"kind", 0}};
  if (n < 2 + 8 + 4 || v[0] != 1) return out;
  const int kind = v[1];
  const auto seq = be(v + 2, 8);
  const auto len = be(v + 10, 4);
  if (len > n - 14) return out;
  out["kind"] = kind;
  out["seq"] = seq;
  out["writer"] = std::string(reinterpret_cast<const char*>(v + 14), len);
  return out;
}

int fail(const std::string& message) {
  std::fprintf(stderr, "hibiki_topic_dump: %s\n", message.c_str());
  return 1;
}

}  // namespace

int main(int argc, char** argv) {
  if (argc < 3 || argc > 4) {
    std::fprintf(stderr, "usage: hibiki_topic_dump BROKERS TOPIC [TIMEOUT_SECONDS]\n");
    return 2;
  }
  const std::string brokers = argv[1], topic = argv[2];
  const int timeout_s = argc == 4 ? std::atoi(argv[3]) : 60;
  if (timeout_s <= 0) {
    std::fprintf(stderr, "hibiki_topic_dump: TIMEOUT_SECONDS must be a positive number\n");
    return 2;
  }

  char err[512];
  rd_kafka_conf_t* conf = rd_kafka_conf_new();
  for (auto [k, v] : {std::pair<const char*, const char*>{"bootstrap.servers", brokers.c_str()},
                      {"group.id", "hibiki-topic-dump"},
                      {"enable.auto.commit", "false"},
                      {"enable.partition.eof", "true"},
                      {"isolation.level", "read_committed"},
                      {"auto.offset.reset", "earliest"}}) {
    if (rd_kafka_conf_set(conf, k, v, err, sizeof err) != RD_KAFKA_CONF_OK) {
      rd_kafka_conf_destroy(conf);
      return fail(std::string(k) + ": " + err);
    }
  }
  std::unique_ptr<rd_kafka_t, kafka_deleter> consumer(
      rd_kafka_new(RD_KAFKA_CONSUMER, conf, err, sizeof err));
  if (!consumer) return fail(err);
  rd_kafka_poll_set_consumer(consumer.get());

  const rd_kafka_metadata_t* md = nullptr;
  std::unique_ptr<rd_kafka_topic_t, decltype(&rd_kafka_topic_destroy)> t(
      rd_kafka_topic_new(consumer.get(), topic.c_str(), nullptr), &rd_kafka_topic_destroy);
  auto e = rd_kafka_metadata(consumer.get(), 0, t.get(), &md, 10'000);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(std::string("metadata: ") + rd_kafka_err2str(e));
  int partitions = 0;
  if (md->topic_cnt == 1 && md->topics[0].err == RD_KAFKA_RESP_ERR_NO_ERROR)
    partitions = md->topics[0].partition_cnt;
  rd_kafka_metadata_destroy(md);
  if (partitions <= 0) return fail("topic " + topic + " not found");

  rd_kafka_topic_partition_list_t* list = rd_kafka_topic_partition_list_new(partitions);
  for (int p = 0; p < partitions; ++p)
    rd_kafka_topic_partition_list_add(list, topic.c_str(), p)->offset = RD_KAFKA_OFFSET_BEGINNING;
  e = rd_kafka_assign(consumer.get(), list);
  rd_kafka_topic_partition_list_destroy(list);
  if (e != RD_KAFKA_RESP_ERR_NO_ERROR) return fail(std::string("assign: ") + rd_kafka_err2str(e));

  // read_committed: the end of a partition is its last stable offset, which a transaction still
  // open holds back; EOF there is the end of what is committed now.
  std::set<int> at_end;
  long records = 0;
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(timeout_s);
  while (static_cast<int>(at_end.size()) < partitions) {
    if (std::chrono::steady_clock::now() > deadline)
      return fail("did not reach the end of every partition within " + std::to_string(timeout_s) +
                  " s (" + std::to_string(at_end.size()) + " of " + std::to_string(partitions) +
                  ")");
    rd_kafka_message_t* m = rd_kafka_consumer_poll(consumer.get(), 200);
    if (m == nullptr) continue;
    std::unique_ptr<rd_kafka_message_t, decltype(&rd_kafka_message_destroy)> guard(
        m, &rd_kafka_message_destroy);
    if (m->err == RD_KAFKA_RESP_ERR__PARTITION_EOF) {
      at_end.insert(m->partition);
      continue;
    }
    if (m->err != RD_KAFKA_RESP_ERR_NO_ERROR) {
      // Transient errors (a broker connection) are retried by librdkafka; fatal ones stop.
      if (m->err == RD_KAFKA_RESP_ERR__FATAL || m->err == RD_KAFKA_RESP_ERR_UNKNOWN_TOPIC_OR_PART)
        return fail(rd_kafka_message_errstr(m));
      continue;
    }
    // A record after EOF (a commit landed meanwhile) is printed too; the partition stays done.
    auto j = decode(static_cast<const unsigned char*>(m->payload), m->len);
    j["partition"] = m->partition;
    j["offset"] = m->offset;
    rd_kafka_timestamp_type_t tstype;
    j["timestamp"] = rd_kafka_message_timestamp(m, &tstype);
    j["key"] = m->key ? std::string(static_cast<const char*>(m->key), m->key_len) : std::string();
    std::puts(j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    ++records;
  }
  std::printf("{\"end\":true,\"records\":%ld}\n", records);
  return 0;
}
