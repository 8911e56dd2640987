// Fuzz target: the cluster's command codec (core/src/command_codec.cpp), which decodes the JSON
// text a peer node forwards. The same bytes go through the room and the user decoder; whatever
// decodes must encode to text that decodes to the same command (compared through a second
// encoding, which is deterministic: nlohmann sorts object keys).

#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>

#include "fuzz_check.hpp"
#include "hibiki/core/command_codec.hpp"

namespace {

using namespace hibiki;

template <class Command, class Decode>
void check_round_trip(const result<Command>& decoded, Decode decode) {
  if (!decoded) {
    FUZZ_CHECK(decoded.error().code == errc::bad_request);
    FUZZ_CHECK(!decoded.error().message.empty());
    return;
  }
  const std::string encoded = codec::encode_command(*decoded);
  const auto again = decode(encoded);
  FUZZ_CHECK(again.ok());
  FUZZ_CHECK(again->index() == decoded->index());
  FUZZ_CHECK(codec::encode_command(*again) == encoded);
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view text(reinterpret_cast<const char*>(data), size);
  check_round_trip(codec::decode_room_command(text), codec::decode_room_command);
  check_round_trip(codec::decode_user_command(text), codec::decode_user_command);
  return 0;
}
