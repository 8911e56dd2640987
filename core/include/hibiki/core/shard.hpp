#pragma once
/// Which shard an entity belongs to. A shard is a partition of the Kafka journal topic, so the
/// function is Kafka's default partitioner for keyed records: any Kafka client (Java's, or
/// librdkafka's "murmur2" partitioner) puts a record keyed by the entity id on the same
/// partition, and every node of a cluster agrees on the owner of an entity without asking.

#include <cstdint>
#include <string_view>

namespace hibiki {

/// Kafka's murmur2 (Java's org.apache.kafka.common.utils.Utils.murmur2): 32-bit MurmurHash2 with
/// seed 0x9747b28c over little-endian 4-byte blocks.
std::uint32_t murmur2(std::string_view bytes);

/// The shard of `entity` among `shard_count`: (murmur2(entity) & 0x7fffffff) % shard_count, as
/// Kafka's partitioner. 0 when shard_count is not positive.
std::int32_t shard_of(std::string_view entity, std::int32_t shard_count);

}  // namespace hibiki
