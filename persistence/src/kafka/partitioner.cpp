/// kafka_backend::partition_for: Kafka's default partitioner for keyed records, so the partition
/// we write an entity to is the one any Kafka client (Java or librdkafka's murmur2) would pick.

#include <cstdint>

#include "hibiki/persistence/kafka_backend.hpp"

namespace hibiki::persistence {

namespace {

/// Kafka's murmur2 (org.apache.kafka.common.utils.Utils.murmur2): MurmurHash2, 32 bit, seed
/// 0x9747b28c, little-endian 4-byte blocks. Unsigned arithmetic gives Java's wrapping ints.
std::uint32_t murmur2(const unsigned char* data, std::size_t length) {
  constexpr std::uint32_t seed = 0x9747b28c;
  constexpr std::uint32_t m = 0x5bd1e995;
  constexpr int r = 24;
  std::uint32_t h = seed ^ static_cast<std::uint32_t>(length);
  const std::size_t blocks = length / 4;
  for (std::size_t i = 0; i < blocks; ++i) {
    const unsigned char* b = data + i * 4;
    std::uint32_t k = static_cast<std::uint32_t>(b[0]) | static_cast<std::uint32_t>(b[1]) << 8 |
                      static_cast<std::uint32_t>(b[2]) << 16 |
                      static_cast<std::uint32_t>(b[3]) << 24;
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const unsigned char* tail = data + blocks * 4;
  switch (length % 4) {
    case 3:
      h ^= static_cast<std::uint32_t>(tail[2]) << 16;
      [[fallthrough]];
    case 2:
      h ^= static_cast<std::uint32_t>(tail[1]) << 8;
      [[fallthrough]];
    case 1:
      h ^= tail[0];
      h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

}  // namespace

std::int32_t kafka_backend::partition_for(const entity_id& entity, std::int32_t partition_count) {
  if (partition_count <= 0) return 0;
  const auto h = murmur2(reinterpret_cast<const unsigned char*>(entity.data()), entity.size());
  return static_cast<std::int32_t>((h & 0x7fffffff) % static_cast<std::uint32_t>(partition_count));
}

}  // namespace hibiki::persistence
