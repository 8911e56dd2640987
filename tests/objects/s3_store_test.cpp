// The S3 store against a real MinIO (the CTest fixture `minio`, scripts/test-minio): presigned
// URLs used by a plain HTTP client, MinIO's own refusals (another length, expired, another key),
// Content-Disposition on GET, HEAD/DELETE/streamed PUT of hibikid's own, and a store that is down.
#include <catch2/catch.hpp>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <fstream>
#include <map>

#include "hibiki/persistence/object_storage.hpp"
#include "hibiki/persistence/s3_store.hpp"

using namespace hibiki;
using namespace hibiki::persistence;
using namespace std::chrono_literals;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

namespace {

std::string read_line(const std::string& path) {
  std::ifstream in(path);
  std::string line;
  std::getline(in, line);
  return line;
}

std::string minio_dir() {
  const char* dir = std::getenv("HIBIKI_TEST_MINIO_DIR");
  REQUIRE(dir != nullptr);
  return dir;
}

s3_store_options minio_options() {
  const auto dir = minio_dir();
  s3_store_options o;
  o.endpoint = read_line(dir + "/endpoint");
  o.bucket = read_line(dir + "/bucket");
  std::ifstream in(dir + "/credentials");
  std::string line;
  while (std::getline(in, line)) {
    if (line.rfind("access_key = ", 0) == 0) o.credentials.access_key = line.substr(13);
    if (line.rfind("secret_key = ", 0) == 0) o.credentials.secret_key = line.substr(13);
  }
  REQUIRE_FALSE(o.credentials.secret_key.empty());
  o.timeout = 5s;
  return o;
}

std::shared_ptr<object_store> minio_store() {
  auto store = open_s3_store(minio_options());
  REQUIRE(store.ok());
  return *store;
}

struct plain_reply {
  int status = 0;
  std::string body;
  std::map<std::string, std::string> headers;  ///< lower-case names
};

/// A plain client request on a presigned URL (what a browser or curl does).
plain_reply call(const std::string& method, const std::string& url, const std::string& body = {},
                 std::map<std::string, std::string> headers = {}) {
  const auto scheme_end = url.find("://") + 3;
  const auto path_start = url.find('/', scheme_end);
  const auto authority = url.substr(scheme_end, path_start - scheme_end);
  const auto colon = authority.rfind(':');
  net::io_context ioc;
  tcp::socket socket(ioc);
  boost::beast::error_code ec;
  socket.connect(tcp::endpoint(net::ip::make_address(authority.substr(0, colon)),
                               static_cast<unsigned short>(std::stoi(authority.substr(colon + 1)))),
                 ec);
  REQUIRE_FALSE(ec);
  http::request<http::string_body> req{http::string_to_verb(method), url.substr(path_start), 11};
  req.set(http::field::host, authority);
  for (const auto& [n, v] : headers) req.set(n, v);
  req.body() = body;
  if (method == "PUT" && headers.count("Content-Length") == 0) req.prepare_payload();
  if (headers.count("Content-Length")) {
    // A length other than the body's: written raw so Beast does not fix it.
    std::string raw = method + " " + url.substr(path_start) + " HTTP/1.1\r\nHost: " + authority;
    for (const auto& [n, v] : headers) raw += "\r\n" + n + ": " + v;
    raw += "\r\nConnection: close\r\n\r\n" + body;
    net::write(socket, net::buffer(raw), ec);
  } else {
    http::write(socket, req, ec);
  }
  REQUIRE_FALSE(ec);
  boost::beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(64 * 1024 * 1024);
  if (method == "HEAD") parser.skip(true);
  http::read(socket, buffer, parser, ec);
  if (ec) return {};
  plain_reply r;
  r.status = static_cast<int>(parser.get().result_int());
  r.body = parser.get().body();
  for (const auto& f : parser.get()) {
    std::string name(f.name_string());
    std::transform(name.begin(), name.end(), name.begin(), ::tolower);
    r.headers[name] = std::string(f.value());
  }
  return r;
}

std::string unique_key(const std::string& tag) {
  static int counter = 0;
  return "test/" + tag + "-" + std::to_string(::getpid()) + "-" + std::to_string(++counter);
}

}  // namespace

