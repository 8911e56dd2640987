#include "http_session.hpp"

#include <algorithm>
#include <limits>
#include <nlohmann/json.hpp>

#include "admin_api.hpp"
#include "client_address.hpp"
#include "hibiki/core/log.hpp"
#include "peer_address.hpp"
#include "readiness.hpp"
#include "request_parsing.hpp"
#include "rest_api.hpp"
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
    case errc::not_found:
      return http::status::not_found;
    case errc::unauthenticated:
      return http::status::unauthorized;
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
  if (origin.empty()) return true;
  const auto& allowed = options.allowed_origins;  // resolved by server::start, never empty
  return std::any_of(allowed.begin(), allowed.end(),
                     [&](const std::string& a) { return a == "*" || a == origin; });
}

metrics::http_path path_class(std::string_view path) {
  if (path == "/ws") return metrics::http_path::websocket;
  if (path.substr(0, 5) == "/api/") return metrics::http_path::api;
  if (path == "/healthz" || path == "/readyz") return metrics::http_path::health;
  if (path == "/metrics") return metrics::http_path::metrics;
  if (is_rest_path(path)) return metrics::http_path::rest;
  return metrics::http_path::file;
}

}  // namespace

http_session::http_session(std::shared_ptr<gateway_context> ctx, edge_stream&& stream,
                           admission_slot&& slot, connection_limits::verdict verdict,
                           listener_role role)
    : ctx_(std::move(ctx)),
      role_(role),
      stream_(std::move(stream)),
      executor_(stream_.get_executor()),
      slot_(std::move(slot)),
      verdict_(verdict),
      peer_(peer_text(beast::get_lowest_layer(stream_).socket())) {}

http_session::~http_session() {
  if (registry_id_ != 0) ctx_->registry.remove(registry_id_);
}

void http_session::run() {
  registry_id_ = ctx_->registry.add(weak_from_this());
  // Start on the strand: the acceptor handed the socket over from its own.
  net::dispatch(executor_, [self = shared_from_this()] {
    if (!self->stream_.is_tls()) return self->do_read();
    // The TLS handshake is bounded like the WebSocket's: a client that connects and says
    // nothing (or speaks plain HTTP) is cut off.
    beast::get_lowest_layer(self->stream_).expires_after(self->ctx_->options.handshake_timeout);
    self->stream_.async_handshake(beast::bind_front_handler(&http_session::on_handshake, self));
  });
}

void http_session::on_handshake(beast::error_code ec) {
  // Not TLS (plain HTTP sent to the TLS port), a bad client hello, or the timeout: nothing was
  // agreed to answer in, so the connection just closes.
  if (ec) return beast::get_lowest_layer(stream_).close();
  do_read();
}

