/// The load generator's XMPP frames (RFC 7395): what it sends is well-formed and escapes what it
/// must, what it receives is parsed and classified, and a frame it cannot use is an error that
/// says why (never an event the load run would count).
#include <catch2/catch.hpp>

#include <string>

#include "stanza.hpp"

using namespace hibiki::bench::xmpp;

namespace {

event read_ok(std::string_view frame) {
  auto r = read_frame(frame);
  INFO(std::string(frame) << " -> " << r.error);
  REQUIRE(r.value);
  REQUIRE(r.error.empty());
  return *r.value;
}

std::string read_error(std::string_view frame) {
  auto r = read_frame(frame);
  INFO(std::string(frame));
  REQUIRE_FALSE(r.value);
  REQUIRE_FALSE(r.error.empty());
  return r.error;
}

}  // namespace

TEST_CASE("client frames parse back to what was built", "[xmpp]") {
  auto open = parse_frame(open_stream("example.org"));
  REQUIRE(open.root);
  CHECK(open.root->name == "open");
  CHECK(open.root->attribute("xmlns") == "urn:ietf:params:xml:ns:xmpp-framing");
  CHECK(open.root->attribute("to") == "example.org");
  CHECK(open.root->attribute("version") == "1.0");

  auto msg = parse_frame(groupchat("r1@conference.example.org", "42", "lg:t=7 a<b & \"c'"));
  REQUIRE(msg.root);
  CHECK(msg.root->attribute("type") == "groupchat");
  CHECK(msg.root->attribute("id") == "42");
  REQUIRE(msg.root->child("body"));
  CHECK(msg.root->child("body")->text == "lg:t=7 a<b & \"c'");

  auto join = parse_frame(join_room("r1@conference.example.org", "alice"));
  REQUIRE(join.root);
  CHECK(join.root->attribute("to") == "r1@conference.example.org/alice");
  REQUIRE(join.root->child("x"));
  CHECK(join.root->child("x")->attribute("xmlns") == "http://jabber.org/protocol/muc");
  CHECK(join.root->child("x")->child("history")->attribute("maxstanzas") == "0");

  auto reg = parse_frame(register_account("reg", "bob", "p<w>"));
  REQUIRE(reg.root);
  const auto* query = reg.root->child("query");
  REQUIRE(query);
  CHECK(query->child("username")->text == "bob");
  CHECK(query->child("password")->text == "p<w>");

  auto bind = parse_frame(bind_resource("b1", "lg"));
  REQUIRE(bind.root);
  CHECK(bind.root->child("bind")->child("resource")->text == "lg");

  auto config = parse_frame(instant_room("c1", "r1@conference.example.org"));
  REQUIRE(config.root);
  CHECK(config.root->child("query")->child("x")->attribute("type") == "submit");

  CHECK(parse_frame(close_stream()).root->name == "close");
}

TEST_CASE("SASL PLAIN carries NUL user NUL password in base64", "[xmpp]") {
  CHECK(base64("") == "");
  CHECK(base64("f") == "Zg==");
  CHECK(base64("fo") == "Zm8=");
  CHECK(base64("foo") == "Zm9v");
  CHECK(base64("foobar") == "Zm9vYmFy");
  auto auth = parse_frame(auth_plain("alice", "pw"));
  REQUIRE(auth.root);
  CHECK(auth.root->attribute("mechanism") == "PLAIN");
  CHECK(auth.root->text == base64(std::string("\0alice\0pw", 9)));
  CHECK(auth.root->text == "AGFsaWNlAHB3");
}

TEST_CASE("escape replaces the five XML special characters", "[xmpp]") {
  CHECK(escape("a&b<c>d\"e'f") == "a&amp;b&lt;c&gt;d&quot;e&apos;f");
  CHECK(escape("plain") == "plain");
}

