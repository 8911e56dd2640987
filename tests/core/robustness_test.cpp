/// Deterministic pseudo-random garbage for every decoder: none may throw or crash, whatever it is
/// fed. (Seeded, so a failure reproduces.)

#include <catch2/catch.hpp>
#include <random>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;

namespace {

std::vector<std::uint8_t> mutate(std::vector<std::uint8_t> bytes, std::mt19937& rng) {
  std::uniform_int_distribution<int> byte(0, 255);
  const int edits = 1 + static_cast<int>(rng() % 4);
  for (int i = 0; i < edits && !bytes.empty(); ++i) {
    // Positions are drawn from the current size: earlier edits may have shortened the input.
    std::uniform_int_distribution<std::size_t> pos(0, bytes.size() - 1);
    switch (rng() % 3) {
      case 0:
        bytes[pos(rng)] = static_cast<std::uint8_t>(byte(rng));
        break;
      case 1:
        bytes.resize(pos(rng));
        break;
      default:
        bytes.insert(bytes.begin() + static_cast<long>(pos(rng)),
                     static_cast<std::uint8_t>(byte(rng)));
    }
  }
  return bytes;
}

}  // namespace

TEST_CASE("mutated codec input never throws", "[codec][robustness]") {
  std::mt19937 rng(20261126);
  auto s = test::post(test::made_room(), test::bob, "[To:1] hi", "c");
  const std::vector<codec::bytes> seeds = {
      codec::encode(
          room::event{room::message_posted{message_id{1}, test::bob, "x", "c", 1, {test::alice}}}),
      codec::encode(
          room::event{room::room_created{test::room1, "n", "d", test::alice, {test::bob}, 1}}),
      codec::encode(
          user::event{user::account_registered{account_id{1}, "a", std::string(64, 'a'), 1}}),
      codec::encode_snapshot(s),
      codec::encode_snapshot(user::state{account_id{1}, true, "a", "h", 1, false, {}}),
  };
  std::size_t accepted = 0;
  for (int round = 0; round < 3000; ++round) {
    const auto bytes = mutate(seeds[static_cast<std::size_t>(round) % seeds.size()], rng);
    CHECK_NOTHROW([&] {
      accepted += codec::decode_room_event(bytes).ok();
      accepted += codec::decode_user_event(bytes).ok();
      accepted += codec::decode_room_snapshot(bytes).ok();
      accepted += codec::decode_user_snapshot(bytes).ok();
      (void)codec::event_type(bytes);
    }());
  }
  // Some mutations keep the document valid (e.g. a changed letter in a body); most do not.
  CHECK(accepted < 3000);
}

TEST_CASE("mutated request frames never throw", "[protocol][robustness]") {
  std::mt19937 rng(7);
  const std::vector<std::string> seeds = {
      R"({"id":1,"op":"send_message","room_id":5,"body":"hi","client_msg_id":"c"})",
      R"({"id":2,"op":"history","room_id":5,"before":"10","limit":20})",
      R"({"id":3,"op":"sync","since":{"5":3,"6":0}})",
      R"({"id":4,"op":"create_room","name":"n","members":[2,3],"description":"d"})",
  };
  for (int round = 0; round < 3000; ++round) {
    const auto& seed = seeds[static_cast<std::size_t>(round) % seeds.size()];
    const auto bytes = mutate({seed.begin(), seed.end()}, rng);
    const std::string text(bytes.begin(), bytes.end());
    CHECK_NOTHROW([&] {
      auto r = protocol::parse_request(text);
      if (const auto* f = std::get_if<protocol::parse_failure>(&r)) {
        CHECK(f->error.code == errc::bad_request);
        (void)protocol::encode_error(f->id, f->error);
      }
    }());
    CHECK_NOTHROW((void)read_model::decode_room_summary(text));
    CHECK_NOTHROW((void)read_model::decode_member_row(text));
  }
}
