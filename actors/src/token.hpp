#pragma once
/// Account tokens: random, shown once, stored only as their SHA-256.

#include <cstdint>
#include <string>
#include <string_view>

namespace hibiki::actors {

/// 32 bytes from the OS CSPRNG (getrandom), as 64 hex digits. Throws std::runtime_error when
/// the kernel refuses (never falls back to a weaker source).
std::string random_token();
/// Lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);
/// A shared file's object key: "rooms/ROOM/" and 32 random hex digits (128 bits from the same
/// source), so a key cannot be guessed from the room or file id and never holds a filename.
std::string random_object_key(std::uint64_t room);
/// 16 random hex digits from the same source: this process incarnation's writer id.
std::string random_writer_id();

}  // namespace hibiki::actors
