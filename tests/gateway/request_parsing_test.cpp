// Splitting request targets and reading the sign-up body, without a socket. The fuzz target
// tests/fuzz/fuzz_http_request.cpp runs the same functions on arbitrary bytes.

#include <catch2/catch.hpp>

#include <string>
#include <vector>

#include "request_parsing.hpp"

using hibiki::errc;
using hibiki::gateway::parse_signup_body;
using hibiki::gateway::split_target;

TEST_CASE("targets split into path and query", "[gateway][parsing]") {
  auto p = split_target("/api/signup");
  REQUIRE(p.path == "/api/signup");
  REQUIRE(p.query.empty());

  p = split_target("/ws?room=1&x=2");
  REQUIRE(p.path == "/ws");
  REQUIRE(p.query == "room=1&x=2");

  p = split_target("/index.html?a=1#top");
  REQUIRE(p.path == "/index.html");
  REQUIRE(p.query == "a=1");

  // A '?' after the fragment belongs to the fragment.
  p = split_target("/a#frag?notquery");
  REQUIRE(p.path == "/a");
  REQUIRE(p.query.empty());

  p = split_target("?only");
  REQUIRE(p.path.empty());
  REQUIRE(p.query == "only");

  p = split_target("");
  REQUIRE(p.path.empty());
  REQUIRE(p.query.empty());
}

TEST_CASE("a sign-up body yields the name", "[gateway][parsing]") {
  auto name = parse_signup_body(R"({"name":"alice"})");
  REQUIRE(name);
  REQUIRE(*name == "alice");

  // Other fields are ignored; the name is checked by the user aggregate, not here.
  name = parse_signup_body(R"({"extra":[1,2],"name":""})");
  REQUIRE(name);
  REQUIRE(name->empty());

  name = parse_signup_body(R"({"name":"\u00e9l\u00e8ve"})");
  REQUIRE(name);
  REQUIRE(*name == "\xc3\xa9l\xc3\xa8ve");
}

TEST_CASE("bad sign-up bodies are bad_request with the client's message", "[gateway][parsing]") {
  const std::vector<std::string> bodies = {"",
                                           "not json",
                                           "[]",
                                           "\"alice\"",
                                           "null",
                                           "{\"name\":1}",
                                           "{\"nom\":\"alice\"}",
                                           "{\"name\":null}",
                                           "{\"name\":\"a\"",
                                           "{\"name\":\"\xff\"}",
                                           std::string(100000, '[')};
  for (const auto& body : bodies) {
    INFO(body.substr(0, 40));
    auto name = parse_signup_body(body);
    REQUIRE_FALSE(name);
    REQUIRE(name.error().code == errc::bad_request);
    REQUIRE_FALSE(name.error().message.empty());
  }
  REQUIRE(parse_signup_body("[]").error().message == "the body must be a JSON object");
  REQUIRE(parse_signup_body("{}").error().message == "missing string field \"name\"");
}
