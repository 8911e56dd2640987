#pragma once
/// AWS Signature Version 4 in its query-string form ("presigned URLs"), on OpenSSL's SHA-256 and
/// HMAC-SHA256: what lets a client PUT or GET one object of an S3-compatible store, and what the
/// directory store checks on its own /files/ URLs. Pure functions, no I/O; thread-safe.
///
/// The steps are AWS's: a canonical request (method, URI-encoded path, sorted query without the
/// signature, the signed headers, `UNSIGNED-PAYLOAD`), a string to sign (algorithm, timestamp,
/// scope, SHA-256 of the canonical request), and the signature: HMAC-SHA256 of the string to sign
/// under a key derived from the secret, the date, the region and the service.

#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence::sigv4 {

/// An access key and its secret. Never logged.
struct credentials {
  std::string access_key;
  std::string secret_key;
};

using name_value = std::pair<std::string, std::string>;

/// One request to presign.
struct presign_input {
  /// "GET", "PUT", "HEAD", ...
  std::string method;
  /// The Host header the client will send: "bucket.s3.amazonaws.com", "127.0.0.1:9000" (with the
  /// port when it is not the scheme's default).
  std::string host;
  /// The path, decoded ("/bucket/my key.txt"); URI-encoded here, slashes kept.
  std::string path;
  /// Query parameters besides the X-Amz-* ones, decoded (e.g. response-content-disposition).
  std::vector<name_value> query;
  /// Headers the client must send with exactly these values, besides host; names lower-case
  /// (e.g. content-length, content-type).
  std::vector<name_value> headers;
  /// The region of the scope ("us-east-1"). Default: us-east-1
  std::string region = "us-east-1";
  /// The service of the scope. Default: s3
  std::string service = "s3";
  /// When the URL starts to be valid (X-Amz-Date).
  std::chrono::system_clock::time_point now;
  /// How long it stays valid (X-Amz-Expires, 1 s to 7 days).
  std::chrono::seconds expires{900};
};

/// The query string of the presigned URL (encoded, without '?'), X-Amz-Signature last.
/// Errors: bad_request (an expiry outside 1 s..7 days, an empty access key or region).
result<std::string> presign_query(const presign_input& input, const credentials& creds);

/// The canonical request of `input` signed by `access_key` (step 1; exposed for tests).
std::string canonical_request(const presign_input& input, std::string_view access_key);
/// The string to sign for a canonical request (step 2).
std::string string_to_sign(std::string_view amz_date, std::string_view scope,
                           std::string_view canonical);
/// The signing key: HMAC chain over "AWS4" + secret, the date (YYYYMMDD), region, service and
/// "aws4_request" (raw 32 bytes).
std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service);

/// A request as a server received it, to check its query-string signature.
struct received_request {
  std::string method;
  /// The Host header as sent.
  std::string host;
  /// The path, decoded.
  std::string path;
  /// Every query parameter, decoded, in any order (the X-Amz-* ones included).
  std::vector<name_value> query;
  /// The request's headers, names lower-case (only the signed ones are looked at).
  std::vector<name_value> headers;
};

/// What a valid signature vouched for.
struct verified {
  /// The signed headers, lower-case, as X-Amz-SignedHeaders listed them.
  std::vector<std::string> signed_headers;
  /// Unix seconds after which the URL is refused.
  std::int64_t expires_at = 0;
};

/// Checks a presigned request: the algorithm, the credential (this access key, `region`, `s3`),
/// the date and expiry against `now` (7 days at most), every signed header present, and the
/// signature (compared in constant time). Errors: forbidden (bad, foreign or expired signature,
/// with the reason), bad_request (X-Amz-* parameters missing or malformed).
result<verified> verify(const received_request& request, const credentials& creds,
                        std::string_view region, std::chrono::system_clock::time_point now);

// ---- the primitives, exposed for the tests and for the directory store ----------------------

/// SHA-256 of `data` as lower-case hex.
std::string sha256_hex(std::string_view data);
/// HMAC-SHA256 of `data` under `key` (raw 32 bytes).
std::string hmac_sha256(std::string_view key, std::string_view data);
/// Lower-case hex of raw bytes.
std::string to_hex(std::string_view bytes);
/// RFC 3986 percent-encoding as SigV4 wants it: unreserved characters (A-Z a-z 0-9 - . _ ~) kept,
/// every other byte as %XX (upper-case); '/' kept when `keep_slash`.
std::string uri_encode(std::string_view text, bool keep_slash);
/// Decodes %XX (and nothing else: '+' stays '+'). nullopt for a bad escape.
std::optional<std::string> uri_decode(std::string_view text);
/// Splits a raw query string ("a=1&b=%20") into decoded pairs. nullopt for a bad escape.
std::optional<std::vector<name_value>> parse_query(std::string_view raw);
/// "YYYYMMDDTHHMMSSZ" (UTC) of a time point.
std::string amz_date(std::chrono::system_clock::time_point t);
/// The Content-Disposition value naming `filename`: `attachment; filename="ASCII"` (a fallback
/// with anything outside printable ASCII, '"' and '\' replaced by '_') and, RFC 6266 / RFC 8187,
/// `filename*=UTF-8''PERCENT-ENCODED`.
std::string attachment_disposition(std::string_view filename);

}  // namespace hibiki::persistence::sigv4