TEST_CASE("S3: a presigned PUT stores the object and HEAD sees its size and type", "[s3]") {
  auto store = minio_store();
  const auto key = unique_key("put");
  const std::string body = "hello through MinIO";
  auto url =
      store->presign_put(key, body.size(), "text/plain", 900s, std::chrono::system_clock::now());
  REQUIRE(url.ok());
  auto r = call("PUT", url->url, body, {{"Content-Type", "text/plain"}});
  INFO(r.body);
  REQUIRE(r.status == 200);
  auto info = store->head(key);
  REQUIRE(info.ok());
  CHECK(info->size == body.size());
  CHECK(info->content_type == "text/plain");
  REQUIRE(store->remove(key).ok());
  CHECK(store->head(key).error().code == errc::not_found);
  CHECK(store->remove(key).ok());  // absent: still fine
}

TEST_CASE("S3: MinIO refuses what the signature does not cover", "[s3]") {
  auto store = minio_store();
  const auto key = unique_key("refused");
  const std::string body = "0123456789";
  const auto now = std::chrono::system_clock::now();
  SECTION("another length than signed") {
    auto url = store->presign_put(key, body.size(), "text/plain", 900s, now);
    auto r = call("PUT", url->url, body + "x", {{"Content-Type", "text/plain"}});
    CHECK(r.status == 403);
  }
  SECTION("another type than signed") {
    auto url = store->presign_put(key, body.size(), "text/plain", 900s, now);
    CHECK(call("PUT", url->url, body, {{"Content-Type", "text/html"}}).status == 403);
  }
  SECTION("expired") {
    auto url = store->presign_put(key, body.size(), "text/plain", 60s, now - 1h);
    auto r = call("PUT", url->url, body, {{"Content-Type", "text/plain"}});
    CHECK(r.status == 403);
    CHECK(r.body.find("expired") != std::string::npos);
  }
  SECTION("replayed for another key") {
    auto url = store->presign_put(key, body.size(), "text/plain", 900s, now);
    auto other = url->url;
    other.replace(other.find(key), key.size(), key + "x");
    CHECK(call("PUT", other, body, {{"Content-Type", "text/plain"}}).status == 403);
    CHECK(store->head(key + "x").error().code == errc::not_found);
  }
  CHECK(store->head(key).error().code == errc::not_found);
}

