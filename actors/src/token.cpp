#include "token.hpp"

#include <openssl/sha.h>
#include <sys/random.h>

#include <array>
#include <cerrno>
#include <cstdint>
#include <cstring>
#include <stdexcept>
#include <string>

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

/// `bytes` bytes from the kernel's CSPRNG (getrandom(2), blocking until it is seeded, which is
/// only ever at early boot). A failure is not papered over with a weaker source: it throws.
std::string random_hex(std::size_t bytes) {
  std::array<unsigned char, 64> raw{};
  if (bytes > raw.size()) throw std::logic_error("random_hex: too many bytes");
  std::size_t got = 0;
  while (got < bytes) {
    const auto n = ::getrandom(raw.data() + got, bytes - got, 0);
    if (n < 0) {
      if (errno == EINTR) continue;
      throw std::runtime_error(std::string("getrandom failed: ") + std::strerror(errno));
    }
    got += static_cast<std::size_t>(n);
  }
  return hex(raw.data(), bytes);
}

}  // namespace

std::string random_token() {
  return random_hex(32);
}

std::string random_object_key(std::uint64_t room) {
  return "rooms/" + std::to_string(room) + "/" + random_hex(16);
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
