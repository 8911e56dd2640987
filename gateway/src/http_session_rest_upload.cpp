// POST /v2/rooms/{id}/files: Chatwork's multipart upload, the one REST call whose bytes pass
// through hibikid (docs/rest-api.md, decision 0028). What the header says is checked first
// (multipart type and boundary, Content-Length against the cap, token, membership and role), so
// most refusals cost no body. The body is then read in 64 KiB pieces through a buffer_body parser
// and fed to an upload_form, which spools the file part to an unlinked temp file: the part's size
// is only known at its end, and the room must be told the size before anything is stored. Then,
// exactly as a WebSocket client would: request_upload (the room checks membership, role, name,
// type and --max-file-size again), the spool streamed to the object store with its put (on the
// gateway's upload worker: S3's put blocks), complete_upload with the form's message.
#include <nlohmann/json.hpp>

#include "hibiki/core/log.hpp"
#include "hibiki/core/room.hpp"
#include "http_session.hpp"
#include "multipart.hpp"
#include "request_parsing.hpp"
#include "rest_shapes.hpp"
#include "upload_form.hpp"

namespace hibiki::gateway {
namespace {

constexpr std::size_t piece_bytes = 64 * 1024;
/// What linger_then_close reads and drops at most, and for how long.
constexpr std::uint64_t linger_max_bytes = 8 * 1024 * 1024;
constexpr std::chrono::seconds linger_time{2};

std::string too_large_message(std::uint64_t cap) {
  return "the file is over " + std::to_string(cap) +
         " bytes, the most this server takes through the API";
}

unsigned rest_status_of(const hibiki::error& e) {
  return rest_status_for(wire_name(e.code));
}

}  // namespace

bool http_session::is_rest_upload() {
  if (verdict_ != connection_limits::verdict::admitted) return false;
  const auto& req = parser_->get();
  if (req.method() != http::verb::post) return false;
  const auto target = split_target(to_std(req.target()));
  if (!is_rest_path(target.path)) return false;
  rest_params query;
  if (!parse_form(target.query, query)) return false;  // answered 400 by handle_rest
  auto method = effective_method("POST", query);
  if (!method) return false;
  auto route = route_rest(*method, target.path);
  if (!route || route->endpoint != rest_endpoint::files_upload) return false;
  rest_upload_route_ = *route;
  return true;
}

void http_session::handle_rest_upload() {
  const auto& req = parser_->get();
  access_.begin(to_std(req.method_string()), to_std(req.target()), header_bytes_);
  version_ = req.version();
  head_request_ = false;
  path_class_ = metrics::http_path::rest;
  rest_endpoint_ = rest_endpoint::files_upload;
  rest_upload_rate_.reset();
  // Until the whole body is read an answer must close the connection (the unread rest would be
  // taken for the next request), after letting the client finish sending.
  keep_alive_ = false;
  linger_before_close_ = true;
  const auto path = split_target(to_std(req.target())).path;
  if (auto refused = check_access(route_of(path), role_, ctx_->options,
                                  to_std(req[http::field::authorization]))) {
    return send_json(
        static_cast<http::status>(refused->status),
        nlohmann::json{{"error", {{"code", refused->code}, {"message", refused->message}}}}.dump());
  }
  if (ctx_->node() == nullptr)
    return send_rest(503, rest_error_body(std::string(starting_message)));
  if (!ctx_->options.objects) {
    return send_rest(503, rest_error_body("files are not enabled on this server"));
  }
  std::string token(to_std(req["X-ChatWorkToken"]));
  if (token.empty()) {
    return send_rest(401,
                     rest_error_body("Invalid API token: send it in the X-ChatWorkToken header"));
  }
  auto boundary = multipart_boundary(to_std(req[http::field::content_type]));
  if (!boundary) return send_rest(400, rest_error_body(boundary.error().message));
  const auto cap = ctx_->options.api_max_upload_bytes;
  // The file plus the form around it (its message, part headers, boundaries).
  rest_upload_limit_ = cap + ctx_->options.api_max_body_bytes;
  if (auto length = parser_->content_length(); length && *length > rest_upload_limit_) {
    return send_rest(413, rest_error_body(too_large_message(cap) + " (the Content-Length is " +
                                          std::to_string(*length) + ")"));
  }
  rest_form_ =
      std::make_shared<upload_form>(std::move(*boundary), cap, ctx_->options.upload_spool_dir);
  rest_upload_token_ = std::move(token);
  authenticate_rest(rest_upload_token_, [self = shared_from_this()] {
    auto rate = self->take_rest_rate(self->rest_upload_token_);
    if (!rate) return;
    self->rest_upload_rate_ = rate;
    // Membership and role now, so a member who may not upload is told before sending 5 MB; the
    // room checks both again when the upload is requested.
    self->self_while_waiting_ = self;
    self->rest_->call({{"op", "get_room"}, {"room_id", self->rest_upload_route_.room.value}},
                      [self](nlohmann::json reply) {
                        self->self_while_waiting_.reset();
                        if (!reply.value("ok", false)) {
                          const auto& err = reply["error"];
                          return self->end_rest_upload(
                              rest_status_for(err.value("code", std::string("internal"))),
                              rest_error_body(err.value("message", std::string("failed"))));
                        }
                        if (reply["room"].value("role", std::string()) == "readonly") {
                          return self->end_rest_upload(
                              403, rest_error_body("read-only members cannot upload files"));
                        }
                        self->start_rest_upload_body();
                      });
  });
}

void http_session::start_rest_upload_body() {
  stream_body(rest_upload_limit_, &http_session::on_rest_upload);  // chunked: checked as it comes
}

void http_session::on_rest_upload(beast::error_code ec, std::size_t bytes) {
  access_.add_bytes_in(bytes);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    if (ec == http::error::body_limit) {
      return end_rest_upload(
          413, rest_error_body(too_large_message(ctx_->options.api_max_upload_bytes)));
    }
    if (ec == beast::error::timeout) {  // the stream is closed already: nobody to answer
      rest_form_.reset();
      upload_parser_.reset();
      return do_close();
    }
    // The client stopped sending before the end of the body it announced (or broke its chunked
    // framing): it may still read an answer.
    linger_before_close_ = false;
    const bool cut = ec == http::error::partial_message || ec == http::error::end_of_stream ||
                     ec == net::error::eof;
    return end_rest_upload(400,
                           rest_error_body(cut ? "the request body was cut short: it "
                                                 "ended before its Content-Length"
                                               : "malformed request body (" + ec.message() + ")"));
  }
  const auto filled = upload_buffer_.size() - upload_parser_->get().body().size;
  if (filled > 0) {
    if (auto st = rest_form_->feed(std::string_view(upload_buffer_.data(), filled)); !st) {
      return end_rest_upload(rest_status_of(st.error()), rest_error_body(st.error().message));
    }
  }
  if (!upload_parser_->is_done()) return read_body_piece(&http_session::on_rest_upload);
  // The whole request is read: the connection can serve the next one.
  linger_before_close_ = false;
  keep_alive_ = upload_parser_->get().keep_alive() && !stopping_;
  upload_parser_.reset();
  if (auto st = rest_form_->finish(); !st) {
    return end_rest_upload(rest_status_of(st.error()), rest_error_body(st.error().message));
  }
  store_rest_upload();
}

