#include "hibiki/persistence/s3_store.hpp"

#include <array>
#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/ssl.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <boost/beast/ssl.hpp>
#include <optional>

#include "hibiki/persistence/directory_store.hpp"
#include "object_common.hpp"

namespace hibiki::persistence {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
namespace ssl = net::ssl;
using tcp = net::ip::tcp;

/// How long hibikid's own presigned requests are valid: they are sent at once.
constexpr std::chrono::seconds own_request_ttl{60};
constexpr std::size_t put_piece_bytes = 64 * 1024;

bool valid_bucket(std::string_view b) {
  if (b.size() < 3 || b.size() > 63) return false;
  for (unsigned char c : b) {
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '.')) return false;
  }
  return b.front() != '-' && b.front() != '.' && b.back() != '-' && b.back() != '.';
}

/// What hibikid's own request got back.
struct reply {
  unsigned status = 0;
  std::uint64_t content_length = 0;
  std::string content_type;
  std::string body;  ///< error bodies only (bounded)
};

/// The first <Code> of an S3 XML error body, for messages.
std::string s3_code(const std::string& body) {
  const auto start = body.find("<Code>");
  const auto end = body.find("</Code>");
  if (start == std::string::npos || end == std::string::npos || end < start) return {};
  return body.substr(start + 6, end - start - 6);
}

error unavailable_error(const std::string& what) {
  return error{errc::unavailable, what};
}

class s3_store final : public object_store {
 public:
  s3_store(s3_store_options options, objects::base_url endpoint)
      : options_(std::move(options)),
        endpoint_(std::move(endpoint)),
        tls_(ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(ssl::verify_peer);
    tls_.set_options(ssl::context::no_sslv2 | ssl::context::no_sslv3 | ssl::context::no_tlsv1 |
                     ssl::context::no_tlsv1_1);
  }

  result<signed_url> presign_put(const std::string& key, std::uint64_t size,
                                 const std::string& content_type, std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) override {
    if (!objects::valid_content_type(content_type)) {
      return error{errc::bad_request, "not a valid content type"};
    }
    return presign("PUT", key, {},
                   {{"content-length", std::to_string(size)}, {"content-type", content_type}}, ttl,
                   now);
  }

  result<signed_url> presign_get(const std::string& key, const std::string& filename,
                                 std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) override {
    return presign("GET", key,
                   {{"response-content-disposition", sigv4::attachment_disposition(filename)}}, {},
                   ttl, now);
  }

  result<object_info> head(const std::string& key) override {
    auto url = presign("HEAD", key, {}, {}, own_request_ttl, std::chrono::system_clock::now());
    if (!url) return url.error();
    auto r = exchange(http::verb::head, *url, {}, 0, nullptr);
    if (!r) return r.error();
    if (r->status == 200) return object_info{r->content_length, r->content_type};
    if (r->status == 404) return error{errc::not_found, "no such object"};
    return status_error("HEAD", *r);
  }

  status remove(const std::string& key) override {
    auto url = presign("DELETE", key, {}, {}, own_request_ttl, std::chrono::system_clock::now());
    if (!url) return url.error();
    auto r = exchange(http::verb::delete_, *url, {}, 0, nullptr);
    if (!r) return r.error();
    if (r->status == 204 || r->status == 200 || r->status == 404) return {};
    return status_error("DELETE", *r);
  }

  status put(const std::string& key, std::uint64_t size, const std::string& content_type,
             const byte_source& source) override {
    auto url =
        presign_put(key, size, content_type, own_request_ttl, std::chrono::system_clock::now());
    if (!url) return url.error();
    hibiki::error source_error{errc::ok, {}};
    auto r = exchange(http::verb::put, *url, content_type, size, &source, &source_error);
    if (source_error.code != errc::ok) return source_error;
    if (!r) return r.error();
    if (r->status == 200) return {};
    return status_error("PUT", *r);
  }

