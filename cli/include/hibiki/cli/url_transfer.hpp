#pragma once
/// The bytes of `hibiki upload` and `hibiki download`: one HTTP/1.1 PUT or GET of a pre-signed
/// URL (an S3-compatible store such as MinIO over http:// or AWS over https://, or hibikid's own
/// directory store), streamed between the store and a file descriptor in 64 KiB pieces so a file
/// is never held whole in memory. https:// is trusted like the server (client_tls.hpp: the
/// system's CAs plus --ca-file, the URL's host checked). Every step (connect, handshake, each
/// piece, the answer) is bounded by a timeout, so a silent store fails instead of hanging.

#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>

#include "hibiki/cli/client_tls.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// A pre-signed URL split for one request: where to connect, the Host it was signed for and the
/// request target (path and query exactly as signed).
struct transfer_url {
  bool tls = false;       ///< https://
  std::string host;       ///< to connect to and to check the certificate against (no brackets)
  std::string port;       ///< "80"/"443" when the URL names none
  std::string authority;  ///< the Host header: the URL's host[:port] as written
  std::string target;     ///< "/bucket/key?X-Amz-..."; "/" when the URL has no path
};

/// http://HOST[:PORT][/PATH][?QUERY] or https://... Errors: bad_request (another scheme, no
/// host, a bad port, a user part, a fragment, spaces or control characters).
result<transfer_url> parse_transfer_url(std::string_view url);

/// What the store answered.
struct transfer_answer {
  unsigned status = 0;
  std::uint64_t bytes = 0;  ///< body bytes sent (PUT) or written to the descriptor (GET, 200)
  std::string error_body;   ///< the start of the body of an answer other than 200 (64 KiB at most)
};

/// Called after each piece with the bytes moved so far.
using transfer_progress = std::function<void(std::uint64_t bytes)>;

/// PUT exactly `size` bytes read from `fd` (from its current offset) with `Content-Type` and
/// `Content-Length`, as a pre-signed PUT URL requires. `source_name` names `fd` in messages.
/// Errors: unavailable (the store cannot be reached, TLS refused, no answer in time, the
/// connection lost), internal (`fd` unreadable or shorter than `size`), bad_request (--ca-file
/// unusable).
result<transfer_answer> put_from_fd(const transfer_url& url, const client_tls_options& tls, int fd,
                                    const std::string& source_name, std::uint64_t size,
                                    const std::string& content_type,
                                    std::chrono::milliseconds step_timeout,
                                    const transfer_progress& progress = {});

/// GET the URL; a 200's body goes to `fd` (any other status's to error_body). Errors:
/// unavailable (as put_from_fd, and a body cut short), internal (writing `fd` failed),
/// bad_request (--ca-file unusable).
result<transfer_answer> get_to_fd(const transfer_url& url, const client_tls_options& tls, int fd,
                                  const std::string& sink_name,
                                  std::chrono::milliseconds step_timeout,
                                  const transfer_progress& progress = {});

/// "HTTP 403 AccessDenied: Request has expired" from an answer and an S3 XML error body (its
/// <Code> and <Message>); "HTTP 502" plus the body's start when it is not S3 XML.
std::string store_refusal(unsigned status, std::string_view body);

}  // namespace hibiki::cli
