#include "hibiki/cli/url_transfer.hpp"

#include <unistd.h>

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <cerrno>
#include <cstring>
#include <limits>
#include <type_traits>

#include "number_parse.hpp"

namespace hibiki::cli {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;

constexpr std::size_t piece_bytes = 64 * 1024;
constexpr std::size_t max_error_body = 64 * 1024;

error unavailable(std::string message) {
  return error{errc::unavailable, std::move(message)};
}

/// Runs one asynchronous step on `ioc` to completion; the stream's deadline (set before) turns a
/// silent peer into timed_out.
template <class Start>
beast::error_code run_step(net::io_context& ioc, Start start) {
  beast::error_code result = net::error::timed_out;
  start([&result](beast::error_code e, auto&&...) { result = e; });
  ioc.restart();
  ioc.run();
  return result;
}

/// The text between <Tag> and </Tag> in an S3 XML error body, or "".
std::string xml_field(std::string_view body, std::string_view tag) {
  const std::string open = "<" + std::string(tag) + ">";
  const std::string close = "</" + std::string(tag) + ">";
  const auto start = body.find(open);
  if (start == std::string_view::npos) return {};
  const auto end = body.find(close, start);
  if (end == std::string_view::npos) return {};
  return std::string(body.substr(start + open.size(), end - start - open.size()));
}

/// Keeps only printable ASCII and spaces of a store's text, for a terminal.
std::string printable(std::string_view text, std::size_t max) {
  std::string out;
  for (char c : text.substr(0, max)) out.push_back(c >= 0x20 && c < 0x7F ? c : ' ');
  return out;
}

/// Reads an answer's header and body from `stream`: a 200's body to `fd` when `fd` >= 0, any
/// other body (bounded) to error_body.
template <class Stream>
result<transfer_answer> read_answer(net::io_context& ioc, Stream& stream, int fd,
                                    const std::string& sink_name, std::chrono::milliseconds timeout,
                                    const transfer_progress& progress, bool after_failed_write) {
  auto& lowest = beast::get_lowest_layer(stream);
  beast::flat_buffer buffer;
  // Beast reads at most the buffer's free capacity (512 bytes at least) per receive: an empty
  // buffer would mean a system call per 512 bytes of the body.
  buffer.reserve(piece_bytes);
  http::response_parser<http::buffer_body> parser;
  // Streamed, so no limit: the caller checks the size it expects. (Not boost::none: Boost 1.74
  // compares a Content-Length against an empty limit as over it.)
  parser.body_limit(std::numeric_limits<std::uint64_t>::max());
  lowest.expires_after(timeout);
  auto ec = run_step(
      ioc, [&](auto handler) { http::async_read_header(stream, buffer, parser, handler); });
  if (ec) {
    return unavailable((after_failed_write ? "the store closed the connection during the upload: "
                                           : "no answer from the store: ") +
                       ec.message());
  }
  transfer_answer answer;
  answer.status = parser.get().result_int();
  const bool to_fd = answer.status == 200 && fd >= 0;
  std::array<char, piece_bytes> piece{};
  while (!parser.is_done()) {
    parser.get().body().data = piece.data();
    parser.get().body().size = piece.size();
    lowest.expires_after(timeout);
    ec = run_step(ioc, [&](auto handler) { http::async_read(stream, buffer, parser, handler); });
    if (ec == http::error::need_buffer) ec = {};
    if (ec) return unavailable("the store's answer was cut short: " + ec.message());
    const auto n = piece.size() - parser.get().body().size;
    if (to_fd) {
      std::size_t done = 0;
      while (done < n) {
        const auto w = ::write(fd, piece.data() + done, n - done);
        if (w < 0 && errno == EINTR) continue;
        if (w < 0)
          return error{errc::internal, "cannot write " + sink_name + ": " + std::strerror(errno)};
        done += static_cast<std::size_t>(w);
      }
      answer.bytes += n;
      if (progress) progress(answer.bytes);
    } else {
      answer.error_body.append(piece.data(),
                               std::min(n, max_error_body - answer.error_body.size()));
      if (answer.error_body.size() >= max_error_body) break;
    }
  }
  return answer;
}

/// Connects to the URL's host (over TLS for https://) and hands the ready stream to `talk`.
template <class Talk>
result<transfer_answer> with_stream(const transfer_url& url, const client_tls_options& tls,
                                    std::chrono::milliseconds timeout, Talk&& talk) {
  net::io_context ioc;
  const std::string where = url.authority;
  tcp::resolver resolver(ioc);
  tcp::resolver::results_type endpoints;
  auto ec = run_step(ioc, [&](auto handler) {
    resolver.async_resolve(
        url.host, url.port,
        [&, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
          endpoints = std::move(r);
          handler(e);
        });
  });
  if (ec) return unavailable("cannot resolve the store's host " + url.host + ": " + ec.message());
  if (url.tls) {
    auto ctx = make_client_tls_context(tls);
    if (!ctx) return ctx.error();
    beast::ssl_stream<beast::tcp_stream> stream(ioc, **ctx);
    if (auto st = prepare_tls_connection(stream.native_handle(), url.host, tls.insecure); !st)
      return st.error();
    auto& lowest = beast::get_lowest_layer(stream);
    lowest.expires_after(timeout);
    ec = run_step(ioc, [&](auto handler) { lowest.async_connect(endpoints, handler); });
    if (ec) return unavailable("cannot reach the store at " + where + ": " + ec.message());
    lowest.expires_after(timeout);
    ec = run_step(
        ioc, [&](auto handler) { stream.async_handshake(net::ssl::stream_base::client, handler); });
    if (ec) return unavailable(tls_handshake_failure(stream.native_handle(), ec, where));
    return talk(ioc, stream);
  }
  beast::tcp_stream stream(ioc);
  stream.expires_after(timeout);
  ec = run_step(ioc, [&](auto handler) { stream.async_connect(endpoints, handler); });
  if (ec) return unavailable("cannot reach the store at " + where + ": " + ec.message());
  return talk(ioc, stream);
}

}  // namespace

