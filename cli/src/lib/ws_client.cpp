#include "hibiki/cli/ws_client.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <boost/beast/websocket.hpp>
#include <boost/beast/websocket/ssl.hpp>
#include <cstdlib>
#include <fstream>
#include <sstream>

namespace hibiki::cli {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

status fail(std::string message) {
  return status(errc::internal, std::move(message));
}

/// The errc of a wire code ("not_found" → not_found); internal for one this client does not know.
errc code_of(const std::string& wire) {
  for (auto c : {errc::bad_request, errc::unauthenticated, errc::forbidden, errc::not_found,
                 errc::too_large, errc::rate_limited, errc::conflict, errc::unavailable}) {
    if (wire_name(c) == wire) return c;
  }
  return errc::internal;
}

}  // namespace

std::string wire_error(const json& reply) {
  const auto& e =
      reply.contains("error") && reply["error"].is_object() ? reply["error"] : json::object();
  return e.value("code", "error") + ": " + e.value("message", "");
}

ws_connection::ws_connection() = default;
ws_connection::~ws_connection() = default;

template <class F>
auto ws_connection::with_ws(F&& f) {
  return tls_ws_ ? f(*tls_ws_) : f(*plain_ws_);
}

status ws_connection::open(const server_url& url, const client_tls_options& tls) {
  const auto where = url.host + ":" + url.port;
  beast::error_code ec;
  tcp::resolver resolver(ioc_);
  auto results = resolver.resolve(url.host, url.port, ec);
  if (ec) return fail("cannot resolve " + url.host + ": " + ec.message());
  if (url.tls) {
    auto ctx = make_client_tls_context(tls);
    if (!ctx) return ctx.error();
    tls_ctx_ = *ctx;
    tls_ws_ = std::make_unique<tls_ws>(ioc_, *tls_ctx_);
    auto& tls_layer = tls_ws_->next_layer();
    if (auto st = prepare_tls_connection(tls_layer.native_handle(), url.host, tls.insecure); !st)
      return st;
    beast::get_lowest_layer(*tls_ws_).connect(results, ec);
    if (ec) return fail("cannot connect to " + where + ": " + ec.message());
    tls_layer.handshake(net::ssl::stream_base::client, ec);
    if (ec) return fail(tls_handshake_failure(tls_layer.native_handle(), ec, where));
  } else {
    plain_ws_ = std::make_unique<plain_ws>(ioc_);
    beast::get_lowest_layer(*plain_ws_).connect(results, ec);
    if (ec) return fail("cannot connect to " + where + ": " + ec.message());
  }
  return with_ws([&](auto& ws) {
    ws.set_option(websocket::stream_base::decorator([](websocket::request_type& req) {
      req.set(http::field::sec_websocket_protocol, "hibiki.v1");
      req.set(http::field::user_agent, "hibiki-cli");
    }));
    ws.handshake(where, url.path, ec);
    if (ec) {
      return fail("WebSocket handshake failed: " + ec.message() +
                  (url.tls ? "" : plain_to_tls_hint(ec)));
    }
    return status::success();
  });
}

result<json> ws_connection::read() {
  beast::flat_buffer buffer;
  beast::error_code ec;
  with_ws([&](auto& ws) { ws.read(buffer, ec); });
  if (ec == websocket::error::closed) {
    const auto reason = with_ws([](auto& ws) { return ws.reason(); });
    return result<json>(errc::unavailable, "the server closed the connection (" +
                                               std::to_string(static_cast<int>(reason.code)) + " " +
                                               std::string(reason.reason.c_str()) + ")");
  }
  if (ec) return result<json>(errc::unavailable, "connection lost: " + ec.message());
  auto j = json::parse(beast::buffers_to_string(buffer.data()), nullptr, false);
  if (j.is_discarded() || !j.is_object())
    return result<json>(errc::internal, "the server sent a frame that is not a JSON object");
  return j;
}

result<json> ws_connection::call(json req, std::vector<json>* events) {
  const auto id = next_id_++;
  req["id"] = id;
  beast::error_code ec;
  with_ws([&](auto& ws) {
    ws.text(true);
    ws.write(net::buffer(req.dump()), ec);
  });
  if (ec) return result<json>(errc::unavailable, "cannot send: " + ec.message());
  for (;;) {
    auto frame = read();
    if (!frame) return frame;
    if (frame->contains("re") && (*frame)["re"] == id) {
      if (!frame->value("ok", false)) {
        std::string code;
        if (auto e = frame->find("error"); e != frame->end() && e->is_object())
          code = e->value("code", "");
        return result<json>(code_of(code), wire_error(*frame));
      }
      return frame;
    }
    if (events && frame->contains("ev")) events->push_back(std::move(*frame));
  }
}

void ws_connection::close() {
  beast::error_code ignored;
  with_ws([&](auto& ws) { ws.close(websocket::close_code::normal, ignored); });
}

result<std::string> find_token(const client_options& o) {
  if (!o.token.empty()) return o.token;
  if (const char* t = std::getenv("HIBIKI_TOKEN"); t != nullptr && *t != '\0')
    return std::string(t);
  const auto path = token_file_path();
  if (!path.empty()) {
    std::ifstream in(path);
    std::stringstream text;
    if (in) {
      text << in.rdbuf();
      auto token = trim_spaces(text.str());
      if (!token.empty()) return token;
    }
  }
  return result<std::string>(
      errc::unauthenticated,
      "no token: run 'hibiki signup NAME', or pass --token or set HIBIKI_TOKEN");
}

result<std::unique_ptr<ws_connection>> connect_and_auth(const client_options& o,
                                                        const server_url& url) {
  auto token = find_token(o);
  if (!token) return token.error();
  auto c = std::make_unique<ws_connection>();
  if (auto st = c->open(url, o.tls); !st) return st.error();
  auto reply = c->call({{"op", "auth"}, {"token", *token}});
  if (!reply) return error{errc::unauthenticated, "auth failed: " + reply.error().message};
  return c;
}

}  // namespace hibiki::cli
