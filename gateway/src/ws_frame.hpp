#pragma once
/// The header of a server-to-client WebSocket text frame (RFC 6455 5.2), written by hand so that
/// ws_session can put its data frames into the write layer without a Beast write operation per
/// frame. The bytes are the ones Beast writes for the same message on a stream without
/// permessage-deflate and with auto_fragment off: one final frame, opcode text, no mask (a
/// server never masks), the payload length in the shortest of the 7-, 16- and 64-bit forms.

#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace hibiki::gateway {

/// Room for the longest header: 2 bytes plus a 64-bit length.
using ws_frame_header = std::array<char, 10>;

/// Writes the header of a final, unmasked text frame carrying `payload_bytes` into `out`;
/// returns the part of `out` written.
inline std::string_view text_frame_header(std::uint64_t payload_bytes, ws_frame_header& out) {
  out[0] = static_cast<char>(0x81);  // FIN + opcode 1 (text), no RSV bits
  if (payload_bytes <= 125) {
    out[1] = static_cast<char>(payload_bytes);
    return {out.data(), 2};
  }
  if (payload_bytes <= 0xffff) {
    out[1] = 126;
    out[2] = static_cast<char>((payload_bytes >> 8) & 0xff);
    out[3] = static_cast<char>(payload_bytes & 0xff);
    return {out.data(), 4};
  }
  out[1] = 127;
  for (int i = 0; i < 8; ++i)
    out[2 + i] = static_cast<char>((payload_bytes >> (8 * (7 - i))) & 0xff);
  return {out.data(), 10};
}

}  // namespace hibiki::gateway