TEST_CASE("server frames are classified", "[xmpp]") {
  CHECK(read_ok("<open xmlns='urn:ietf:params:xml:ns:xmpp-framing' id='1' version='1.0' "
                "from='localhost'/>")
            .kind == event_kind::stream_open);
  CHECK(read_ok("<stream:features xmlns:stream='http://etherx.jabber.org/streams'><bind "
                "xmlns='urn:ietf:params:xml:ns:xmpp-bind'/></stream:features>")
            .kind == event_kind::stream_features);
  CHECK(read_ok("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>").kind ==
        event_kind::sasl_success);

  auto failure = read_ok(
      "<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'><not-authorized/><text>Invalid "
      "username or password</text></failure>");
  CHECK(failure.kind == event_kind::sasl_failure);
  CHECK(failure.condition == "not-authorized");

  auto bound = read_ok(
      "<iq xmlns='jabber:client' type='result' id='bind'><bind "
      "xmlns='urn:ietf:params:xml:ns:xmpp-bind'><jid>a@localhost/lg</jid></bind></iq>");
  CHECK(bound.kind == event_kind::iq_result);
  CHECK(bound.id == "bind");
  CHECK(bound.text == "a@localhost/lg");

  auto conflict = read_ok(
      "<iq type='error' id='reg'><error type='cancel'><conflict "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/><text "
      "xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'>exists</text></error></iq>");
  CHECK(conflict.kind == event_kind::iq_error);
  CHECK(conflict.condition == "conflict");

  auto self = read_ok(
      "<presence to='a@localhost/lg' from='r1@conference.localhost/a'><x "
      "xmlns='http://jabber.org/protocol/muc#user'><item role='moderator'/><status "
      "code='201'/><status code='110'/></x></presence>");
  CHECK(self.kind == event_kind::presence);
  CHECK(self.from == "r1@conference.localhost/a");
  CHECK(self.status_codes == std::vector<int>{201, 110});

  auto message = read_ok(
      "<message xmlns='jabber:client' to='b@localhost/lg' from='r1@conference.localhost/a' "
      "type='groupchat' id='17'><body>lg:t=123 &amp;x</body></message>");
  CHECK(message.kind == event_kind::groupchat);
  CHECK(message.id == "17");
  CHECK(message.text == "lg:t=123 &x");
  const auto occupant = split_occupant(message.from);
  REQUIRE(occupant);
  CHECK(occupant->first == "r1@conference.localhost");
  CHECK(occupant->second == "a");

  auto refused = read_ok(
      "<message type='error' id='9' from='r1@conference.localhost'><error type='wait'>"
      "<resource-constraint xmlns='urn:ietf:params:xml:ns:xmpp-stanzas'/></error></message>");
  CHECK(refused.kind == event_kind::message_error);
  CHECK(refused.id == "9");
  CHECK(refused.condition == "resource-constraint");

  auto stream_error = read_ok(
      "<stream:error xmlns:stream='http://etherx.jabber.org/streams'><policy-violation "
      "xmlns='urn:ietf:params:xml:ns:xmpp-streams'/></stream:error>");
  CHECK(stream_error.kind == event_kind::stream_error);
  CHECK(stream_error.condition == "policy-violation");

  // A subject change (groupchat without body) and a server request are ignored, not errors.
  CHECK(read_ok("<message from='r1@conference.localhost' type='groupchat'><subject/></message>")
            .kind == event_kind::other);
  CHECK(read_ok("<iq type='get' id='p1'><ping xmlns='urn:xmpp:ping'/></iq>").kind ==
        event_kind::other);
}

TEST_CASE("frames that are not well-formed XML are errors that say where", "[xmpp]") {
  CHECK(read_error("") == "empty frame");
  CHECK(read_error("<message><body>x</message>").find("not well-formed XML at column") == 0);
  CHECK(read_error("<message><body>x</message>").find("mismatched tag") != std::string::npos);
  CHECK(read_error("<a/><b/>").find("junk after document element") != std::string::npos);
  CHECK(read_error("just text").find("not well-formed") == 0);
  CHECK(read_error("<message type='groupchat'><body>").find("not well-formed") == 0);
  CHECK(read_error("<message>&undefined;</message>").find("undefined entity") != std::string::npos);
  std::string deep;
  for (int i = 0; i < 40; ++i) deep += "<x>";
  for (int i = 0; i < 40; ++i) deep += "</x>";
  CHECK(read_error(deep).find("nested deeper") != std::string::npos);
}

TEST_CASE("stanzas missing what the load run needs are errors that say what", "[xmpp]") {
  CHECK(read_error("<iq type='result'/>") == "iq without an id");
  CHECK(read_error("<iq type='error' id='x'/>") == "iq of type error without an <error/> child");
  CHECK(read_error("<iq type='error' id='x'><error type='cancel'><text>?</text></error></iq>") ==
        "iq error without a defined condition");
  CHECK(read_error("<message type='groupchat' id='1'><body>lg:t=1</body></message>")
            .find("groupchat message without an occupant from") == 0);
  CHECK(read_error("<message type='groupchat' from='r1@conference.localhost'>"
                   "<body>lg:t=1</body></message>")
            .find("groupchat message without an occupant from") == 0);
  CHECK(read_error("<presence><x/></presence>") == "presence without a from");
  CHECK(read_error("<presence from='r@c/n'><x><status code='abc'/></x></presence>") ==
        "presence with a bad status code \"abc\"");
  CHECK(read_error("<failure xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>") ==
        "SASL failure without a condition");
  CHECK(read_error("<stream:error xmlns:stream='http://etherx.jabber.org/streams'/>") ==
        "stream error without a defined condition");
  CHECK(read_error("<hello/>") == "unexpected element <hello>");
  // After a bad frame the parser is reset: the next good frame parses.
  CHECK(read_ok("<success xmlns='urn:ietf:params:xml:ns:xmpp-sasl'/>").kind ==
        event_kind::sasl_success);
}

TEST_CASE("split_occupant needs room@service/nick", "[xmpp]") {
  CHECK_FALSE(split_occupant("r1@conference.localhost"));
  CHECK_FALSE(split_occupant("conference.localhost/nick"));
  CHECK_FALSE(split_occupant("r1@conference.localhost/"));
  CHECK(split_occupant("r1@c/n/with/slash")->second == "n/with/slash");
}
