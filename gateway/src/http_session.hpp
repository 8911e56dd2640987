#pragma once
/// One HTTP connection (over TCP or TLS): reads requests (keep-alive), answers sign-up, health,
/// the journal and cluster status and static files, and hands a `GET /ws` upgrade to a
/// ws_session. A connection admitted over a cap answers its first request with 503 or 429 and
/// closes. Owned by shared_ptr through its own pending operations; runs on the connection's
/// strand.

#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "access_log.hpp"
#include "admission.hpp"
#include "beast_fwd.hpp"
#include "connection_registry.hpp"
#include "edge_stream.hpp"
#include "gateway_context.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/directory_store.hpp"
#include "rest_channel.hpp"
#include "rest_request.hpp"
#include "routes.hpp"

namespace hibiki::gateway {

class upload_form;

class http_session : public connection, public std::enable_shared_from_this<http_session> {
 public:
  http_session(std::shared_ptr<gateway_context> ctx, edge_stream&& stream, admission_slot&& slot,
               connection_limits::verdict verdict, listener_role role = listener_role::main);
  ~http_session() override;

  void run();
  void shutdown() override;
  void release() override;

 private:
  void on_handshake(beast::error_code ec);
  void do_read();
  void on_header(beast::error_code ec, std::size_t bytes);
  void on_read(beast::error_code ec, std::size_t bytes);
  void handle(http::request<http::string_body>&& req);
  void handle_signup(const http::request<http::string_body>& req);
  /// POST /api/admin/...: an operator's account action (admin_api.hpp), audited.
  void handle_admin(const http::request<http::string_body>& req, std::string_view path);
  /// GET /api/journal and /api/cluster: the node's status JSON, asked off the I/O threads.
  enum class status_kind { journal, cluster, projections };
  void handle_status(status_kind kind);
  /// GET /api/projections (their status) and POST /api/projections/NAME/rebuild (audited).
  void handle_projections(const http::request<http::string_body>& req, std::string_view path);
  /// The operator routes that carry no user data: GET /readyz and GET /metrics. True when `path`
  /// was one of them (and is answered). Kept together so they can move to another listener.
  bool handle_operator_route(std::string_view path, const http::request<http::string_body>& req);
  /// Runs `job` on the blocking worker and answers with what it returns (or 503 `busy` when the
  /// worker's queue is full).
  struct answer {
    http::status status;
    std::string content_type;
    std::string body;
  };
  void answer_from_worker(std::function<answer()> job, std::string busy);
  void serve_file(const http::request<http::string_body>& req);
  // ---- a request body streamed in pieces (the two uploads; http_session.cpp) ----
  using piece_handler = void (http_session::*)(beast::error_code, std::size_t);
  /// Reads the body of the request whose header parser_ just read into upload_buffer_, piece by
  /// piece, each to `on_piece` (which calls read_body_piece for the next); sends 100 Continue
  /// first when the client waits for it. More than `limit` bytes is http::error::body_limit.
  void stream_body(std::uint64_t limit, piece_handler on_piece);
  void read_body_piece(piece_handler on_piece);
  // ---- /files/: the directory store's signed URLs (http_session_files.cpp) ----
  /// True when the request whose header was just read is a PUT on /files/ this gateway serves:
  /// its body is then streamed to disk instead of read whole.
  bool is_file_upload(std::string_view path) const;
  /// Checks the PUT's signature and headers, then streams its body into the directory store.
  void handle_file_upload();
  void on_upload(beast::error_code ec, std::size_t bytes);
  /// GET or HEAD on /files/: the object with Content-Type, Content-Length and the signed
  /// Content-Disposition; other methods 405.
  void handle_file_download(const http::request<http::string_body>& req);
  /// The CORS answer to a browser page of an allowed origin (gateway_options::allowed_origins)
  /// on /files/: sets cors_origin_ when the request's Origin may see the response.
  void allow_file_origin(std::string_view origin);
  /// OPTIONS on /files/: a CORS preflight, answered like S3's bucket CORS rule would.
  void answer_file_preflight(const http::request<http::string_body>& req);
  /// An error as S3 answers it: XML `<Error><Code>CODE</Code><Message>...</Message></Error>`.
  void send_s3_error(http::status status, std::string_view code, std::string_view message);
  /// send_s3_error for an error of the directory store.
  void send_store_error(const hibiki::error& e);
  /// /v2/...: the Chatwork-compatible REST API (rest_api.hpp), through this connection's
  /// rest_channel.
  void handle_rest(const http::request<http::string_body>& req);
  /// Runs `next` once rest_ is authenticated with `token` (at once when it is already); answers
  /// 401 (or the node's error) itself otherwise.
  void authenticate_rest(const std::string& token, std::function<void()> next);
  /// Counts a request of `token` against --api-rate: the verdict, or nothing after answering 429.
  std::optional<rest_rate_limit::verdict> take_rest_rate(const std::string& token);
  /// Runs the routed REST call once the channel is authenticated with `token`.
  void run_rest(std::string token, rest_route route, rest_params params);
  // ---- POST /v2/rooms/{id}/files: a multipart upload read as it comes, spooled, then streamed
  // to the object store and completed like the WebSocket's (http_session_rest_upload.cpp) ----
  /// True when the request whose header was just read is such an upload.
  bool is_rest_upload();
  /// Checks what the header says (type, boundary, length, token, membership) before the body.
  void handle_rest_upload();
  /// Reads the body piece by piece into rest_form_.
  void start_rest_upload_body();
  void on_rest_upload(beast::error_code ec, std::size_t bytes);
  /// The body is read: request_upload, put (on ctx_->uploads), complete_upload.
  void store_rest_upload();
  /// Answers the upload (and lets go of its form and spool).
  void end_rest_upload(unsigned status, std::string body);
  /// After an answer sent before the request's body was read: stop sending, read and drop what
  /// the client still sends (bounded in bytes and time) so that closing does not reset the
  /// connection under the answer, then close.
  void linger_then_close();
  /// A /v2 answer: JSON (or nothing with 204), x-ratelimit-* headers when `rate` is set.
  void send_rest(unsigned status, std::string body,
                 const std::optional<rest_rate_limit::verdict>& rate = std::nullopt,
                 std::string_view allow = {});
  /// A JSON response; `retry_after` (seconds, 0 = none) adds a Retry-After header.
  void send_json(http::status status, std::string body, std::uint64_t retry_after = 0);
  /// Sets Content-Length and keep-alive, then sends `res` (its header only for a HEAD request).
  void send_with_body(http::response<http::string_body>&& res);
  void send_body(http::status status, std::string_view content_type, std::string body,
                 std::uint64_t retry_after = 0);
  template <class Body>
  void send(http::response<Body>&& res);
  void on_write(bool close, beast::error_code ec, std::size_t bytes);
  void do_close();
  /// The client of this request: the peer, or the forwarded address when the peer is a trusted
  /// proxy (client_address.hpp).
  net::ip::address client_of(const http::request<http::string_body>& req);

