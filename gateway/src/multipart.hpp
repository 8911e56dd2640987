#pragma once
/// An incremental `multipart/form-data` reader (RFC 7578 over RFC 2046's framing), for the REST
/// API's file upload: the body is fed in pieces as they arrive from the socket and each part's
/// bytes are handed on as they are found, so nothing holds a whole part. What it keeps is bounded:
/// one part's header (max_header_bytes) and, of the data, only the last few bytes that could be
/// the start of a boundary. Pure (no socket, no file), so it is unit-tested byte by byte.

#include <cstddef>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

/// The boundary of a `Content-Type: multipart/form-data; boundary=...` header value (the media
/// type in any case, the parameter quoted or not). Errors: bad_request when the type is not
/// multipart/form-data, or the boundary is missing, empty, over 70 characters, or holds a
/// character RFC 2046 does not allow.
result<std::string> multipart_boundary(std::string_view content_type);

/// What a part's header says (Content-Disposition: form-data; name="..."; filename="...").
struct multipart_part {
  std::string name;
  /// The `filename` parameter (quoted-string with `\` escapes, or RFC 5987 `filename*=UTF-8''...`,
  /// which wins), when given. Not checked here: the caller decides what a good name is.
  std::optional<std::string> filename;
  /// The part's Content-Type; empty when it has none.
  std::string content_type;
};

class multipart_reader {
 public:
  /// Called when a part's header has been read; an error stops the reader with it.
  using begin_fn = std::function<status(const multipart_part&)>;
  /// Called with the next bytes of the current part (never empty); an error stops the reader.
  using data_fn = std::function<status(std::string_view)>;
  /// Called when the current part ends; an error stops the reader.
  using end_fn = std::function<status()>;

  /// A part's header section may be at most this long. 8 KiB
  static constexpr std::size_t max_header_bytes = 8 * 1024;
  /// At most this many parts (Chatwork's form has two). 16
  static constexpr std::size_t max_parts = 16;

  multipart_reader(std::string boundary, begin_fn on_begin, data_fn on_data, end_fn on_end);

  /// Reads the next piece of the body. Once an error was returned every later call returns it
  /// again. Errors: bad_request (malformed framing or header; the message says what), or what a
  /// callback returned.
  status feed(std::string_view piece);
  /// The body has ended. Errors: bad_request when the closing boundary was not read (a body cut
  /// short), or the error feed returned.
  status finish();
  /// The closing boundary was read (what follows it is ignored).
  bool done() const { return state_ == state::epilogue; }

 private:
  enum class state { preamble, after_boundary, header, data, epilogue, failed };
  status fail(hibiki::error e);
  status run();
  status parse_header(std::string_view text);

  /// "\r\n--" + boundary: what ends a part (the body is read as if it began with "\r\n", so the
  /// first boundary needs no special case).
  std::string delimiter_;
  begin_fn on_begin_;
  data_fn on_data_;
  end_fn on_end_;
  state state_ = state::preamble;
  /// Bytes received and not yet consumed: at most a piece plus a header or a delimiter's length.
  std::string pending_;
  std::size_t parts_ = 0;
  hibiki::error error_{errc::ok, {}};
};

}  // namespace hibiki::gateway