result<transfer_url> parse_transfer_url(std::string_view url) {
  auto bad = [&](std::string why) {
    return result<transfer_url>(errc::bad_request,
                                "not a usable http(s) URL (" + why + "): " + printable(url, 120));
  };
  transfer_url u;
  std::string_view rest;
  if (url.substr(0, 7) == "http://") {
    rest = url.substr(7);
  } else if (url.substr(0, 8) == "https://") {
    rest = url.substr(8);
    u.tls = true;
  } else {
    return bad("expected http:// or https://");
  }
  for (unsigned char c : url)
    if (c <= 0x20 || c >= 0x7F) return bad("spaces or control characters");
  if (url.find('#') != std::string_view::npos) return bad("a fragment");
  const auto path_start = rest.find_first_of("/?");
  const auto authority = rest.substr(0, path_start);
  if (authority.find('@') != std::string_view::npos) return bad("a user part");
  u.authority = std::string(authority);
  std::string_view host = authority;
  std::string_view port = u.tls ? "443" : "80";
  if (!authority.empty() && authority.front() == '[') {
    const auto close = authority.find(']');
    if (close == std::string_view::npos) return bad("an unclosed [");
    host = authority.substr(1, close - 1);
    if (close + 1 < authority.size()) {
      if (authority[close + 1] != ':') return bad("a bad port");
      port = authority.substr(close + 2);
    }
  } else if (const auto colon = authority.rfind(':'); colon != std::string_view::npos) {
    host = authority.substr(0, colon);
    port = authority.substr(colon + 1);
  }
  if (host.empty()) return bad("no host");
  if (!parse_unsigned(port, 65535) || port == "0") return bad("a bad port");
  u.host = std::string(host);
  u.port = std::string(port);
  if (path_start == std::string_view::npos) {
    u.target = "/";
  } else {
    u.target = std::string(rest.substr(path_start));
    if (u.target.front() == '?') u.target.insert(0, "/");
  }
  return u;
}