void http_session::store_rest_upload() {
  if (!room::utf8_length(rest_form_->message())) {
    return end_rest_upload(400, rest_error_body("message must be valid UTF-8"));
  }
  self_while_waiting_ = shared_from_this();
  const auto room = rest_upload_route_.room;
  rest_->call(
      {{"op", "request_upload"},
       {"room_id", room.value},
       {"filename", rest_form_->filename()},
       {"size", rest_form_->size()},
       {"content_type", rest_form_->content_type()}},
      [self = shared_from_this(), room](nlohmann::json r) {
        if (!r.value("ok", false)) {
          const auto& err = r["error"];
          return self->end_rest_upload(
              rest_status_for(err.value("code", std::string("internal"))),
              rest_error_body(err.value("message", std::string("failed"))));
        }
        const auto file = r.value("file_id", std::uint64_t{0});
        auto key = r.value("object_key", std::string());
        if (file == 0 || key.empty()) {
          return self->end_rest_upload(500,
                                       rest_error_body("internal error: no upload was recorded"));
        }
        // The message the room will post (its length depends on the file id), checked as the
        // room will check it, before the bytes are stored for nothing. A refusal here leaves
        // the pending upload to expire, as a store failure does.
        const auto body = room::file_message_body(file_id{file}, self->rest_form_->filename(),
                                                  self->rest_form_->message());
        const auto chars = room::utf8_length(body);
        if (!chars)
          return self->end_rest_upload(400, rest_error_body("message must be valid UTF-8"));
        if (*chars > room::max_body_chars) {
          return self->end_rest_upload(
              413,
              rest_error_body("message must be at most " + std::to_string(room::max_body_chars) +
                              " characters with the file's [download] line"));
        }
        // As in answer_from_worker: the server joins the worker before it lets go of the context.
        gateway_context* ctx = self->ctx_.get();
        std::weak_ptr<http_session> weak = self;
        // The node's store is the same one behind the node's breaker: a store that fails these
        // puts opens it for every file op, as failed HEADs do.
        auto store = ctx->node() != nullptr ? ctx->node()->objects() : nullptr;
        if (!store) store = ctx->options.objects;
        const bool queued = ctx->uploads.post([ctx, weak, store = std::move(store),
                                               form = self->rest_form_, key = std::move(key), room,
                                               file] {
          if (weak.expired()) return;
          status stored;
          try {
            stored = store->put(key, form->size(), form->content_type(), form->source());
          } catch (const std::exception& e) {
            stored = hibiki::error{errc::unavailable, e.what()};
          }
          ctx->gate.run([&] {
            auto self = weak.lock();
            if (!self) return;
            net::post(self->executor_, [self, stored, room, file] {
              if (!stored) {
                log::warn("rest") << "upload of file " << file
                                  << " to the store failed: " << stored.error().message;
                // The pending upload is left to expire; its object, if any, is swept with it.
                if (stored.error().code == errc::unavailable) {
                  return self->end_rest_upload(
                      503,
                      rest_error_body("the file store is unavailable (" + stored.error().message +
                                      "): nothing was posted; try again later"));
                }
                return self->end_rest_upload(500, rest_error_body("the file could not be stored: " +
                                                                  stored.error().message));
              }
              self->rest_->call(
                  {{"op", "complete_upload"},
                   {"room_id", room.value},
                   {"file_id", file},
                   {"message", self->rest_form_->message()}},
                  [self, file](nlohmann::json done) {
                    if (!done.value("ok", false)) {
                      const auto& err = done["error"];
                      return self->end_rest_upload(
                          rest_status_for(err.value("code", std::string("internal"))),
                          rest_error_body(err.value("message", std::string("failed"))));
                    }
                    self->end_rest_upload(200, nlohmann::json{{"file_id", file}}.dump());
                  });
            });
          });
        });
        if (!queued) {
          self->end_rest_upload(
              503, rest_error_body("too many uploads are being stored at once; try again"));
        }
      });
}

void http_session::end_rest_upload(unsigned status, std::string body) {
  rest_form_.reset();
  upload_parser_.reset();
  self_while_waiting_.reset();
  send_rest(status, std::move(body), rest_upload_rate_);
}

void http_session::linger_then_close() {
  linger_before_close_ = false;
  auto& tcp_stream = beast::get_lowest_layer(stream_);
  beast::error_code ignored;
  tcp_stream.socket().shutdown(tcp::socket::shutdown_send, ignored);
  lingered_bytes_ = 0;
  upload_buffer_.resize(piece_bytes);
  tcp_stream.expires_after(linger_time);
  struct drain {
    std::shared_ptr<http_session> self;
    void operator()(beast::error_code ec, std::size_t n) {
      self->lingered_bytes_ += n;
      auto& s = beast::get_lowest_layer(self->stream_);
      if (ec || self->lingered_bytes_ > linger_max_bytes) return s.close();
      s.async_read_some(net::buffer(self->upload_buffer_), std::move(*this));
    }
  };
  drain{shared_from_this()}({}, 0);
}

}  // namespace hibiki::gateway