void http_session::shutdown() {
  net::post(executor_, [self = shared_from_this()] {
    if (self->upgraded_) return;  // the ws_session owns the socket now
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
  path_class_ = metrics::http_path::file;
  cors_origin_.clear();
  header_bytes_ = 0;
  linger_before_close_ = false;
  parser_.emplace();
  // No limit while the header is read (Beast would check Content-Length against it then, and a
  // signed upload on /files/ may be larger than any): on_header applies the path's own limit.
  // (Not boost::none: Beast 1.74 compares the length with the optional, and none loses.)
  parser_->body_limit(std::numeric_limits<std::uint64_t>::max());
  // A connection being refused gets only the handshake timeout to send its request.
  beast::get_lowest_layer(stream_).expires_after(verdict_ == connection_limits::verdict::admitted
                                                     ? std::chrono::milliseconds(30'000)
                                                     : ctx_->options.handshake_timeout);
  // The header first: a /v2 request gets the REST API's own body limit.
  http::async_read_header(stream_, buffer_, *parser_,
                          beast::bind_front_handler(&http_session::on_header, shared_from_this()));
}

void http_session::on_header(beast::error_code ec, std::size_t bytes) {
  header_bytes_ = bytes;
  if (ec) return on_read(ec, 0);
  if (is_file_upload(split_target(to_std(parser_->get().target())).path)) {
    return handle_file_upload();
  }
  if (is_rest_upload()) return handle_rest_upload();
  const auto limit = is_rest_path(split_target(to_std(parser_->get().target())).path)
                         ? ctx_->options.api_max_body_bytes
                         : ctx_->options.max_http_body_bytes;
  const auto length = parser_->content_length();
  if (length && *length > limit) return on_read(http::error::body_limit, 0);
  parser_->body_limit(limit);  // a chunked body is checked as it comes
  http::async_read(stream_, buffer_, *parser_,
                   beast::bind_front_handler(&http_session::on_read, shared_from_this()));
}

void http_session::on_read(beast::error_code ec, std::size_t body_bytes) {
  if (ec == http::error::end_of_stream) return do_close();
  const auto bytes = header_bytes_ + body_bytes;
  access_.begin(to_std(parser_->get().method_string()), to_std(parser_->get().target()), bytes);
  if (ec == http::error::body_limit) {
    keep_alive_ = false;
    version_ = 11;
    if (is_rest_path(split_target(to_std(parser_->get().target())).path)) {
      path_class_ = metrics::http_path::rest;
      rest_endpoint_ = rest_endpoint::unknown;
      return send_rest(
          413, rest_error_body("the request body is over the limit of " +
                               std::to_string(ctx_->options.api_max_body_bytes) + " bytes"));
    }
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
  head_request_ = req.method() == http::verb::head;
  const auto path = split_target(to_std(req.target())).path;
  path_class_ = path_class(path);

  if (verdict_ != connection_limits::verdict::admitted) {
    // Admitted over a cap only to say so (admission.hpp): whatever was asked, refuse and close.
    keep_alive_ = false;
    if (verdict_ == connection_limits::verdict::over_total) {
      return send_json(http::status::service_unavailable,
                       error_body("unavailable", "the server is at its connection limit"), 1);
    }
    return send_json(http::status::too_many_requests,
                     error_body("rate_limited", "too many connections from this address"), 1);
  }

  // Which listener serves this path, and whether the caller may call it (routes.hpp).
  const auto route = route_of(path);
  if (auto refused =
          check_access(route, role_, ctx_->options, to_std(req[http::field::authorization]))) {
    if (websocket::is_upgrade(req)) keep_alive_ = false;
    return send_json(static_cast<http::status>(refused->status),
                     error_body(refused->code, refused->message));
  }

  // While the node starts (the journal opens): health, /readyz, /metrics and the web client's
  // files are served; what needs the node is refused at once, never held (routes.hpp).
  if (ctx_->node() == nullptr && needs_node(path)) {
    if (websocket::is_upgrade(req)) keep_alive_ = false;
    return send_json(http::status::service_unavailable,
                     error_body("unavailable", std::string(starting_message)),
                     static_cast<std::uint64_t>(retry_after_starting.count()));
  }

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
    if (!slot_.has_address() && !slot_.enter_address(limit_key(client_of(req)))) {
      // Through a trusted proxy: the forwarded client is counted now that it is known.
      keep_alive_ = false;
      return send_json(http::status::too_many_requests,
                       error_body("rate_limited", "too many connections from this address"), 1);
    }
    // The WebSocket takes the stream and the admission slot; this session ends here.
    upgraded_ = true;
    std::make_shared<ws_session>(ctx_, std::move(stream_), std::move(slot_))->run(std::move(req));
    return;
  }

  if (is_rest_path(path)) return handle_rest(req);
  if (ctx_->files && path.substr(0, persistence::directory_store::url_prefix.size()) ==
                         persistence::directory_store::url_prefix) {
    return handle_file_download(req);
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
  if (route == route_kind::operator_only) {
    // check_access let it through: the admin token matched, or this is the admin listener.
    if (path.substr(0, 16) == "/api/projections") return handle_projections(req, path);
    if (path == "/api/journal" || path == "/api/cluster") {
      if (req.method() != http::verb::get) {
        return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
      }
      return handle_status(path == "/api/journal" ? status_kind::journal : status_kind::cluster);
    }
    if (req.method() != http::verb::post) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use POST"));
    }
    return handle_admin(req, path);
  }
  if (handle_operator_route(path, req)) return;
  if (path == "/healthz") {
    if (req.method() != http::verb::get && req.method() != http::verb::head) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
    }
    // Alive while it starts too: a liveness probe must not restart a node catching up.
    auto* node = ctx_->node();
    if (!node) return send_json(http::status::ok, R"({"status":"starting"})");
    if (node->healthy()) return send_json(http::status::ok, R"({"status":"ok"})");
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
  auto name = parse_signup_body(req.body());
  if (!name) {
    return send_json(status_for(name.error().code),
                     error_body(wire_name(name.error().code), name.error().message));
  }
  std::chrono::seconds retry_after{0};
  if (!ctx_->signups.try_take(limit_key(client_of(req)), std::chrono::steady_clock::now(),
                              retry_after)) {
    log::audit("signup_refused", {{"peer", peer_}, {"reason", "rate_limited"}});
    return send_json(http::status::too_many_requests,
                     error_body("rate_limited", "too many sign-ups from this address; retry in " +
                                                    std::to_string(retry_after.count()) + " s"),
                     static_cast<std::uint64_t>(retry_after.count()));
  }
  self_while_waiting_ = shared_from_this();
  std::weak_ptr<http_session> weak = self_while_waiting_;
  auto ctx = ctx_;
  ctx_->node()->signup(std::move(*name), [ctx, weak](result<actors::signup_result> r) {
    // Called on a node thread: hop back onto this connection's strand, if the gateway still runs.
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->executor_, [self, r = std::move(r)]() mutable {
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

void http_session::handle_admin(const http::request<http::string_body>& req,
                                std::string_view path) {
  const auto peer = client_of(req).to_string();
  auto call = parse_admin_call(path, req.body());
  if (!call) {
    audit_admin_action(peer, path, 0, wire_name(call.error().code));
    return send_json(status_for(call.error().code),
                     error_body(wire_name(call.error().code), call.error().message));
  }
  self_while_waiting_ = shared_from_this();
  std::weak_ptr<http_session> weak = self_while_waiting_;
  auto ctx = ctx_;
  // Answers on this connection's strand, if the gateway still runs (like a sign-up).
  auto answer = [ctx, weak, peer, action = call->action, account = call->request.account.value](
                    const hibiki::error* err, std::string body, std::uint64_t id) {
    audit_admin_action(peer, action, id != 0 ? id : account, err ? wire_name(err->code) : "ok");
    http::status status = http::status::ok;
    if (err) {
      status = status_for(err->code);
      body = error_body(wire_name(err->code), err->message);
    }
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->executor_, [self, status, body = std::move(body)]() mutable {
        self->self_while_waiting_.reset();
        self->send_json(status, std::move(body));
      });
    });
  };
  if (call->create) {
    ctx_->node()->signup(call->create_name, [answer](result<actors::signup_result> r) {
      if (!r) return answer(&r.error(), {}, 0);
      answer(nullptr, admin_answer(*r), r->account.value);
    });
    return;
  }
  ctx_->node()->admin(std::move(call->request), [answer](result<actors::admin_result> r) {
    if (!r) return answer(&r.error(), {}, 0);
    answer(nullptr, admin_answer(*r), r->account.value);
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
    auto status = kind == status_kind::journal   ? ctx->node()->journal_status()
                  : kind == status_kind::cluster ? ctx->node()->cluster_status()
                                                 : ctx->node()->projections_status();
    // Replace, not throw, on bytes that are not UTF-8 (an error text from a C library).
    auto body = status.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->executor_, [self, body = std::move(body)]() mutable {
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

void http_session::handle_projections(const http::request<http::string_body>& req,
                                      std::string_view path) {
  if (path == "/api/projections") {
    if (req.method() != http::verb::get) {
      return send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
    }
    return handle_status(status_kind::projections);
  }
  constexpr std::string_view prefix = "/api/projections/";
  constexpr std::string_view suffix = "/rebuild";
  const bool shaped = path.size() > prefix.size() + suffix.size() &&
                      path.substr(0, prefix.size()) == prefix &&
                      path.substr(path.size() - suffix.size()) == suffix;
  const auto name = shaped ? path.substr(prefix.size(), path.size() - prefix.size() - suffix.size())
                           : std::string_view();
  if (!shaped || name.find('/') != std::string_view::npos) {
    return send_json(http::status::not_found, error_body("not_found",
                                                         "expected GET /api/projections or POST "
                                                         "/api/projections/NAME/rebuild"));
  }
  if (req.method() != http::verb::post) {
    return send_json(http::status::method_not_allowed, error_body("bad_request", "use POST"));
  }
  // Only asks the projection's thread to start over: quick, so on this thread.
  auto started = ctx_->node()->rebuild_projection(std::string(name));
  const auto peer = client_of(req).to_string();
  const std::string_view outcome = started ? "ok" : wire_name(started.error().code);
  log::audit("admin",
             {{"action", "rebuild"}, {"projection", name}, {"peer", peer}, {"outcome", outcome}});
  log::info("admin") << "audit: admin rebuild projection=" << name << " peer=" << peer
                     << " outcome=" << outcome;
  if (!started) {
    return send_json(status_for(started.error().code),
                     error_body(wire_name(started.error().code), started.error().message));
  }
  send_json(http::status::ok, nlohmann::json{{"projection", name}, {"state", "rebuilding"}}.dump());
}

bool http_session::handle_operator_route(std::string_view path,
                                         const http::request<http::string_body>& req) {
  if (path != "/readyz" && path != "/metrics") return false;
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    send_json(http::status::method_not_allowed, error_body("bad_request", "use GET"));
    return true;
  }
  // Both may block (the journal status asks the broker; the metrics' collectors read it too).
  gateway_context* ctx = ctx_.get();
  if (path == "/readyz") {
    answer_from_worker(
        [ctx] {
          auto* node = ctx->node();
          auto problems = node ? readiness_problems(node->healthy(), node->journal_status())
                               : starting_problems(ctx->starting);
          return answer{problems.empty() ? http::status::ok : http::status::service_unavailable,
                        "application/json", readiness_body(problems)};
        },
        "too many readiness requests at once");
    return true;
  }
  if (!ctx_->options.metrics) {
    send_json(http::status::not_found, error_body("not_found", "metrics are off on this server"));
    return true;
  }
  answer_from_worker(
      [ctx] {
        return answer{http::status::ok, std::string(metrics::registry::content_type),
                      ctx->options.metrics->exposition()};
      },
      "too many metrics requests at once");
  return true;
}

void http_session::answer_from_worker(std::function<answer()> job, std::string busy) {
  self_while_waiting_ = shared_from_this();
  std::weak_ptr<http_session> weak = self_while_waiting_;
  // As in handle_status: the server joins the worker before it lets go of the context.
  gateway_context* ctx = ctx_.get();
  const bool queued = ctx_->worker.post([ctx, weak, job = std::move(job)] {
    if (weak.expired()) return;
    auto a = job();
    ctx->gate.run([&] {
      auto self = weak.lock();
      if (!self) return;
      net::post(self->stream_.get_executor(), [self, a = std::move(a)]() mutable {
        self->self_while_waiting_.reset();
        self->send_body(a.status, a.content_type, std::move(a.body));
      });
    });
  });
  if (!queued) {
    self_while_waiting_.reset();
    send_json(http::status::service_unavailable, error_body("unavailable", busy));
  }
}

void http_session::serve_file(const http::request<http::string_body>& req) {
  const auto found = find_static_file(ctx_->options.web_root, to_std(req.target()));
  if (found.result == static_lookup::outcome::bad_request) {
    return send_json(http::status::bad_request, error_body("bad_request", "bad path"));
  }
  if (found.result != static_lookup::outcome::file) {
    return send_json(http::status::not_found, error_body("not_found", "no such file"));
  }
  const auto* path = &found.path;
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

void http_session::handle_rest(const http::request<http::string_body>& req) {
  rest_endpoint_ = rest_endpoint::unknown;
  // While the node starts (the journal opens) nothing can be served; say so at once.
  if (ctx_->node() == nullptr)
    return send_rest(503, rest_error_body(std::string(starting_message)));
  const auto target = split_target(to_std(req.target()));
  rest_params params;
  if (auto st = parse_form(target.query, params); !st)
    return send_rest(400, rest_error_body(st.error().message));
  auto method = effective_method(to_std(req.method_string()), params);
  if (!method) return send_rest(400, rest_error_body(method.error().message));
  auto route = route_rest(*method, target.path);
  if (!route) {
    const auto& e = route.error();
    if (e.code == errc::conflict)
      return send_rest(405, rest_error_body("use " + e.message + " on this path"), std::nullopt,
                       e.message);
    return send_rest(e.code == errc::not_found ? 404 : 400, rest_error_body(e.message));
  }
  rest_endpoint_ = route->endpoint;
  rest_image_base_ =
      image_base(ctx_->options.public_url, to_std(req[http::field::host]), stream_.is_tls());
  // The token is never logged, kept only to tell this connection's requests apart.
  std::string token(to_std(req["X-ChatWorkToken"]));
  if (token.empty())
    return send_rest(401,
                     rest_error_body("Invalid API token: send it in the X-ChatWorkToken header"));
  if (!req.body().empty()) {
    const auto type = to_std(req[http::field::content_type]);
    constexpr std::string_view form = "application/x-www-form-urlencoded";
    if (!type.empty() && type.substr(0, form.size()) != form)
      return send_rest(400, rest_error_body("the body must be application/x-www-form-urlencoded"));
    if (auto st = parse_form(req.body(), params); !st)
      return send_rest(400, rest_error_body(st.error().message));
  }
  authenticate_rest(token, [self = shared_from_this(), token, route = *route,
                            params = std::move(params)]() mutable {
    self->run_rest(std::move(token), route, std::move(params));
  });
}

void http_session::authenticate_rest(const std::string& token, std::function<void()> next) {
  if (rest_ && rest_->alive() && rest_->token() == token) return next();
  // A new session for this token (the first /v2 call here, another token, or the node closed
  // the last one): authenticate it exactly like a WebSocket's `auth`.
  rest_ = rest_channel::open(ctx_, executor_, peer_);
  self_while_waiting_ = shared_from_this();
  rest_->call({{"op", "auth"}, {"token", token}},
              [self = shared_from_this(), token, next = std::move(next)](nlohmann::json reply) {
                self->self_while_waiting_.reset();
                if (!reply.value("ok", false)) {
                  self->rest_.reset();
                  const auto code = reply["error"].value("code", std::string("internal"));
                  if (code == "unauthenticated")
                    return self->send_rest(
                        401, rest_error_body("Invalid API token (" +
                                             reply["error"].value("message", std::string()) + ")"));
                  return self->send_rest(rest_status_for(code),
                                         rest_error_body(reply["error"].value("message", "")));
                }
                self->rest_->set_token(token);
                self->rest_account_ = account_id{reply.value("account_id", std::uint64_t{0})};
                next();
              });
}

std::optional<rest_rate_limit::verdict> http_session::take_rest_rate(const std::string& token) {
  const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                       std::chrono::system_clock::now().time_since_epoch())
                       .count();
  const auto rate = ctx_->api_rate.take(token, now);
  if (rate.allowed) return rate;
  send_rest(
      429,
      rest_error_body("Rate limit exceeded: at most " + std::to_string(rate.limit) +
                      " requests per " + std::to_string(ctx_->options.api_rate_period.count()) +
                      " seconds per token; retry after " + std::to_string(rate.reset) +
                      " (x-ratelimit-reset)"),
      rate);
  return std::nullopt;
}

void http_session::run_rest(std::string token, rest_route route, rest_params params) {
  const auto rate = take_rest_rate(token);
  if (!rate) return;
  self_while_waiting_ = shared_from_this();
  run_rest_endpoint(rest_, route, params, rest_account_, rest_images{rest_image_base_},
                    [self = shared_from_this(), rate = *rate](rest_answer a) {
                      self->self_while_waiting_.reset();
                      self->send_rest(a.status, std::move(a.body), rate);
                    });
}

void http_session::send_rest(unsigned status, std::string body,
                             const std::optional<rest_rate_limit::verdict>& rate,
                             std::string_view allow) {
  if (ctx_->options.metrics)
    ctx_->options.metrics->rest_request(endpoint_name(rest_endpoint_), status);
  http::response<http::string_body> res{static_cast<http::status>(status), version_};
  if (status != 204) {
    res.set(http::field::content_type, "application/json; charset=utf-8");
    res.body() = std::move(body);
  }
  res.set(http::field::cache_control, "no-store");
  if (rate) {
    res.set("x-ratelimit-limit", std::to_string(rate->limit));
    res.set("x-ratelimit-remaining", std::to_string(rate->remaining));
    res.set("x-ratelimit-reset", std::to_string(rate->reset));
    if (!rate->allowed) {
      const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                           std::chrono::system_clock::now().time_since_epoch())
                           .count();
      res.set(http::field::retry_after,
              std::to_string(std::max<std::int64_t>(rate->reset - now, 1)));
    }
  }
  if (!allow.empty()) res.set(http::field::allow, std::string(allow));
  // HEAD on /v2 is answered 405 (no endpoint takes it): the header only, as for other paths.
  send_with_body(std::move(res));
}

void http_session::send_json(http::status status, std::string body, std::uint64_t retry_after) {
  send_body(status, "application/json", std::move(body), retry_after);
}

void http_session::send_body(http::status status, std::string_view content_type, std::string body,
                             std::uint64_t retry_after) {
  http::response<http::string_body> res{status, version_};
  res.set(http::field::content_type, std::string(content_type));
  res.set(http::field::cache_control, "no-store");
  if (retry_after != 0) res.set(http::field::retry_after, std::to_string(retry_after));
  if (status == http::status::method_not_allowed) res.set(http::field::allow, "GET, HEAD, POST");
  if (status == http::status::unauthorized) res.set(http::field::www_authenticate, "Bearer");
  res.body() = std::move(body);
  send_with_body(std::move(res));
}

void http_session::send_with_body(http::response<http::string_body>&& res) {
  res.prepare_payload();
  if (!cors_origin_.empty()) {
    res.set(http::field::access_control_allow_origin, cors_origin_);
    res.set(http::field::vary, "Origin");
  }
  res.keep_alive(keep_alive_ && !stopping_);
  if (head_request_) {
    // HEAD: the same header (Content-Length of the body a GET would get), and no body.
    send(http::response<http::empty_body>{std::move(res.base())});
    return;
  }
  send(std::move(res));
}

template <class Body>
void http_session::send(http::response<Body>&& res) {
  if (ctx_->options.metrics) ctx_->options.metrics->http_request(path_class_, res.result_int());
  auto sp = std::make_shared<http::response<Body>>(std::move(res));
  response_ = sp;
  access_.respond(sp->result_int());
  const bool close = sp->need_eof();
  beast::get_lowest_layer(stream_).expires_after(std::chrono::seconds(30));
  http::async_write(stream_, *sp,
                    beast::bind_front_handler(&http_session::on_write, shared_from_this(), close));
}

// The bodies http_session_files.cpp sends (the template lives in this file).
template void http_session::send(http::response<http::file_body>&&);
template void http_session::send(http::response<http::empty_body>&&);

void http_session::on_write(bool close, beast::error_code ec, std::size_t bytes) {
  access_.end(peer_, bytes);
  response_.reset();
  if (ec) return do_close();
  if (linger_before_close_) return linger_then_close();
  if (close || stopping_) return do_close();
  do_read();
}

void http_session::do_close() {
  // Also on TLS: no close_notify. Every response is length-delimited, so the peer cannot mistake
  // a cut for an end, and a close_notify exchange could wait on a pending read.
  auto& tcp_stream = beast::get_lowest_layer(stream_);
  beast::error_code ignored;
  tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  tcp_stream.close();
}

net::ip::address http_session::client_of(const http::request<http::string_body>& req) {
  beast::error_code ec;
  const auto peer = beast::get_lowest_layer(stream_).socket().remote_endpoint(ec);
  const auto peer_address = ec ? net::ip::address(net::ip::address_v4::any()) : peer.address();
  if (ctx_->trusted_proxies.empty()) return unmapped(peer_address);
  std::string forwarded;
  for (auto [it, end] = req.equal_range("X-Forwarded-For"); it != end; ++it) {
    if (!forwarded.empty()) forwarded += ',';
    forwarded.append(it->value().data(), it->value().size());
  }
  return client_address(peer_address, forwarded, ctx_->trusted_proxies);
}

void http_session::stream_body(std::uint64_t limit, piece_handler on_piece) {
  constexpr std::size_t piece_bytes = 64 * 1024;
  const bool expects_continue = beast::iequals(parser_->get()[http::field::expect], "100-continue");
  // The header is read; the same parser continues into a buffer body (Beast moves it over).
  upload_parser_.emplace(std::move(*parser_));
  upload_parser_->body_limit(limit);
  upload_buffer_.resize(piece_bytes);
  // Beast reads at most the read buffer's free room per receive: an empty one takes 512 bytes at
  // a time (180,000 receives for 100 MiB). Room for a whole piece makes each receive one piece.
  buffer_.reserve(piece_bytes);
  if (!expects_continue) return read_body_piece(on_piece);
  // curl and other tools wait (a second, for curl) for this before they send a large body.
  auto going_on =
      std::make_shared<http::response<http::empty_body>>(http::status::continue_, version_);
  beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(30'000));
  http::async_write(
      stream_, *going_on,
      [self = shared_from_this(), going_on, on_piece](beast::error_code ec, std::size_t) {
        if (!ec) return self->read_body_piece(on_piece);
        self->upload_.reset();
        self->rest_form_.reset();
        self->upload_parser_.reset();
        self->do_close();
      });
}

void http_session::read_body_piece(piece_handler on_piece) {
  auto& body = upload_parser_->get().body();
  body.data = upload_buffer_.data();
  body.size = upload_buffer_.size();
  body.more = true;
  // Each piece has its own timeout: a large upload may take long, a stalled one may not.
  beast::get_lowest_layer(stream_).expires_after(std::chrono::milliseconds(30'000));
  http::async_read(stream_, buffer_, *upload_parser_,
                   beast::bind_front_handler(on_piece, shared_from_this()));
}

}  // namespace hibiki::gateway
