// The directory store's signed URLs on /files/ (persistence/directory_store.hpp): a PUT's body is
// streamed to a temp file piece by piece (never held whole) and renamed into place once exactly the
// signed Content-Length arrived; GET and HEAD serve the object. Errors are S3's: 400, 403 (bad or
// expired signature, another length or type than signed), 404, 405, 411, 503.
#include <algorithm>
#include <cctype>
#include <nlohmann/json.hpp>

#include "hibiki/core/log.hpp"
#include "http_session.hpp"
#include "request_parsing.hpp"

namespace hibiki::gateway {
namespace {

bool is_file_path(std::string_view path) {
  const auto prefix = persistence::directory_store::url_prefix;
  return path.substr(0, prefix.size()) == prefix;
}

std::string xml_escaped(std::string_view text) {
  std::string out;
  for (char c : text) {
    switch (c) {
      case '&':
        out += "&amp;";
        break;
      case '<':
        out += "&lt;";
        break;
      case '>':
        out += "&gt;";
        break;
      default:
        out += c;
    }
  }
  return out;
}

/// The request's headers, names lower-cased, for SigV4's check.
template <class Fields>
std::vector<persistence::sigv4::name_value> lower_case_headers(const Fields& fields) {
  std::vector<persistence::sigv4::name_value> headers;
  for (const auto& field : fields) {
    std::string name(to_std(field.name_string()));
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    headers.emplace_back(std::move(name), std::string(to_std(field.value())));
  }
  return headers;
}

std::string refusal_body(std::string_view code, std::string_view message) {
  return nlohmann::json{{"error", {{"code", code}, {"message", message}}}}.dump();
}

bool header_safe(std::string_view value) {
  return value.find_first_of("\r\n") == std::string_view::npos;
}

}  // namespace

bool http_session::is_file_upload(std::string_view path) const {
  return ctx_->files && verdict_ == connection_limits::verdict::admitted &&
         parser_->get().method() == http::verb::put && is_file_path(path);
}

void http_session::send_s3_error(http::status status, std::string_view code,
                                 std::string_view message) {
  send_body(status, "application/xml",
            "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>" + std::string(code) +
                "</Code><Message>" + xml_escaped(message) + "</Message></Error>");
}

void http_session::send_store_error(const hibiki::error& e) {
  switch (e.code) {
    case errc::forbidden:
      return send_s3_error(http::status::forbidden, "AccessDenied", e.message);
    case errc::not_found:
      return send_s3_error(http::status::not_found, "NoSuchKey", e.message);
    case errc::bad_request:
      return send_s3_error(http::status::bad_request, "InvalidRequest", e.message);
    case errc::unavailable:
      return send_s3_error(http::status::service_unavailable, "ServiceUnavailable", e.message);
    default:
      return send_s3_error(http::status::internal_server_error, "InternalError", e.message);
  }
}

void http_session::allow_file_origin(std::string_view origin) {
  if (origin.empty()) return;                           // not a browser page: nothing to allow
  const auto& allowed = ctx_->options.allowed_origins;  // resolved by server::start
  if (std::any_of(allowed.begin(), allowed.end(),
                  [&](const std::string& a) { return a == "*" || a == origin; })) {
    cors_origin_ = std::string(origin);
  }
}

void http_session::answer_file_preflight(const http::request<http::string_body>& req) {
  allow_file_origin(to_std(req[http::field::origin]));
  const auto method = to_std(req[http::field::access_control_request_method]);
  if (cors_origin_.empty() || !(method == "GET" || method == "PUT" || method == "HEAD")) {
    cors_origin_.clear();
    return send_s3_error(http::status::forbidden, "AccessForbidden",
                         "CORSResponse: this CORS request is not allowed");
  }
  http::response<http::string_body> res{http::status::no_content, version_};
  res.set(http::field::access_control_allow_methods, "GET, PUT, HEAD");
  res.set(http::field::access_control_allow_headers, "content-type");
  res.set(http::field::access_control_max_age, "600");
  send_with_body(std::move(res));
}

void http_session::handle_file_upload() {
  const auto& req = parser_->get();
  allow_file_origin(to_std(req[http::field::origin]));
  access_.begin(to_std(req.method_string()), to_std(req.target()), header_bytes_);
  version_ = req.version();
  head_request_ = false;
  path_class_ = metrics::http_path::file;
  // Until the whole body is read, an answer must close the connection: the unread rest of the
  // body would otherwise be taken for the next request.
  keep_alive_ = false;
  const auto target = to_std(req.target());
  if (auto refused = check_access(route_of(split_target(target).path), role_, ctx_->options,
                                  to_std(req[http::field::authorization]))) {
    return send_json(static_cast<http::status>(refused->status),
                     refusal_body(refused->code, refused->message));
  }
  if (!parser_->content_length()) {
    return send_s3_error(http::status::length_required, "MissingContentLength",
                         "an upload needs a Content-Length (the one signed)");
  }
  auto grant = ctx_->files->authorize("PUT", target, lower_case_headers(req),
                                      std::chrono::system_clock::now());
  if (!grant) return send_store_error(grant.error());
  if (*parser_->content_length() != grant->size) {
    return send_s3_error(http::status::forbidden, "AccessDenied",
                         "the Content-Length is not the signed one");
  }
  auto writer = ctx_->files->begin_put(grant->key, grant->size, grant->content_type);
  if (!writer) {
    log::warn("gateway") << "file upload: " << writer.error().message;
    return send_store_error(writer.error());
  }
  upload_ = std::move(*writer);
  stream_body(grant->size, &http_session::on_upload);
}

void http_session::on_upload(beast::error_code ec, std::size_t bytes) {
  access_.add_bytes_in(bytes);
  if (ec == http::error::need_buffer) ec = {};
  if (ec) {
    // Cut off, timed out or over the signed length: nothing is stored (the writer's destructor
    // removes the temp file). There is nobody sensible to answer on a broken stream.
    upload_.reset();
    upload_parser_.reset();
    if (ec == http::error::body_limit) {
      return send_s3_error(http::status::bad_request, "IncompleteBody",
                           "more bytes than the signed Content-Length");
    }
    return do_close();
  }
  const auto filled = upload_buffer_.size() - upload_parser_->get().body().size;
  if (filled > 0) {
    if (auto st = upload_->write(upload_buffer_.data(), filled); !st) {
      upload_.reset();
      upload_parser_.reset();
      log::warn("gateway") << "file upload: " << st.error().message;
      return send_store_error(st.error());
    }
  }
  if (!upload_parser_->is_done()) return read_body_piece(&http_session::on_upload);
  auto st = upload_->commit();
  upload_.reset();
  const bool keep = upload_parser_->get().keep_alive() && !stopping_;
  upload_parser_.reset();
  if (!st) {
    log::warn("gateway") << "file upload: " << st.error().message;
    return send_store_error(st.error());
  }
  keep_alive_ = keep;  // the whole request was read: the connection can serve the next one
  send_body(http::status::ok, "application/xml", {});
}

void http_session::handle_file_download(const http::request<http::string_body>& req) {
  if (req.method() == http::verb::options) return answer_file_preflight(req);
  allow_file_origin(to_std(req[http::field::origin]));
  if (req.method() != http::verb::get && req.method() != http::verb::head) {
    return send_s3_error(http::status::method_not_allowed, "MethodNotAllowed",
                         "use the signed method (GET, HEAD or PUT)");
  }
  auto grant = ctx_->files->authorize(to_std(req.method_string()), to_std(req.target()),
                                      lower_case_headers(req), std::chrono::system_clock::now());
  if (!grant) return send_store_error(grant.error());
  auto found = ctx_->files->find(grant->key);
  if (!found) return send_store_error(found.error());
  http::file_body::value_type file;
  beast::error_code ec;
  file.open(found->path.c_str(), beast::file_mode::scan, ec);
  if (ec) return send_store_error({errc::not_found, "no such object"});
  const auto size = file.size();
  auto set_headers = [&](auto& res) {
    res.set(http::field::content_type, found->info.content_type);
    if (!grant->content_disposition.empty() && header_safe(grant->content_disposition)) {
      res.set(http::field::content_disposition, grant->content_disposition);
    }
    res.set(http::field::cache_control, "private, no-store");
    // Members' files come from the chat's own origin: never sniffed into HTML, never run as the
    // chat's page even if a browser were to show one inline.
    res.set("X-Content-Type-Options", "nosniff");
    res.set("Content-Security-Policy", "sandbox");
    if (!cors_origin_.empty()) {
      res.set(http::field::access_control_allow_origin, cors_origin_);
      res.set(http::field::access_control_expose_headers, "Content-Disposition, Content-Length");
      res.set(http::field::vary, "Origin");
    }
    res.content_length(size);
    res.keep_alive(keep_alive_ && !stopping_);
  };
  if (req.method() == http::verb::head) {
    http::response<http::empty_body> res{http::status::ok, version_};
    set_headers(res);
    return send(std::move(res));
  }
  http::response<http::file_body> res{std::piecewise_construct, std::make_tuple(std::move(file)),
                                      std::make_tuple(http::status::ok, version_)};
  set_headers(res);
  send(std::move(res));
}

}  // namespace hibiki::gateway
