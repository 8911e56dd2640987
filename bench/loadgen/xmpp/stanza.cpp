#include "stanza.hpp"

#include <expat.h>

#include <charconv>
#include <memory>

namespace hibiki::bench::xmpp {
namespace {

constexpr std::string_view stanzas_ns = "urn:ietf:params:xml:ns:xmpp-stanzas";
constexpr std::string_view streams_ns = "urn:ietf:params:xml:ns:xmpp-streams";
/// Deeper than any stanza the load run sees; a cap so a hostile frame cannot grow the stack.
constexpr std::size_t max_depth = 32;

struct tree_builder {
  std::vector<element> open;  ///< the elements not closed yet, outermost first
  std::optional<element> root;
  std::string error;
};

void XMLCALL on_start(void* data, const XML_Char* name, const XML_Char** attrs) {
  auto& b = *static_cast<tree_builder*>(data);
  if (b.open.size() >= max_depth) {
    b.error = "elements nested deeper than " + std::to_string(max_depth);
    return;
  }
  element e;
  e.name = name;
  for (auto a = attrs; a[0] != nullptr; a += 2) e.attributes.emplace_back(a[0], a[1]);
  b.open.push_back(std::move(e));
}

void XMLCALL on_end(void* data, const XML_Char*) {
  auto& b = *static_cast<tree_builder*>(data);
  if (b.open.empty()) return;  // after a depth error: the element was never opened
  element done = std::move(b.open.back());
  b.open.pop_back();
  if (b.open.empty()) {
    b.root = std::move(done);
  } else {
    b.open.back().children.push_back(std::move(done));
  }
}

void XMLCALL on_text(void* data, const XML_Char* s, int len) {
  auto& b = *static_cast<tree_builder*>(data);
  if (!b.open.empty()) b.open.back().text.append(s, static_cast<std::size_t>(len));
}

struct parser_deleter {
  void operator()(XML_Parser p) const { XML_ParserFree(p); }
};
using parser_ptr = std::unique_ptr<std::remove_pointer_t<XML_Parser>, parser_deleter>;

/// The defined condition of an <error/> or <stream:error/>: its child in the given namespace
/// (other children, such as <text/>, are not the condition).
std::string condition_of(const element& error, std::string_view ns) {
  for (const auto& c : error.children) {
    if (c.attribute("xmlns") == ns && c.local_name() != "text") return std::string(c.local_name());
  }
  return {};
}

/// The stanza error of `root` (RFC 6120 section 8.3): `condition` is filled, or `problem` says
/// why not.
bool stanza_error(const element& root, event& ev, std::string& problem) {
  const auto* error = root.child("error");
  if (error == nullptr) {
    problem = root.name + " of type error without an <error/> child";
    return false;
  }
  ev.condition = condition_of(*error, stanzas_ns);
  if (ev.condition.empty()) {
    problem = root.name + " error without a defined condition";
    return false;
  }
  return true;
}

std::string attr_or_empty(const element& e, std::string_view key) {
  return std::string(e.attribute(key).value_or(""));
}

}  // namespace

std::string_view element::local_name() const {
  std::string_view n = name;
  const auto colon = n.find(':');
  return colon == std::string_view::npos ? n : n.substr(colon + 1);
}

std::optional<std::string_view> element::attribute(std::string_view key) const {
  for (const auto& [k, v] : attributes) {
    if (k == key) return std::string_view(v);
  }
  return std::nullopt;
}

const element* element::child(std::string_view local) const {
  for (const auto& c : children) {
    if (c.local_name() == local) return &c;
  }
  return nullptr;
}

parse_result parse_frame(std::string_view frame) {
  if (frame.empty()) return {std::nullopt, "empty frame"};
  // One parser per thread, reset for each frame: creating one costs more than the parse.
  thread_local parser_ptr parser;
  if (!parser) {
    parser.reset(XML_ParserCreate("UTF-8"));
  } else {
    XML_ParserReset(parser.get(), "UTF-8");
  }
  if (!parser) return {std::nullopt, "cannot create an XML parser"};
  tree_builder b;
  XML_SetUserData(parser.get(), &b);
  XML_SetElementHandler(parser.get(), on_start, on_end);
  XML_SetCharacterDataHandler(parser.get(), on_text);
  const auto status =
      XML_Parse(parser.get(), frame.data(), static_cast<int>(frame.size()), XML_TRUE);
  if (status != XML_STATUS_OK) {
    const auto code = XML_GetErrorCode(parser.get());
    return {std::nullopt, "not well-formed XML at column " +
                              std::to_string(XML_GetCurrentColumnNumber(parser.get()) + 1) + ": " +
                              XML_ErrorString(code)};
  }
  if (!b.error.empty()) return {std::nullopt, b.error};
  if (!b.root) return {std::nullopt, "no element in the frame"};
  return {std::move(b.root), {}};
}

classify_result classify(const element& root) {
  event ev;
  const auto name = root.local_name();
  const auto type = root.attribute("type").value_or("");
  std::string problem;
  if (name == "open") {
    ev.kind = event_kind::stream_open;
  } else if (name == "close") {
    ev.kind = event_kind::stream_close;
  } else if (name == "features") {
    ev.kind = event_kind::stream_features;
  } else if (name == "error" && root.name.find(':') != std::string::npos) {
    // <stream:error/>: the stream is over.
    ev.kind = event_kind::stream_error;
    ev.condition = condition_of(root, streams_ns);
    if (ev.condition.empty()) return {std::nullopt, "stream error without a defined condition"};
  } else if (name == "success") {
    ev.kind = event_kind::sasl_success;
  } else if (name == "failure") {
    ev.kind = event_kind::sasl_failure;
    for (const auto& c : root.children) {
      if (c.local_name() != "text") ev.condition = std::string(c.local_name());
    }
    if (ev.condition.empty()) return {std::nullopt, "SASL failure without a condition"};
  } else if (name == "iq") {
    ev.id = attr_or_empty(root, "id");
    if (ev.id.empty()) return {std::nullopt, "iq without an id"};
    if (type == "result") {
      ev.kind = event_kind::iq_result;
      if (const auto* bind = root.child("bind")) {
        if (const auto* jid = bind->child("jid")) ev.text = jid->text;
      }
    } else if (type == "error") {
      ev.kind = event_kind::iq_error;
      if (!stanza_error(root, ev, problem)) return {std::nullopt, problem};
    } else {
      ev.kind = event_kind::other;  // a request from the server (a ping, ...): not answered
    }
  } else if (name == "presence") {
    ev.from = attr_or_empty(root, "from");
    if (ev.from.empty()) return {std::nullopt, "presence without a from"};
    if (type == "error") {
      ev.kind = event_kind::presence_error;
      if (!stanza_error(root, ev, problem)) return {std::nullopt, problem};
    } else {
      ev.kind = event_kind::presence;
      if (const auto* x = root.child("x")) {
        for (const auto& c : x->children) {
          if (c.local_name() != "status") continue;
          int code = 0;
          const auto v = c.attribute("code").value_or("");
          auto [end, ec] = std::from_chars(v.data(), v.data() + v.size(), code);
          if (ec != std::errc{} || end != v.data() + v.size())
            return {std::nullopt, "presence with a bad status code \"" + std::string(v) + "\""};
          ev.status_codes.push_back(code);
        }
      }
    }
  } else if (name == "message") {
    ev.id = attr_or_empty(root, "id");
    ev.from = attr_or_empty(root, "from");
    if (type == "error") {
      ev.kind = event_kind::message_error;
      if (!stanza_error(root, ev, problem)) return {std::nullopt, problem};
    } else if (type == "groupchat" && root.child("body") != nullptr) {
      ev.kind = event_kind::groupchat;
      if (!split_occupant(ev.from)) {
        return {std::nullopt, "groupchat message without an occupant from (\"" + ev.from + "\")"};
      }
      ev.text = root.child("body")->text;
    } else {
      ev.kind = event_kind::other;  // a subject change, a headline, ...
    }
  } else {
    return {std::nullopt, "unexpected element <" + root.name + ">"};
  }
  return {std::move(ev), {}};
}

classify_result read_frame(std::string_view frame) {
  auto parsed = parse_frame(frame);
  if (!parsed.root) return {std::nullopt, std::move(parsed.error)};
  return classify(*parsed.root);
}

std::optional<std::pair<std::string_view, std::string_view>> split_occupant(std::string_view jid) {
  const auto slash = jid.find('/');
  if (slash == std::string_view::npos || slash == 0 || slash + 1 == jid.size()) return std::nullopt;
  if (jid.substr(0, slash).find('@') == std::string_view::npos) return std::nullopt;
  return std::pair{jid.substr(0, slash), jid.substr(slash + 1)};
}

std::string escape(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (const char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      case '"':
        out += "&quot;";
        break;
      case '\'':
        out += "&apos;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

std::string base64(std::string_view bytes) {
  static constexpr char alphabet[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  for (; i + 2 < bytes.size(); i += 3) {
    const auto n = (static_cast<unsigned char>(bytes[i]) << 16) |
                   (static_cast<unsigned char>(bytes[i + 1]) << 8) |
                   static_cast<unsigned char>(bytes[i + 2]);
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += alphabet[(n >> 6) & 63];
    out += alphabet[n & 63];
  }
  if (const auto rest = bytes.size() - i; rest > 0) {
    auto n = static_cast<unsigned>(static_cast<unsigned char>(bytes[i])) << 16;
    if (rest == 2) n |= static_cast<unsigned>(static_cast<unsigned char>(bytes[i + 1])) << 8;
    out += alphabet[(n >> 18) & 63];
    out += alphabet[(n >> 12) & 63];
    out += rest == 2 ? alphabet[(n >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

std::string open_stream(std::string_view domain) {
  return R"(<open xmlns="urn:ietf:params:xml:ns:xmpp-framing" to=")" + escape(domain) +
         R"(" version="1.0"/>)";
}

std::string close_stream() {
  return R"(<close xmlns="urn:ietf:params:xml:ns:xmpp-framing"/>)";
}

std::string register_account(std::string_view id, std::string_view user,
                             std::string_view password) {
  return R"(<iq type="set" id=")" + escape(id) +
         R"("><query xmlns="jabber:iq:register"><username>)" + escape(user) +
         "</username><password>" + escape(password) + "</password></query></iq>";
}

std::string auth_plain(std::string_view user, std::string_view password) {
  std::string payload;
  payload += '\0';
  payload += user;
  payload += '\0';
  payload += password;
  return R"(<auth xmlns="urn:ietf:params:xml:ns:xmpp-sasl" mechanism="PLAIN">)" + base64(payload) +
         "</auth>";
}

std::string bind_resource(std::string_view id, std::string_view resource) {
  return R"(<iq type="set" id=")" + escape(id) +
         R"("><bind xmlns="urn:ietf:params:xml:ns:xmpp-bind"><resource>)" + escape(resource) +
         "</resource></bind></iq>";
}

std::string join_room(std::string_view room_jid, std::string_view nick) {
  return R"(<presence to=")" + escape(room_jid) + "/" + escape(nick) +
         R"("><x xmlns="http://jabber.org/protocol/muc"><history maxstanzas="0"/></x></presence>)";
}

std::string instant_room(std::string_view id, std::string_view room_jid) {
  return R"(<iq type="set" id=")" + escape(id) + R"(" to=")" + escape(room_jid) +
         R"("><query xmlns="http://jabber.org/protocol/muc#owner">)"
         R"(<x xmlns="jabber:x:data" type="submit"/></query></iq>)";
}

std::string groupchat(std::string_view room_jid, std::string_view id, std::string_view body) {
  return R"(<message to=")" + escape(room_jid) + R"(" type="groupchat" id=")" + escape(id) +
         R"("><body>)" + escape(body) + "</body></message>";
}

}  // namespace hibiki::bench::xmpp
