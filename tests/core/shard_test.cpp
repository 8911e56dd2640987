// shard_of: Kafka's default partitioner, checked against Kafka's own murmur2 test vectors (kept
// here only; the comparison with librdkafka's partitioner on random keys is in
// tests/kafka/unit_test.cpp).

#include <catch2/catch.hpp>

#include "hibiki/core/shard.hpp"

using hibiki::murmur2;
using hibiki::shard_of;

TEST_CASE("murmur2 gives Kafka's hashes on Kafka's known keys", "[core][shard]") {
  // Utils.murmur2 results from Kafka's own UtilsTest (Java ints).
  const std::pair<std::string, std::int32_t> vectors[] = {
      {"21", -973932308},
      {"foobar", -790332482},
      {"a-little-bit-long-string", -985981536},
      {"a-little-bit-longer-string", -1486304829},
      {"lkjh234lh9fiuh90y23oiuhsafujhadof229phr9h19h89h8", -58897971},
      {"abc", 479470107}};
  for (const auto& [key, hash] : vectors) {
    INFO(key);
    CHECK(murmur2(key) == static_cast<std::uint32_t>(hash));
    // The partition is toPositive(h) % count; with count = 2^31 - 1 it is the positive hash.
    CHECK(shard_of(key, 2147483647) ==
          static_cast<std::int32_t>((static_cast<std::uint32_t>(hash) & 0x7fffffff) % 2147483647u));
    CHECK(shard_of(key, 16) ==
          static_cast<std::int32_t>((static_cast<std::uint32_t>(hash) & 0x7fffffff) % 16u));
  }
}

TEST_CASE("shard_of edge cases", "[core][shard]") {
  CHECK(shard_of("x", 0) == 0);
  CHECK(shard_of("x", -3) == 0);
  CHECK(shard_of("x", 1) == 0);
  CHECK(shard_of("", 16) == static_cast<std::int32_t>((murmur2("") & 0x7fffffff) % 16));
  // Binary keys: a NUL byte is part of the key.
  CHECK(murmur2(std::string_view("a\0b", 3)) != murmur2("a"));
  for (std::int32_t count : {1, 2, 7, 16, 1000})
    for (const char* key : {"room-1", "user-2", "ids", "room-123456789"})
      CHECK((shard_of(key, count) >= 0 && shard_of(key, count) < count));
}
