/// Inputs that broke core when run through the fuzz targets (tests/fuzz), kept as tests once
/// fixed. Each input is also in its target's seed corpus (tests/fuzz/corpus/TARGET/regression-*).

#include <catch2/catch.hpp>

#include <cstdint>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"

using namespace hibiki;

namespace {

/// `depth` nested one-element CBOR arrays around a 0: one byte per level.
codec::bytes nested_arrays(std::size_t depth) {
  codec::bytes out(depth, 0x81);
  out.push_back(0x00);
  return out;
}

/// A valid room.read_marked event with an extra field nested `depth` arrays deep.
codec::bytes read_marked_with_extra(std::size_t depth) {
  nlohmann::json extra = 0;
  for (std::size_t i = 0; i < depth; ++i) extra = nlohmann::json::array({std::move(extra)});
  const nlohmann::json doc{
      {"t", "room.read_marked"}, {"v", 1}, {"account", 2}, {"up_to", 1}, {"extra", extra}};
  return nlohmann::json::to_cbor(doc);
}

/// The error message of a refused decode ("accepted" when it was not refused).
template <class T>
std::string refusal(const result<T>& r) {
  return r.ok() ? std::string("accepted") : r.error().message;
}

}  // namespace

TEST_CASE("deeply nested CBOR is refused, not a stack overflow", "[codec][fuzz]") {
  // A hand-made input run through fuzz_event_codec (libFuzzer's mutations had not reached it):
  // nlohmann's CBOR reader recursed once per level, so 4,000 levels overflowed the stack under
  // ASan and 100,000 (a 100 KB journal record) crashed a release build with SIGSEGV.
  for (const std::size_t depth : {4000, 100000, 1000000}) {
    INFO(depth);
    const auto bytes = nested_arrays(depth);
    for (const auto& message :
         {refusal(codec::decode_room_event(bytes)), refusal(codec::decode_user_event(bytes)),
          refusal(codec::decode_room_snapshot(bytes)), refusal(codec::decode_user_snapshot(bytes)),
          refusal(codec::event_type(bytes))}) {
      REQUIRE(message == "CBOR nested deeper than 32 levels");
    }
  }
}

TEST_CASE("CBOR nesting up to the bound still decodes", "[codec][fuzz]") {
  // The outer map is level 1: an extra field of 31 arrays reaches the bound of 32 exactly.
  const auto at_bound = codec::decode_room_event(read_marked_with_extra(31));
  REQUIRE(at_bound.ok());
  REQUIRE(std::get<room::read_marked>(*at_bound).up_to == message_id{1});

  const auto past_bound = codec::decode_room_event(read_marked_with_extra(32));
  REQUIRE_FALSE(past_bound.ok());
  REQUIRE(past_bound.error().code == errc::bad_request);
}