std::string store_refusal(unsigned status, std::string_view body) {
  std::string text = "HTTP " + std::to_string(status);
  const auto code = xml_field(body, "Code");
  const auto message = xml_field(body, "Message");
  if (!code.empty()) text += " " + printable(code, 100);
  if (!message.empty()) text += ": " + printable(message, 300);
  if (code.empty() && message.empty() && !body.empty()) text += ": " + printable(body, 200);
  return text;
}

result<transfer_answer> put_from_fd(const transfer_url& url, const client_tls_options& tls, int fd,
                                    const std::string& source_name, std::uint64_t size,
                                    const std::string& content_type,
                                    std::chrono::milliseconds step_timeout,
                                    const transfer_progress& progress) {
  return with_stream(
      url, tls, step_timeout, [&](net::io_context& ioc, auto& stream) -> result<transfer_answer> {
        auto& lowest = beast::get_lowest_layer(stream);
        http::request<http::buffer_body> req{http::verb::put, url.target, 11};
        req.set(http::field::host, url.authority);
        req.set(http::field::user_agent, "hibiki-cli");
        req.set(http::field::content_type, content_type);
        req.content_length(size);
        req.body().data = nullptr;
        req.body().size = 0;
        req.body().more = size > 0;
        http::request_serializer<http::buffer_body> serializer{req};
        lowest.expires_after(step_timeout);
        auto ec = run_step(ioc, [&](auto handler) {
          if (req.body().more) return http::async_write_header(stream, serializer, handler);
          http::async_write(stream, serializer, handler);
        });
        if (ec == http::error::need_buffer) ec = {};
        std::array<char, piece_bytes> piece{};
        std::uint64_t sent = 0;
        while (!ec && sent < size) {
          const auto want =
              static_cast<std::size_t>(std::min<std::uint64_t>(piece.size(), size - sent));
          const auto n = ::read(fd, piece.data(), want);
          if (n < 0 && errno == EINTR) continue;
          if (n < 0)
            return error{errc::internal,
                         "cannot read " + source_name + ": " + std::strerror(errno)};
          if (n == 0) {
            // Closing with the body incomplete stores nothing: the store never sees a short object.
            return error{errc::internal, source_name + " became shorter while it was sent (" +
                                             std::to_string(sent) + " of " + std::to_string(size) +
                                             " bytes): nothing was stored"};
          }
          sent += static_cast<std::uint64_t>(n);
          req.body().data = piece.data();
          req.body().size = static_cast<std::size_t>(n);
          req.body().more = sent < size;
          lowest.expires_after(step_timeout);
          ec = run_step(ioc, [&](auto handler) { http::async_write(stream, serializer, handler); });
          if (ec == http::error::need_buffer) ec = {};
          if (!ec && progress) progress(sent);
        }
        // A store that refuses the request (a bad signature, an expired URL) may answer and close
        // before reading the body: the write fails, but its answer says why, so read it anyway.
        auto answer =
            read_answer(ioc, stream, -1, source_name, step_timeout, {}, static_cast<bool>(ec));
        if (!answer && ec) return unavailable("cannot send to the store: " + ec.message());
        if (answer) answer->bytes = sent;
        return answer;
      });
}

result<transfer_answer> get_to_fd(const transfer_url& url, const client_tls_options& tls, int fd,
                                  const std::string& sink_name,
                                  std::chrono::milliseconds step_timeout,
                                  const transfer_progress& progress) {
  return with_stream(
      url, tls, step_timeout, [&](net::io_context& ioc, auto& stream) -> result<transfer_answer> {
        auto& lowest = beast::get_lowest_layer(stream);
        http::request<http::empty_body> req{http::verb::get, url.target, 11};
        req.set(http::field::host, url.authority);
        req.set(http::field::user_agent, "hibiki-cli");
        lowest.expires_after(step_timeout);
        auto ec = run_step(ioc, [&](auto handler) { http::async_write(stream, req, handler); });
        if (ec) return unavailable("cannot send to the store: " + ec.message());
        return read_answer(ioc, stream, fd, sink_name, step_timeout, progress, false);
      });
}

}  // namespace hibiki::cli
