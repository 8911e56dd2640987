#include "hibiki/core/shard.hpp"

namespace hibiki {

std::uint32_t murmur2(std::string_view bytes) {
  // Unsigned arithmetic gives Java's wrapping ints.
  const auto* data = reinterpret_cast<const unsigned char*>(bytes.data());
  const std::size_t length = bytes.size();
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

std::int32_t shard_of(std::string_view entity, std::int32_t shard_count) {
  if (shard_count <= 0) return 0;
  return static_cast<std::int32_t>((murmur2(entity) & 0x7fffffff) %
                                   static_cast<std::uint32_t>(shard_count));
}

}  // namespace hibiki
