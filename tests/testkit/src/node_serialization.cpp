#include "hibiki/testkit/node_serialization.hpp"

namespace hibiki::testkit {

namespace {
constexpr std::size_t shown = 300;
}

std::string printable(std::string_view text) {
  if (text.size() <= shown) return std::string(text);
  return std::string(text.substr(0, shown)) + "... (" + std::to_string(text.size()) + " bytes)";
}

std::string printable(std::span<const std::uint8_t> bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string out;
  for (std::size_t i = 0; i < bytes.size() && i < shown / 2; ++i) {
    out += digits[bytes[i] >> 4];
    out += digits[bytes[i] & 0xf];
  }
  if (bytes.size() > shown / 2) out += "...";
  return out + " (" + std::to_string(bytes.size()) + " bytes)";
}

std::string printable(const wire_reply& reply) {
  std::string out = "{code " + std::to_string(reply.code) + ", message \"" +
                    printable(std::string_view(reply.message)) + "\", fields " +
                    printable(std::span<const std::uint8_t>(reply.fields)) + ", then [";
  for (std::size_t i = 0; i < reply.then.size(); ++i) out += (i ? ", " : "") + reply.then[i];
  return out + "]}";
}

}  // namespace hibiki::testkit
