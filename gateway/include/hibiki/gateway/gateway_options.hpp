#pragma once
/// Options of the network edge: where it listens, what it serves, and the limits that keep one
/// client from hurting the others. Plain struct; every member carries its default.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <vector>

namespace hibiki::metrics {
class registry;
}
namespace hibiki::persistence {
class object_store;
}

namespace hibiki::gateway {

/// What hibikid's edge flags set (--tls-cert, --tls-key, the connection caps, --signup-rate,
/// --trusted-proxies, --allowed-origins): one struct, so hibikid's options hold it as it is.
struct edge_options {
  /// Origins allowed to open a WebSocket (exact `scheme://host[:port]`; "*" allows any). A
  /// request without Origin (not a browser) is always allowed. Default: empty = this listener's
  /// own origins, http(s)://HOST:PORT, plus the localhost forms when HOST is loopback or a
  /// wildcard address
  std::vector<std::string> allowed_origins;

  // ---- TLS (HTTPS and WSS on the same listener) ----
  /// PEM certificate chain (the server's certificate first). Both files or neither.
  /// Default: empty = plain HTTP and WebSocket
  std::string tls_cert_file;
  /// PEM private key of that certificate. Default: empty
  std::string tls_key_file;

  // ---- admission control: what is known before authentication ----
  /// Most open connections (HTTP and WebSocket together); past it a request gets 503.
  /// 0 = no cap. Default: 10000
  std::size_t max_connections = 10'000;
  /// Most open connections per client address (an IPv6 client counts per /64); past it a request
  /// gets 429. 0 = no cap. Default: 100
  std::size_t max_connections_per_ip = 100;
  /// Sign-ups allowed per client address per `signup_period` (a token bucket holding this many);
  /// past it POST /api/signup gets 429 with Retry-After. 0 = no limit. Default: 10
  std::uint32_t signup_per_ip = 10;
  /// The period of `signup_per_ip`. Default: 60 s
  std::chrono::seconds signup_period{60};
  /// Peers whose X-Forwarded-For is believed (CIDR blocks such as "127.0.0.1/32", "10.0.0.0/8";
  /// a bare address is a single host). The client address is then the rightmost hop that is not
  /// one of them. Default: empty = the header is ignored, the TCP peer is the client
  std::vector<std::string> trusted_proxies;

  bool operator==(const edge_options&) const = default;
};

/// Everything the gateway takes: the edge options and the rest.
struct gateway_options : edge_options {
  /// Address to listen on (an IP literal or "localhost"). Default: 127.0.0.1
  std::string host = "127.0.0.1";
  /// TCP port; 0 picks a free one (see server::port()). Default: 8080
  std::uint16_t port = 8080;
  /// I/O threads running the gateway's io_context (separate from the actor threads). Default: 1
  std::size_t threads = 1;
  /// Open sign-up over POST /api/signup. Default: false (closed)
  bool open_signup = false;
  /// Directory of the web client's static files. Default: empty = HIBIKI_WEB_ROOT.
  std::string web_root;
  /// The server's address as clients reach it ("https://chat.example.com", e.g. behind a proxy);
  /// the REST API's image URLs (avatar_image_url, icon_path) start with it. Default: empty = the
  /// request's scheme and Host header
  std::string public_url;

  /// Largest incoming WebSocket message; a larger one closes the connection with 1009.
  /// Default: 1 MiB
  std::size_t max_frame_bytes = 1024 * 1024;
  /// Time for the WebSocket opening and closing handshakes, and for reading one HTTP request.
  /// Default: 10 s
  std::chrono::milliseconds handshake_timeout{10'000};
  /// A WebSocket that receives nothing for this long is closed; a ping is sent at half of it so
  /// idle but alive clients stay. Default: 60 s
  std::chrono::milliseconds idle_timeout{60'000};
  /// Most bytes queued for one client (not yet written to its socket); past it the client is
  /// disconnected. Default: 4 MiB
  std::size_t max_outgoing_bytes = 4 * 1024 * 1024;
  /// Most frames queued for one client; past it the client is disconnected. Generous because a
  /// burst (a `sync` replays up to 1000 events at once) lands in the queue before it drains; the
  /// byte cap is what bounds memory. Default: 8192
  std::size_t max_outgoing_frames = 8192;
  /// Largest HTTP request body; a larger one gets 413. Default: 64 KiB
  std::size_t max_http_body_bytes = 64 * 1024;

  /// Counts connections and HTTP requests, and is served on GET /metrics (metrics/README.md).
  /// Default: null = nothing recorded, /metrics answers 404.
  std::shared_ptr<metrics::registry> metrics;
  /// The token the operator endpoints (/api/journal, /api/cluster, /api/admin/...) require as
  /// `Authorization: Bearer TOKEN` (hibikid reads it from --admin-token-file). Default: empty =
  /// none (the endpoints are then served only on the admin listener, or off without one)
  std::string admin_token;
  /// Address of the separate operator listener (--admin-http=HOST:PORT); when set, the operator
  /// and monitoring endpoints are served there and not on `host`. Default: empty = none
  std::string admin_host;
  /// Port of the operator listener; 0 picks a free one (server::admin_port()). Default: 0
  std::uint16_t admin_port = 0;

  // ---- the Chatwork-compatible REST API on /v2 (docs/rest-api.md) ----
  /// Requests one API token may make per `api_rate_period` on this node; past it 429 until the
  /// window ends (x-ratelimit-reset). 0 = no limit. Default: 300
  std::uint32_t api_rate = 300;
  /// The window of `api_rate`. Default: 300 s (5 minutes)
  std::chrono::seconds api_rate_period{300};
  /// Largest /v2 request body (form-encoded: a 65,535-character message can take several times
  /// its size once %-escaped); a larger one gets 413. Default: 1 MiB
  std::size_t api_max_body_bytes = 1024 * 1024;
  /// Largest file `POST /v2/rooms/{id}/files` takes: Chatwork's 5 MB, counted as 5 * 1024 * 1024
  /// bytes; hibikid lowers it to --max-file-size when that is lower. A request whose
  /// Content-Length is over this plus api_max_body_bytes (the form around the file) is refused
  /// before its body is read. Default: 5242880
  std::uint64_t api_max_upload_bytes = 5ull * 1024 * 1024;
  /// Where such an upload is spooled (an unlinked temp file, at most api_max_upload_bytes) while
  /// it is read, before it is streamed to the object store. hibikid uses --data-dir.
  /// Default: empty = the system's temp directory
  std::string upload_spool_dir;

  /// Where shared files' bytes live (persistence/object_store.hpp). When it is a
  /// persistence::directory_store the gateway serves its signed URLs on /files/ (PUT streamed to
  /// disk, GET and HEAD). Default: null = no files (/files/ is then a static-file path)
  std::shared_ptr<persistence::object_store> objects;
};

}  // namespace hibiki::gateway
