// row_memo: a row is decoded once per distinct text under its key; a changed text is decoded
// again, errors are not remembered, and a full memo starts over.

#include <catch2/catch.hpp>

#include "hibiki/core/read_model.hpp"
#include "row_memo.hpp"

using namespace hibiki;

namespace {

int decodes = 0;

result<read_model::room_summary> counting_decode(std::string_view text) {
  ++decodes;
  return read_model::decode_room_summary(text);
}

std::string summary_text(std::uint64_t room, std::string name, std::uint64_t last) {
  return read_model::encode(
      read_model::room_summary{room_id{room}, std::move(name), last, message_id{last}, {}});
}

}  // namespace

TEST_CASE("row_memo decodes a row again only when its text changed", "[row_memo]") {
  decodes = 0;
  actors::row_memo<read_model::room_summary> memo(3, &counting_decode);
  const auto a1 = summary_text(1, "a", 1);
  auto first = memo.get("k1", a1);
  REQUIRE(first.ok());
  CHECK((*first)->name == "a");
  CHECK(decodes == 1);
  auto again = memo.get("k1", a1);
  REQUIRE(again.ok());
  CHECK((*again)->name == "a");
  CHECK(decodes == 1);
  // The row changed in the store: its new text is decoded, never the old row returned.
  auto changed = memo.get("k1", summary_text(1, "a", 2));
  REQUIRE(changed.ok());
  CHECK((*changed)->last_message == message_id{2});
  CHECK(decodes == 2);
  CHECK(memo.size() == 1);
  // A bad row is an error each time it is read.
  CHECK_FALSE(memo.get("k2", "not json").ok());
  CHECK_FALSE(memo.get("k2", "not json").ok());
  CHECK(decodes == 4);
  CHECK(memo.size() == 1);
  // Past its capacity the memo starts over, and still answers right.
  CHECK(memo.get("k2", summary_text(2, "b", 1)).ok());
  CHECK(memo.get("k3", summary_text(3, "c", 1)).ok());
  CHECK(memo.size() == 3);
  auto fourth = memo.get("k4", summary_text(4, "d", 1));
  REQUIRE(fourth.ok());
  CHECK((*fourth)->name == "d");
  CHECK(memo.size() == 1);
  auto back = memo.get("k1", summary_text(1, "a", 2));
  REQUIRE(back.ok());
  CHECK((*back)->last_message == message_id{2});
  CHECK(decodes == 8);
}
