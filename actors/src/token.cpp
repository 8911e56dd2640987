#include "token.hpp"

#include <openssl/sha.h>

#include <array>
#include <cstdint>
#include <random>

namespace hibiki::actors {

namespace {

std::string hex(const unsigned char* data, std::size_t n) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  out.reserve(n * 2);
  for (std::size_t i = 0; i < n; ++i) {
    out.push_back(digits[data[i] >> 4]);
    out.push_back(digits[data[i] & 0xf]);
  }
  return out;
}

std::string random_hex(std::size_t bytes) {
  // std::random_device reads the kernel CSPRNG (getrandom / /dev/urandom) on Linux.
  std::random_device rd;
  std::string raw;
  raw.reserve(bytes);
  while (raw.size() < bytes) {
    auto word = rd();
    for (int i = 0; i < 4 && raw.size() < bytes; ++i)
      raw.push_back(static_cast<char>((word >> (8 * i)) & 0xff));
  }
  return hex(reinterpret_cast<const unsigned char*>(raw.data()), raw.size());
}

}  // namespace

std::string random_token() {
  return random_hex(32);
}

std::string random_writer_id() {
  return random_hex(8);
}

std::string sha256_hex(std::string_view text) {
  std::array<unsigned char, SHA256_DIGEST_LENGTH> digest{};
  SHA256(reinterpret_cast<const unsigned char*>(text.data()), text.size(), digest.data());
  return hex(digest.data(), digest.size());
}

}  // namespace hibiki::actors
