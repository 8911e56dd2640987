// read_flat_object reads the common rows with a plain scan and leaves the rest to nlohmann's SAX
// parser: on every text (valid rows, odd but valid JSON, and broken texts made from them by
// cutting them short or changing one character) it must answer exactly as the SAX reader alone.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "flat_row.hpp"

using namespace hibiki::detail;

namespace {

constexpr std::string_view names[] = {"room_id", "name", "read_up_to", "pending_mentions", "x"};

struct reading {
  bool ok = false;
  std::vector<flat_field> fields;
};

reading read_with(bool sax, std::string_view text) {
  reading r;
  r.fields.resize(std::size(names));
  r.ok =
      sax ? read_flat_object_sax(text, names, r.fields) : read_flat_object(text, names, r.fields);
  return r;
}

void same_reading(std::string_view text) {
  INFO("text: " << text);
  const auto fast = read_with(false, text);
  const auto sax = read_with(true, text);
  REQUIRE(fast.ok == sax.ok);
  if (!sax.ok) return;
  for (std::size_t i = 0; i < std::size(names); ++i) {
    INFO("field " << names[i]);
    CHECK(fast.fields[i].type == sax.fields[i].type);
    CHECK(fast.fields[i].number == sax.fields[i].number);
    CHECK(fast.fields[i].text == sax.fields[i].text);
    CHECK(fast.fields[i].ids == sax.fields[i].ids);
  }
}

}  // namespace

TEST_CASE("the plain scan of flat rows reads every text as the SAX reader does", "[flat_row]") {
  const std::vector<std::string> texts = {
      R"({"room_id":12,"name":"general","read_up_to":0,"pending_mentions":[],"x":7})",
      R"({"room_id":12,"role":"member","read_up_to":3,"pending_mentions":[4,5],"mytask_num":0})",
      R"(  { "room_id" : 1 , "pending_mentions" : [ 1 , 2 ] , "name" : "a b" }  )",
      "{\"room_id\":\t1,\n\"name\":\r\"\"}",
      R"({"room_id":18446744073709551615,"name":"max"})",
      R"({"room_id":18446744073709551616,"name":"over 64 bits"})",
      R"({"room_id":1,"room_id":2,"name":"a","name":"b","pending_mentions":[1],"pending_mentions":[]})",
      R"({"room_id":1,"name":"caf\u00e9 \"q\""})",
      "{\"room_id\":1,\"name\":\"caf\xc3\xa9\"}",
      "{\"room_id\":1,\"name\":\"bad \xc3\"}",
      R"({"room_id":-1,"name":1.5,"read_up_to":1e3,"pending_mentions":[1,-2],"x":true})",
      R"({"room_id":null,"name":false,"pending_mentions":[[1]],"x":{"room_id":3}})",
      R"({"other":[1,{"a":[2]}],"room_id":0,"read_up_to":00})",
      R"({})",
      R"( {} )",
      R"([])",
      R"("text")",
      "7",
      "",
      R"({"room_id":1,} )",
      R"({"room_id":1}{})",
      R"({"room_id":1} x)",
      R"({"room_id" 1})",
      R"({"pending_mentions":[1,]})",
      R"({"pending_mentions":[,1]})",
  };
  // Each text, each of its prefixes, and each one-character change to one of these.
  const std::string changes = " \"\\-0.e[]{},:n\x01\x80";
  std::size_t variants = 0;
  for (const auto& text : texts) {
    same_reading(text);
    for (std::size_t n = 0; n < text.size(); ++n, ++variants) same_reading(text.substr(0, n));
    for (std::size_t i = 0; i < text.size(); ++i) {
      for (char c : changes) {
        auto changed = text;
        changed[i] = c;
        same_reading(changed);
        ++variants;
      }
    }
  }
  CHECK(variants > 10000);
}
