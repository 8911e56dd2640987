// HTTPS and WSS on the gateway's listener: certificates made by `openssl` in a temp dir, Beast
// clients that verify them against the test CA, plain clients on the TLS port and TLS clients on
// a plain port refused while the server keeps serving, and certificate reload.

#include <openssl/evp.h>
#include <openssl/x509.h>
#include <boost/asio/ssl.hpp>
#include <boost/beast/ssl.hpp>
#include <catch2/catch.hpp>

#include "gateway_fixture.hpp"
#include "test_certs.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace websocket = boost::beast::websocket;
namespace net = boost::asio;
namespace ssl = boost::asio::ssl;
using tcp = boost::asio::ip::tcp;

namespace {

/// A directory with a CA and one server certificate issued under it.
struct tls_files {
  tls_files() : certs(dir.path()) { certs.issue(cert(), key()); }
  std::filesystem::path cert() const { return dir.path() / "server.pem"; }
  std::filesystem::path key() const { return dir.path() / "server.key"; }
  temp_dir dir;
  test_certs certs;
};

gateway::gateway_options tls_options(const tls_files& files) {
  auto o = gateway_fixture::test_options();
  o.tls_cert_file = files.cert().string();
  o.tls_key_file = files.key().string();
  return o;
}

std::string sha256_of(X509* cert) {
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  X509_digest(cert, EVP_sha256(), md, &n);
  return std::string(reinterpret_cast<char*>(md), n);
}

/// A TLS client that trusts only the test CA and checks the name 127.0.0.1.
struct tls_client {
  explicit tls_client(const tls_files& files) : ctx(ssl::context::tls_client), stream(ioc, ctx) {
    ctx.load_verify_file(files.certs.ca().string());
    stream.set_verify_mode(ssl::verify_peer);
    stream.set_verify_callback(ssl::host_name_verification("127.0.0.1"));
  }

  /// Connects and handshakes; the error of the first step that failed.
  beast::error_code connect(std::uint16_t port) {
    beast::error_code ec;
    beast::get_lowest_layer(stream).expires_after(std::chrono::seconds(30));
    beast::get_lowest_layer(stream).connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port),
                                            ec);
    if (!ec) stream.handshake(ssl::stream_base::client, ec);
    return ec;
  }

  std::string peer_fingerprint() {
    X509* cert = SSL_get1_peer_certificate(stream.native_handle());
    REQUIRE(cert != nullptr);
    auto fp = sha256_of(cert);
    X509_free(cert);
    return fp;
  }

  int get(const std::string& target, std::string* body = nullptr) {
    http::request<http::string_body> req{http::verb::get, target, 11};
    req.set(http::field::host, "127.0.0.1");
    beast::error_code ec;
    http::write(stream, req, ec);
    if (ec) return 0;
    beast::flat_buffer buffer;
    http::response<http::string_body> res;
    http::read(stream, buffer, res, ec);
    if (ec) return 0;
    if (body) *body = res.body();
    return static_cast<int>(res.result_int());
  }

  net::io_context ioc;
  ssl::context ctx;
  beast::ssl_stream<beast::tcp_stream> stream;
};

/// A WebSocket over tls_client's stream.
struct wss_client {
  explicit wss_client(const tls_files& files) : tls(files), ws(std::move(tls.stream)) {}
  beast::error_code connect(std::uint16_t port) {
    beast::error_code ec;
    auto& tcp_stream = beast::get_lowest_layer(ws);
    tcp_stream.expires_after(std::chrono::seconds(30));
    tcp_stream.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port), ec);
    if (!ec) ws.next_layer().handshake(ssl::stream_base::client, ec);
    if (!ec) ws.handshake("127.0.0.1", "/ws", ec);
    return ec;
  }
  std::string echo(const std::string& text) {
    ws.text(true);
    ws.write(net::buffer("echo:" + text));
    beast::flat_buffer buffer;
    ws.read(buffer);
    return beast::buffers_to_string(buffer.data());
  }
  tls_client tls;
  websocket::stream<beast::ssl_stream<beast::tcp_stream>> ws;
};

/// Whether the server closes a connection that sends `bytes` (possibly nothing) within a
/// generous bound; the bound only keeps a broken server from hanging the test.
bool server_closes_after(std::uint16_t port, const std::string& bytes) {
  net::io_context ioc;
  beast::tcp_stream s(ioc);
  s.connect(tcp::endpoint(net::ip::make_address("127.0.0.1"), port));
  s.expires_after(std::chrono::seconds(60));
  if (!bytes.empty()) net::write(s, net::buffer(bytes));
  char buf[4096];
  beast::error_code ec;
  std::size_t total = 0;
  while (!ec) total += s.read_some(net::buffer(buf), ec);
  (void)total;
  return ec == net::error::eof || ec == net::error::connection_reset;
}

}  // namespace

