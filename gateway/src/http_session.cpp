#include "http_session.hpp"

#include <algorithm>
#include <nlohmann/json.hpp>

#include "hibiki/core/log.hpp"
#include "peer_address.hpp"
#include "static_files.hpp"
#include "ws_session.hpp"

namespace hibiki::gateway {
namespace {

std::string error_body(std::string_view code, std::string_view message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

http::status status_for(errc code) {
  switch (code) {
    case errc::bad_request:
      return http::status::bad_request;
    case errc::forbidden:
      return http::status::forbidden;
    case errc::conflict:
      return http::status::conflict;
    case errc::too_large:
      return http::status::payload_too_large;
    case errc::rate_limited:
      return http::status::too_many_requests;
    case errc::unavailable:
      return http::status::service_unavailable;
    default:
      return http::status::internal_server_error;
  }
}

bool origin_allowed(const gateway_options& options, std::string_view origin) {
  // Browsers always send Origin; a client without one (the CLI, a bot) is not a browser page
  // that another site could be driving, so the allow-list does not apply to it.
  if (options.allowed_origins.empty() || origin.empty()) return true;
  return std::find(options.allowed_origins.begin(), options.allowed_origins.end(), origin) !=
         options.allowed_origins.end();
}

std::string_view path_of(std::string_view target) {
  return target.substr(0, target.find_first_of("?#"));
}

}  // namespace

http_session::http_session(std::shared_ptr<gateway_context> ctx, tcp::socket&& socket)
    : ctx_(std::move(ctx)), stream_(std::move(socket)), peer_(peer_text(stream_.socket())) {}

http_session::~http_session() {
  if (registry_id_ != 0) ctx_->registry.remove(registry_id_);
}

void http_session::run() {
  registry_id_ = ctx_->registry.add(weak_from_this());
  // Start on the strand: the acceptor handed the socket over from its own.
  net::dispatch(stream_.get_executor(),
                beast::bind_front_handler(&http_session::do_read, shared_from_this()));
}

void http_session::shutdown() {
  net::post(stream_.get_executor(), [self = shared_from_this()] {
    self->stopping_ = true;
    // An idle keep-alive connection is waiting in a read: end it. One mid-request finishes its
    // response and then closes (stopping_ turns keep-alive off).
    if (!self->response_ && !self->self_while_waiting_) self->do_close();
  });
}

void http_session::release() {
  self_while_waiting_.reset();
}

void http_session::do_read() {
  parser_.emplace();
  parser_->body_limit(ctx_->options.max_http_body_bytes);
  stream_.expires_after(std::chrono::seconds(30));
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t bytes) {
  if (ec == http::error::end_of_stream) return do_close();
  access_.begin(to_std(parser_->get().method_string()), to_std(parser_->get().target()), bytes);
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    version_ = 11;
    return send_json(http::status::payload_too_large,
                     error_body("too_large", "request body over the limit"));
  }
  if (ec && ec.category() == beast::error_code(http::error::bad_target).category()) {
    keep_alive_ = false;
    version_ = 11;
    return send_json(http::status::bad_request, error_body("bad_request", "malformed request"));
  }
  if (ec) return do_close();
  handle(parser_->release());
}

void http_session::handle(http::request<http::string_body>&& req) {
  version_ = req.version();
  keep_alive_ = req.keep_alive() && !stopping_;
  const auto path = path_of(to_std(req.target()));

  if (websocket::is_upgrade(req)) {
    if (path != "/ws") {
      keep_alive_ = false;
      return send_json(http::status::not_found, error_body("not_found", "no WebSocket here"));
    }
    if (!origin_allowed(ctx_->options, to_std(req[http::field::origin]))) {
      keep_alive_ = false;
      return send_json(http::status::forbidden, error_body("forbidden", "origin not allowed"));
    }
    if (stopping_) {
      keep_alive_ = false;
      return send_json(http::status::service_unavailable,
                       error_body("unavailable", "server stopping"));
    }
    // The WebSocket takes the TCP stream; this session ends here.
    std::make_shared<ws_session>(ctx_, std::move(stream_))->run(std::move(req));
    return;
  }

  if (path == "/ws") {
    return send_json(http::status::bad_request,
                     error_body("bad_request", "expected a WebSocket upgrade"));
  }
  if (path == "/api/signup") {
    if (req.method() != http::verb::post) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use POST"));
    }
    return handle_signup(req);
  }
  if (path == "/api/journal" || path == "/api/cluster") {
    const bool journal = path == "/api/journal";
    // Operator endpoints (partitions, offsets, broker and node addresses): only for this machine.
    beast::error_code ec;
    const auto peer = stream_.socket().remote_endpoint(ec);
    if (ec || !is_loopback_peer(peer.address())) {
      return send_json(
          http::status::forbidden,
          error_body("forbidden", journal ? "the journal status is served to loopback only"
                                          : "the cluster status is served to loopback only"));
    }
    if (req.method() != http::verb::get) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
    }
    return handle_status(journal ? status_kind::journal : status_kind::cluster);
  }
  if (path == "/healthz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
    }
    if (ctx_->node.healthy()) return send_json(http::status::ok, R"({"status":"ok"})");
    return send_json(http::status::service_unavailable, R"({"status":"unavailable"})");
  }
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
  }
  serve_file(req);
}