  std::shared_ptr<gateway_context> ctx_;
  listener_role role_;
  edge_stream stream_;
  /// The strand, kept apart from stream_: stream_ is moved into a ws_session on upgrade.
  edge_stream::executor_type executor_;
  admission_slot slot_;
  connection_limits::verdict verdict_;
  beast::flat_buffer buffer_;
  std::optional<http::request_parser<http::string_body>> parser_;
  std::shared_ptr<void> response_;  ///< the response being written
  std::size_t header_bytes_ = 0;    ///< the request header's bytes, for the access record
  unsigned version_ = 11;
  bool keep_alive_ = false;
  /// The request being answered is a HEAD: answers carry headers only.
  bool head_request_ = false;
  bool stopping_ = false;
  bool upgraded_ = false;  ///< stream_ and slot_ were handed to a ws_session
  /// Holds this session while a sign-up or a journal/cluster status is in the node's hands (the
  /// callback holds a weak ref).
  std::shared_ptr<http_session> self_while_waiting_;
  std::uint64_t registry_id_ = 0;
  /// The request's path class for hibiki_http_requests_total.
  metrics::http_path path_class_ = metrics::http_path::file;
  /// The session REST calls on this connection go through (rest_channel.hpp); opened by the
  /// first /v2 request, replaced when a request brings another token.
  std::shared_ptr<rest_channel> rest_;
  std::string rest_image_base_;  ///< rest_images::base of the request being served
  account_id rest_account_;      ///< the account rest_ authenticated as
  rest_endpoint rest_endpoint_ = rest_endpoint::unknown;  ///< the REST request being answered
  /// A PUT on /files/ being streamed: its parser (taken over from parser_ after the header), the
  /// object being written, and the buffer each piece of the body lands in.
  std::optional<http::request_parser<http::buffer_body>> upload_parser_;
  std::unique_ptr<persistence::directory_store::writer> upload_;
  std::vector<char> upload_buffer_;
  /// POST /v2/rooms/{id}/files being read (upload_parser_ and upload_buffer_ carry its body).
  std::shared_ptr<upload_form> rest_form_;
  rest_route rest_upload_route_;
  std::string rest_upload_token_;
  std::uint64_t rest_upload_limit_ = 0;  ///< the body's limit (file cap plus the form around it)
  std::optional<rest_rate_limit::verdict> rest_upload_rate_;
  /// Set when an answer goes before the request's body was read (linger_then_close).
  bool linger_before_close_ = false;
  std::uint64_t lingered_bytes_ = 0;
  /// Access-Control-Allow-Origin of the /files/ response being answered (empty: none).
  std::string cors_origin_;
  std::string peer_;    ///< "IP:PORT", for the access and audit logs
  http_access access_;  ///< the request being answered
};

}  // namespace hibiki::gateway