TEST_CASE("S3: a presigned GET serves the object with Content-Disposition", "[s3]") {
  auto store = minio_store();
  const auto key = unique_key("get");
  const std::string body(100'000, 'g');
  auto put = store->presign_put(key, body.size(), "application/pdf", 900s,
                                std::chrono::system_clock::now());
  REQUIRE(call("PUT", put->url, body, {{"Content-Type", "application/pdf"}}).status == 200);
  auto url = store->presign_get(key, "\xe5\xa0\xb1\xe5\x91\x8a \"Q4\".pdf", 30s,
                                std::chrono::system_clock::now());
  REQUIRE(url.ok());
  auto r = call("GET", url->url);
  REQUIRE(r.status == 200);
  CHECK(r.body == body);
  CHECK(r.headers["content-type"] == "application/pdf");
  CHECK(r.headers["content-disposition"] ==
        "attachment; filename=\"______ _Q4_.pdf\"; "
        "filename*=UTF-8''%E5%A0%B1%E5%91%8A%20%22Q4%22.pdf");
  auto expired = store->presign_get(key, "a.pdf", 30s, std::chrono::system_clock::now() - 1h);
  CHECK(call("GET", expired->url).status == 403);
  REQUIRE(store->remove(key).ok());
}

TEST_CASE("S3: a streamed put of a large object pulls it in bounded pieces", "[s3]") {
  auto store = minio_store();
  const auto key = unique_key("stream");
  const std::uint64_t size = 24ull * 1024 * 1024 + 3;
  std::uint64_t produced = 0;
  std::size_t largest_piece = 0;
  auto source = [&](char* buffer, std::size_t capacity) -> result<std::size_t> {
    largest_piece = std::max(largest_piece, capacity);
    const auto n = static_cast<std::size_t>(std::min<std::uint64_t>(capacity, size - produced));
    for (std::size_t i = 0; i < n; ++i) buffer[i] = static_cast<char>((produced + i) % 253);
    produced += n;
    return n;
  };
  REQUIRE(store->put(key, size, "application/octet-stream", source).ok());
  CHECK(largest_piece <= 64 * 1024);  // never more than one piece held
  auto info = store->head(key);
  REQUIRE(info.ok());
  CHECK(info->size == size);
  REQUIRE(store->remove(key).ok());
}

TEST_CASE("S3: a streamed put whose source ends early or runs over stores nothing", "[s3]") {
  auto store = minio_store();
  const auto key = unique_key("bad-stream");
  const std::string data(300'000, 'd');
  std::size_t at = 0;
  auto source = [&](char* buffer, std::size_t capacity) -> result<std::size_t> {
    const auto n = std::min(capacity, data.size() - at);
    std::copy_n(data.data() + at, n, buffer);
    at += n;
    return n;
  };
  CHECK(store->put(key, data.size() + 10, "text/plain", source).error().code == errc::bad_request);
  at = 0;
  CHECK(store->put(key, data.size() - 10, "text/plain", source).error().code == errc::bad_request);
  auto failing = [](char*, std::size_t) -> result<std::size_t> {
    return error{errc::unavailable, "the client went away"};
  };
  CHECK(store->put(key, 10, "text/plain", failing).error().code == errc::unavailable);
  CHECK(store->head(key).error().code == errc::not_found);
}

TEST_CASE("S3: wrong credentials and a store that is down are unavailable", "[s3]") {
  auto options = minio_options();
  SECTION("wrong secret") {
    options.credentials.secret_key = "not-the-secret";
    auto store = open_s3_store(options);
    REQUIRE(store.ok());
    auto head = (*store)->head("anything");
    REQUIRE_FALSE(head.ok());
    CHECK(head.error().code == errc::unavailable);
    CHECK(head.error().message.find("403") != std::string::npos);
  }
  SECTION("nothing listening") {
    net::io_context ioc;
    tcp::acceptor probe(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    const auto port = probe.local_endpoint().port();
    probe.close();  // the port is free again: connections are refused
    options.endpoint = "http://127.0.0.1:" + std::to_string(port);
    auto store = open_s3_store(options);
    REQUIRE(store.ok());
    CHECK((*store)->head("k").error().code == errc::unavailable);
    CHECK((*store)->remove("k").error().code == errc::unavailable);
    auto source = [](char*, std::size_t) -> result<std::size_t> { return std::size_t{0}; };
    CHECK((*store)->put("k", 0, "text/plain", source).error().code == errc::unavailable);
    // Presigning needs no store: it still works.
    CHECK((*store)->presign_put("k", 1, "text/plain", 60s, std::chrono::system_clock::now()).ok());
  }
  SECTION("a store that accepts and never answers") {
    net::io_context ioc;
    tcp::acceptor silent(ioc, tcp::endpoint(net::ip::make_address("127.0.0.1"), 0));
    options.endpoint = "http://127.0.0.1:" + std::to_string(silent.local_endpoint().port());
    options.timeout = 300ms;
    auto store = open_s3_store(options);
    REQUIRE(store.ok());
    auto head = (*store)->head("k");  // the kernel completes the connect; nobody reads or answers
    REQUIRE_FALSE(head.ok());
    CHECK(head.error().code == errc::unavailable);
  }
}

TEST_CASE("S3: bad options are refused at open", "[s3]") {
  auto options = minio_options();
  auto refused = [](const s3_store_options& o) {
    auto s = open_s3_store(o);
    REQUIRE_FALSE(s.ok());
    CHECK(s.error().code == errc::bad_request);
  };
  auto o = options;
  o.endpoint = "ftp://x";
  refused(o);
  o = options;
  o.endpoint = "http://host/path";
  refused(o);
  o = options;
  o.bucket = "Bad_Bucket";
  refused(o);
  o = options;
  o.credentials = {};
  refused(o);
  auto store = open_s3_store(options);
  REQUIRE(store.ok());
  CHECK((*store)
            ->presign_put("../x", 1, "text/plain", 60s, std::chrono::system_clock::now())
            .error()
            .code == errc::bad_request);
  CHECK((*store)->head("a//b").error().code == errc::bad_request);
}

TEST_CASE("S3: open_object_store picks S3 with an endpoint and says so without secrets", "[s3]") {
  object_store_options o;
  o.directory = "/nonexistent-unused";
  o.s3 = minio_options();
  auto store = open_object_store(o);
  REQUIRE(store.ok());
  const auto text = describe_object_store(o);
  CHECK(text.find("S3 bucket hibiki-test at http://127.0.0.1:") == 0);
  CHECK(text.find(o.s3.credentials.secret_key) == std::string::npos);
  CHECK(text.find(o.s3.credentials.access_key) == std::string::npos);
}