 private:
  /// The URL of `key` and the Host it is signed for, in this store's addressing style.
  struct location {
    std::string host;  ///< the Host header (authority)
    std::string path;  ///< decoded
  };
  location locate(const std::string& key) const {
    if (options_.path_style) return {endpoint_.authority, "/" + options_.bucket + "/" + key};
    return {options_.bucket + "." + endpoint_.authority, "/" + key};
  }
  /// The host to connect to (the Host without port or IPv6 brackets).
  std::string connect_host() const {
    std::string host =
        options_.path_style ? endpoint_.host : options_.bucket + "." + endpoint_.host;
    if (host.size() > 2 && host.front() == '[') host = host.substr(1, host.size() - 2);
    return host;
  }

  result<signed_url> presign(const std::string& method, const std::string& key,
                             std::vector<sigv4::name_value> query,
                             std::vector<sigv4::name_value> headers, std::chrono::seconds ttl,
                             std::chrono::system_clock::time_point now) const {
    if (!valid_object_key(key)) return error{errc::bad_request, "not a valid object key"};
    const auto where = locate(key);
    sigv4::presign_input input;
    input.method = method;
    input.host = where.host;
    input.path = where.path;
    input.query = std::move(query);
    input.headers = std::move(headers);
    input.region = options_.region;
    input.now = now;
    input.expires = ttl;
    auto q = sigv4::presign_query(input, options_.credentials);
    if (!q) return q.error();
    return signed_url{
        endpoint_.scheme + "://" + where.host + sigv4::uri_encode(where.path, true) + "?" + *q,
        objects::unix_seconds(now + ttl)};
  }

  static error status_error(std::string_view what, const reply& r) {
    std::string message = std::string(what) + " answered " + std::to_string(r.status);
    if (auto code = s3_code(r.body); !code.empty()) message += " " + code;
    if (r.status == 400) return error{errc::bad_request, message};
    // 403 (our credentials or clock), 5xx, anything else: the store cannot serve us now.
    return error{errc::unavailable, message};
  }

