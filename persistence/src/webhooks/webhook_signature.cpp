/// The webhook secret and signature (Chatwork's scheme) and the retry delays: small pure pieces,
/// on OpenSSL's base64, RAND_bytes and HMAC.
#include <openssl/evp.h>
#include <openssl/hmac.h>
#include <openssl/rand.h>

#include <array>

#include "hibiki/persistence/webhooks.hpp"

namespace hibiki::persistence {

std::string base64_encode(std::string_view bytes) {
  std::string out(4 * ((bytes.size() + 2) / 3), '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(bytes.data()),
                                static_cast<int>(bytes.size()));
  out.resize(static_cast<std::size_t>(n));
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  if (text.empty()) return std::string{};
  std::string out(3 * (text.size() / 4), '\0');
  // EVP_DecodeBlock keeps the padding's zero bytes: they are cut below.
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(out.data()),
                                reinterpret_cast<const unsigned char*>(text.data()),
                                static_cast<int>(text.size()));
  if (n < 0) return std::nullopt;
  std::size_t size = static_cast<std::size_t>(n);
  if (text.back() == '=') --size;
  if (text.size() >= 2 && text[text.size() - 2] == '=') --size;
  out.resize(size);
  return out;
}

result<std::string> new_webhook_token() {
  std::array<unsigned char, 32> secret{};
  if (RAND_bytes(secret.data(), static_cast<int>(secret.size())) != 1) {
    return hibiki::error{errc::internal, "no randomness for a webhook secret"};
  }
  return base64_encode(
      std::string_view(reinterpret_cast<const char*>(secret.data()), secret.size()));
}

result<std::string> webhook_signature(std::string_view token, std::string_view body) {
  auto key = base64_decode(token);
  if (!key) return hibiki::error{errc::internal, "a webhook token is not base64"};
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int size = 0;
  if (HMAC(EVP_sha256(), key->data(), static_cast<int>(key->size()),
           reinterpret_cast<const unsigned char*>(body.data()), body.size(), mac.data(),
           &size) == nullptr) {
    return hibiki::error{errc::internal, "HMAC-SHA256 failed"};
  }
  return base64_encode(std::string_view(reinterpret_cast<const char*>(mac.data()), size));
}

std::chrono::milliseconds webhook_backoff(std::uint32_t failures, std::chrono::milliseconds initial,
                                          std::chrono::milliseconds max) {
  if (failures == 0 || initial.count() <= 0) return std::chrono::milliseconds{0};
  auto delay = initial;
  for (std::uint32_t i = 1; i < failures && delay < max; ++i) delay *= 2;
  return std::min(delay, max);
}

}  // namespace hibiki::persistence
