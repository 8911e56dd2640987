#pragma once
/// Account tokens: random, shown once, stored only as their SHA-256.

#include <string>
#include <string_view>

namespace hibiki::actors {

/// 32 bytes from the OS CSPRNG (getrandom), as 64 hex digits. Throws std::runtime_error when
/// the kernel refuses (never falls back to a weaker source).
std::string random_token();
/// Lower-case hex SHA-256 of `text`.
std::string sha256_hex(std::string_view text);
/// 16 random hex digits from the same source: this process incarnation's writer id.
std::string random_writer_id();

}  // namespace hibiki::actors