  /// One request with a deadline on each step: asynchronous operations on a private io_context,
  /// run to completion, so a silent store costs `timeout` and not forever.
  result<reply> exchange(http::verb verb, const signed_url& url, const std::string& content_type,
                         std::uint64_t size, const byte_source* source,
                         hibiki::error* source_error = nullptr) {
    const auto scheme_end = url.url.find("://") + 3;
    const auto path_start = url.url.find('/', scheme_end);
    const std::string authority = url.url.substr(scheme_end, path_start - scheme_end);
    const std::string target = url.url.substr(path_start);
    const std::string connect_host = this->connect_host();

    net::io_context ioc;
    beast::error_code ec;
    auto run = [&](auto start) {
      beast::error_code result = net::error::timed_out;
      start([&result](beast::error_code e, auto&&...) { result = e; });
      ioc.restart();
      ioc.run();
      return result;
    };
    tcp::resolver resolver(ioc);
    tcp::resolver::results_type endpoints;
    ec = run([&](auto handler) {
      resolver.async_resolve(
          connect_host, endpoint_.port,
          [&, handler](beast::error_code e, tcp::resolver::results_type r) mutable {
            endpoints = std::move(r);
            handler(e);
          });
    });
    if (ec) return unavailable_error("cannot resolve " + connect_host + ": " + ec.message());

    auto talk = [&](auto& stream, auto& lowest) -> result<reply> {
      http::request<http::buffer_body> req{verb, target, 11};
      req.set(http::field::host, authority);
      req.set(http::field::user_agent, "hibikid");
      if (verb == http::verb::put) {
        req.set(http::field::content_type, content_type);
        req.content_length(size);
      }
      req.body().data = nullptr;
      req.body().size = 0;
      req.body().more = verb == http::verb::put && size > 0;
      http::request_serializer<http::buffer_body> serializer{req};
      lowest.expires_after(options_.timeout);
      // With a body the header goes first and the pieces follow; without, the whole request.
      ec = run([&](auto handler) {
        if (req.body().more) return http::async_write_header(stream, serializer, handler);
        http::async_write(stream, serializer, handler);
      });
      if (ec == http::error::need_buffer) ec = {};
      if (ec) return unavailable_error("cannot send to the store: " + ec.message());
      if (verb == http::verb::put && size > 0) {
        std::array<char, put_piece_bytes> buffer{};
        std::uint64_t sent = 0;
        while (sent < size) {
          const auto want =
              static_cast<std::size_t>(std::min<std::uint64_t>(buffer.size(), size - sent));
          auto n = (*source)(buffer.data(), want);
          if (!n) {
            *source_error = n.error();
            return n.error();  // the connection closes with the body incomplete: nothing stored
          }
          if (*n == 0) {
            *source_error = {errc::bad_request, "the body ended after " + std::to_string(sent) +
                                                    " of " + std::to_string(size) + " bytes"};
            return *source_error;
          }
          sent += *n;
          if (sent == size) {
            // One byte more would be over the size: refuse before the object is complete.
            char probe = 0;
            auto extra = (*source)(&probe, 1);
            if (!extra || *extra != 0) {
              *source_error =
                  extra ? hibiki::error{errc::bad_request, "more bytes than the " +
                                                               std::to_string(size) + " announced"}
                        : extra.error();
              return *source_error;
            }
          }
          req.body().data = buffer.data();
          req.body().size = *n;
          req.body().more = sent < size;
          lowest.expires_after(options_.timeout);
          ec = run([&](auto handler) { http::async_write(stream, serializer, handler); });
          if (ec == http::error::need_buffer) ec = {};
          if (ec) return unavailable_error("cannot send to the store: " + ec.message());
        }
      }
      beast::flat_buffer buffer;
      http::response_parser<http::string_body> parser;
      parser.body_limit(64 * 1024);
      if (verb == http::verb::head) parser.skip(true);
      lowest.expires_after(options_.timeout);
      ec = run([&](auto handler) { http::async_read(stream, buffer, parser, handler); });
      if (ec) return unavailable_error("no answer from the store: " + ec.message());
      reply r;
      r.status = parser.get().result_int();
      if (auto length = parser.get().find(http::field::content_length);
          length != parser.get().end()) {
        r.content_length = std::strtoull(std::string(length->value()).c_str(), nullptr, 10);
      }
      r.content_type = std::string(parser.get()[http::field::content_type]);
      if (verb != http::verb::head) r.body = parser.get().body();
      return r;
    };

    if (endpoint_.scheme == "https") {
      beast::ssl_stream<beast::tcp_stream> stream(ioc, tls_);
      if (!SSL_set_tlsext_host_name(stream.native_handle(), connect_host.c_str())) {
        return unavailable_error("cannot set the TLS server name");
      }
      stream.set_verify_callback(ssl::host_name_verification(connect_host));
      auto& lowest = beast::get_lowest_layer(stream);
      lowest.expires_after(options_.timeout);
      ec = run([&](auto handler) { lowest.async_connect(endpoints, handler); });
      if (ec) return unavailable_error("cannot connect to " + authority + ": " + ec.message());
      lowest.expires_after(options_.timeout);
      ec = run([&](auto handler) { stream.async_handshake(ssl::stream_base::client, handler); });
      if (ec) return unavailable_error("TLS with " + authority + " failed: " + ec.message());
      return talk(stream, lowest);
    }
    beast::tcp_stream stream(ioc);
    stream.expires_after(options_.timeout);
    ec = run([&](auto handler) { stream.async_connect(endpoints, handler); });
    if (ec) return unavailable_error("cannot connect to " + authority + ": " + ec.message());
    return talk(stream, stream);
  }

  s3_store_options options_;
  objects::base_url endpoint_;
  ssl::context tls_;
};

}  // namespace

result<std::shared_ptr<object_store>> open_s3_store(const s3_store_options& options) {
  auto endpoint = objects::split_base_url(options.endpoint);
  if (!endpoint) {
    return error{errc::bad_request, "--s3-endpoint: " + endpoint.error().message};
  }
  if (!valid_bucket(options.bucket)) {
    return error{errc::bad_request, "--s3-bucket: not a valid bucket name (3-63 of a-z 0-9 . -)"};
  }
  if (options.credentials.access_key.empty() || options.credentials.secret_key.empty()) {
    return error{errc::bad_request,
                 "no S3 credentials: set HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY, or "
                 "--s3-credentials-file"};
  }
  if (options.region.empty()) return error{errc::bad_request, "--s3-region is empty"};
  return std::shared_ptr<object_store>(std::make_shared<s3_store>(options, std::move(*endpoint)));
}

}  // namespace hibiki::persistence