void http_session::handle_signup(const http::request<http::string_body>& req) {
  if (!ctx_->open_signup) {
    log::audit("signup_refused", {{"peer", peer_}, {"reason", "sign-up is closed"}});
    return send_json(http::status::forbidden,
                     error_body("forbidden", "sign-up is closed on this server"));
  }
  auto body = nlohmann::json::parse(req.body(), nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded() || !body.is_object()) {
    return send_json(http::status::bad_request,
                     error_body("bad_request", "the body must be a JSON object"));
  }
  auto name = body.find("name");
  if (name == body.end() || !name->is_string()) {
    return send_json(http::status::bad_request,
                     error_body("bad_request", "missing string field \"name\""));
  }
  self_while_waiting_ = shared_from_this();
  std::weak_ptr<http_session> weak = self_while_waiting_;
  auto ctx = ctx_;
  ctx_->node.signup(name->get<std::string>(), [ctx, weak](result<actors::signup_result> r) {
    // Called on a node thread: hop back onto this connection's strand, if the gateway still runs.
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->stream_.get_executor(), [self, r = std::move(r)]() mutable {
        self->self_while_waiting_.reset();
        if (!r) {
          log::audit("signup_refused",
                     {{"peer", self->peer_}, {"reason", wire_name(r.error().code)}});
          return self->send_json(status_for(r.error().code),
                                 error_body(wire_name(r.error().code), r.error().message));
        }
        log::audit("signup",
                   {{"account", r->account.value}, {"name", r->name}, {"peer", self->peer_}});
        nlohmann::json out{
            {"account_id", r->account.value}, {"name", r->name}, {"token", r->token}};
        self->send_json(http::status::ok, out.dump());
      });
    });
  });
}

void http_session::handle_status(status_kind kind) {
  self_while_waiting_ = shared_from_this();
  std::weak_ptr<http_session> weak = self_while_waiting_;
  // The server joins the worker before it lets go of the context, so a raw pointer is safe here
  // (and a job must not own the context: the worker would then be stopped from its own thread).
  gateway_context* ctx = ctx_.get();
  const bool queued = ctx_->worker.post([ctx, weak, kind] {
    if (weak.expired()) return;
    // May ask the broker (and, for the cluster, the other nodes): this is why it runs here and
    // not on the I/O thread.
    auto status =
        kind == status_kind::journal ? ctx->node.journal_status() : ctx->node.cluster_status();
    // Replace, not throw, on bytes that are not UTF-8 (an error text from a C library).
    auto body = status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->stream_.get_executor(), [self, body = std::move(body)]() mutable {
        self->self_while_waiting_.reset();
        self->send_json(http::status::ok, std::move(body));
      });
    });
  });
  if (!queued) {
    self_while_waiting_.reset();
    send_json(http::status::service_unavailable,
              error_body("unavailable", kind == status_kind::journal
                                            ? "too many journal status requests at once"
                                            : "too many status requests at once"));
  }
}

void http_session::serve_file(const http::request<http::string_body>& req) {
  const auto& root = ctx_->options.web_root;
  auto path = file_for_target(root, to_std(req.target()));
  if (!path) {
    return send_json(http::status::bad_request, error_body("bad_request", "bad path"));
  }
  http::file_body::value_type file;
  beast::error_code ec;
  file.open(path->c_str(), beast::file_mode::scan, ec);
  if (ec) return send_json(http::status::not_found, error_body("not_found", "no such file"));

  const auto size = file.size();
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, version_};
    res.set(http::field::content_type, std::string(mime_type(*path)));
    res.content_length(size);
    res.keep_alive(keep_alive_);
    return send(std::move(res));
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                      std::make_tuple(http::status::ok, version_)};
  res.set(http::field::content_type, std::string(mime_type(*path)));
  res.content_length(size);
  res.keep_alive(keep_alive_);
  send(std::move(res));
}

void http_session::send_json(http::status status, std::string body) {
  http::response<http::string_body> res{status, version_};
  res.set(http::field::content_type, "application/json");
  res.set(http::field::cache_control, "no-store");
  if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD, POST");
  res.body() = std::move(body);
  res.prepare_payload();
  res.keep_alive(keep_alive_ && !stopping_);
  send(std::move(res));
}

template <class Body>
void http_session::send(http::response<Body>&& res) {
  auto sp = std::make_shared<http::response<Body>>(std::move(res));
  response_ = sp;
  access_.respond(sp->result_int());
  const bool close = sp->need_eof();
  stream_.expires_after(std::chrono::seconds(30));
  http::async_write(stream_, *sp,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

void http_session::on_write(bool close, beast::error_code ec, std::size_t bytes) {
  access_.end(peer_, bytes);
  response_.reset();
  if (ec) return do_close();
  if (close || stopping_) return do_close();
  do_read();
}

void http_session::do_close() {
  beast::error_code ignored;
  stream_.socket().shutdown(tcp::socket::shutdown_send, ignored);
  stream_.close();
}

}  // namespace hibiki::gateway