TEST_CASE("HTTPS and WSS are served with the configured certificate", "[gateway][tls]") {
  tls_files files;
  gateway_fixture f(tls_options(files));
  REQUIRE(f.server->tls());

  tls_client https(files);
  REQUIRE_FALSE(https.connect(f.port));  // verified against the test CA, name 127.0.0.1
  std::string body;
  REQUIRE(https.get("/healthz", &body) == 200);
  REQUIRE(body == R"({"status":"ok"})");
  REQUIRE(https.get("/") == 200);  // keep-alive over TLS

  wss_client wss(files);
  REQUIRE_FALSE(wss.connect(f.port));
  REQUIRE(wss.echo("over tls") == "over tls");
  // The default origins of a TLS listener are https ones.
  REQUIRE(f.server->allowed_origins().front() == "https://127.0.0.1:" + std::to_string(f.port));
}

TEST_CASE("plain HTTP on the TLS port and TLS on a plain port are refused cleanly",
          "[gateway][tls]") {
  tls_files files;
  gateway_fixture tls_server(tls_options(files));
  // Plain HTTP to the TLS port: not a TLS client hello, the connection is closed.
  REQUIRE(server_closes_after(tls_server.port, "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"));
  // Silence: the handshake timeout (2 s in the fixture) closes it.
  REQUIRE(server_closes_after(tls_server.port, ""));
  // A plain WebSocket client gets nowhere either.
  ws_client plain_ws;
  REQUIRE(plain_ws.connect(tls_server.port));
  // ...and TLS still works.
  tls_client https(files);
  REQUIRE_FALSE(https.connect(tls_server.port));
  REQUIRE(https.get("/healthz") == 200);

  // A TLS client against a plain port: the handshake fails, the plain port keeps serving.
  gateway_fixture plain_server;
  REQUIRE_FALSE(plain_server.server->tls());
  tls_client lost(files);
  REQUIRE(lost.connect(plain_server.port));
  REQUIRE(http_request(plain_server.port, http::verb::get, "/healthz").status == 200);
}

TEST_CASE("reloading the certificate keeps open connections", "[gateway][tls]") {
  tls_files files;
  gateway_fixture f(tls_options(files));

  tls_client before(files);
  REQUIRE_FALSE(before.connect(f.port));
  const auto old_fp = before.peer_fingerprint();
  wss_client open_ws(files);
  REQUIRE_FALSE(open_ws.connect(f.port));
  REQUIRE(open_ws.echo("1") == "1");

  // A new key and certificate over the same files, then reload.
  files.certs.issue(files.cert(), files.key());
  auto reloaded = f.server->reload_tls();
  REQUIRE(reloaded.ok());
  REQUIRE_FALSE(reloaded->empty());

  tls_client after(files);
  REQUIRE_FALSE(after.connect(f.port));
  REQUIRE(after.peer_fingerprint() != old_fp);
  REQUIRE(after.get("/healthz") == 200);
  // Connections made before the reload are still served.
  REQUIRE(open_ws.echo("2") == "2");
  REQUIRE(before.get("/healthz") == 200);

  // A reload that fails (a broken certificate file) keeps the certificate in use.
  const auto current_fp = after.peer_fingerprint();
  write_file(files.cert(), "not a certificate");
  auto failed = f.server->reload_tls();
  REQUIRE_FALSE(failed.ok());
  REQUIRE(failed.error().message.find(files.cert().string()) != std::string::npos);
  tls_client still(files);
  REQUIRE_FALSE(still.connect(f.port));
  REQUIRE(still.peer_fingerprint() == current_fp);
  REQUIRE(open_ws.echo("3") == "3");
}

TEST_CASE("bad TLS settings refuse to start with a clear error", "[gateway][tls]") {
  tls_files files;
  fake_node node;
  auto start = [&](std::string cert, std::string key) {
    auto o = gateway_fixture::test_options();
    o.port = 0;
    o.tls_cert_file = std::move(cert);
    o.tls_key_file = std::move(key);
    return gateway::server::start(node, o);
  };
  auto only_cert = start(files.cert().string(), "");
  REQUIRE_FALSE(only_cert.ok());
  REQUIRE(only_cert.error().code == errc::bad_request);

  auto missing = start((files.dir.path() / "nope.pem").string(), files.key().string());
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().message.find("nope.pem") != std::string::npos);

  write_file(files.dir.path() / "junk.pem", "junk");
  auto junk = start((files.dir.path() / "junk.pem").string(), files.key().string());
  REQUIRE_FALSE(junk.ok());
  REQUIRE(junk.error().code == errc::bad_request);

  // A key that belongs to another certificate.
  files.certs.issue(files.dir.path() / "other.pem", files.dir.path() / "other.key");
  auto mismatch = start(files.cert().string(), (files.dir.path() / "other.key").string());
  REQUIRE_FALSE(mismatch.ok());
  REQUIRE(mismatch.error().message.find("does not match") != std::string::npos);

  // Reload on a plain server is an error, not a crash.
  gateway_fixture plain;
  REQUIRE_FALSE(plain.server->reload_tls().ok());
}
