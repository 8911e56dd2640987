/// The Kafka backend's pure pieces: shard_of (core/shard.hpp, the partition of an entity)
/// against librdkafka's own murmur2 partitioner, and the record format.

#include <librdkafka/rdkafka.h>

#include <random>
#include <string>

#include <catch2/catch.hpp>

#include "hibiki/core/shard.hpp"
#include "kafka/kafka_record.hpp"

using namespace hibiki::persistence::kafka;

namespace {

std::int32_t librdkafka_partition(const std::string& key, std::int32_t count) {
  return rd_kafka_msg_partitioner_murmur2(nullptr, key.data(), key.size(), count, nullptr, nullptr);
}

std::string random_bytes(std::mt19937_64& rng, std::size_t n) {
  std::string s;
  for (std::size_t i = 0; i < n; ++i) s.push_back(static_cast<char>(rng() & 0xff));
  return s;
}

journal_record sample_event() {
  journal_record r;
  r.kind = record_kind::event;
  r.writer = "writer-1";
  r.seq = 42;
  r.payload = {1, 2, 3, 0, 255};
  r.rows.push_back({hibiki::read_model::table::history, "k1", std::string("v1")});
  r.rows.push_back({hibiki::read_model::table::tokens, std::string("k\0 2", 4), std::nullopt});
  r.rows.push_back({hibiki::read_model::table::accounts, "", std::string()});
  return r;
}

}  // namespace

TEST_CASE("shard_of equals librdkafka's murmur2 partitioner", "[kafka][unit]") {
  std::mt19937_64 rng(12345);
  for (std::int32_t count : {1, 2, 3, 7, 16, 100, 1000}) {
    // Every tail length (0..3 bytes after the 4-byte blocks) and binary keys, NUL included.
    for (std::size_t len = 0; len < 40; ++len) {
      for (int i = 0; i < 20; ++i) {
        const auto key = random_bytes(rng, len);
        INFO("count " << count << " len " << len);
        REQUIRE(hibiki::shard_of(key, count) == librdkafka_partition(key, count));
      }
    }
    for (const std::string key : {"room-1", "user-alice", "tck-entity-abc", "hibiki"}) {
      CHECK(hibiki::shard_of(key, count) == librdkafka_partition(key, count));
    }
  }
}

TEST_CASE("kafka record round trip", "[kafka][unit]") {
  const auto ev = sample_event();
  auto decoded = decode_record(encode_record(ev));
  REQUIRE(decoded.ok());
  CHECK(*decoded == ev);

  journal_record del;
  del.kind = record_kind::delete_to;
  del.writer = "w";
  del.seq = 7;
  auto d = decode_record(encode_record(del));
  REQUIRE(d.ok());
  CHECK(*d == del);

  journal_record no_rows = ev;
  no_rows.rows.clear();
  auto n = decode_record(encode_record(no_rows));
  REQUIRE(n.ok());
  CHECK(*n == no_rows);
}

TEST_CASE("kafka record decoding refuses truncated and garbage records", "[kafka][unit]") {
  const auto full = encode_record(sample_event());
  // Every strict prefix is truncated.
  for (std::size_t n = 0; n < full.size(); ++n) {
    INFO("prefix " << n);
    CHECK_FALSE(decode_record(full.substr(0, n)).ok());
  }
  CHECK_FALSE(decode_record(full + "x").ok());  // trailing bytes

  auto bad_version = full;
  bad_version[0] = 9;
  CHECK_FALSE(decode_record(bad_version).ok());
  auto bad_kind = full;
  bad_kind[1] = 3;
  CHECK_FALSE(decode_record(bad_kind).ok());

  // A row count far beyond what the bytes could hold.
  journal_record r = sample_event();
  r.rows.clear();
  auto huge = encode_record(r);
  for (std::size_t i = huge.size() - 4; i < huge.size(); ++i) huge[i] = '\xff';
  CHECK_FALSE(decode_record(huge).ok());

  // An unknown read-model table.
  journal_record one;
  one.writer = "w";
  one.seq = 1;
  one.payload = {1};
  one.rows.push_back({hibiki::read_model::table::history, "k", std::nullopt});
  auto bad_table = encode_record(one);
  // Layout: 2 + 8 + (4+1) + (4+1) + 4 = 24 bytes before the row's table byte.
  REQUIRE(static_cast<std::uint8_t>(bad_table[24]) == 0);
  bad_table[24] = static_cast<char>(hibiki::read_model::table_count);
  CHECK_FALSE(decode_record(bad_table).ok());

  // Random garbage never decodes to an event without seq or payload and never crashes.
  std::mt19937_64 rng(7);
  for (int i = 0; i < 2000; ++i) {
    auto g = random_bytes(rng, rng() % 64);
    auto res = decode_record(g);
    if (res.ok() && res->kind == record_kind::event) {
      CHECK(res->seq != 0);
      CHECK_FALSE(res->payload.empty());
    }
  }
  // An event with seq 0 or no payload is not a journal event.
  journal_record zero = sample_event();
  zero.seq = 0;
  CHECK_FALSE(decode_record(encode_record(zero)).ok());
  journal_record empty = sample_event();
  empty.payload.clear();
  CHECK_FALSE(decode_record(encode_record(empty)).ok());
}
