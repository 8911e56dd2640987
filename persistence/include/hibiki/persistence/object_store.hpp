#pragma once
/// Where the bytes of shared files live. hibikid never carries an upload or a download itself: it
/// signs URLs (AWS Signature Version 4, query-string form) that let a client PUT or GET one object
/// directly, and later checks the object is there. Two stores share this interface: an
/// S3-compatible bucket (MinIO, AWS S3, Ceph RGW, ...) and, when none is configured, a directory
/// under --data-dir that the gateway serves on signed URLs of the same shape.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

/// A URL a client may use once the store has checked its signature, and when it stops working.
struct signed_url {
  std::string url;
  /// Unix seconds after which the store refuses the URL.
  std::int64_t expires_at = 0;
};

/// What a HEAD of an object says.
struct object_info {
  std::uint64_t size = 0;
  std::string content_type;
};

/// Pulls up to `capacity` bytes into `buffer`; returns how many (0 = the end) or an error.
using byte_source = std::function<result<std::size_t>(char* buffer, std::size_t capacity)>;

class object_store {
 public:
  virtual ~object_store() = default;

  /// A URL to PUT exactly `size` bytes of `content_type` at `key`, valid for `ttl` from `now`.
  /// Content-Length and Content-Type are signed headers: the store refuses any other length or
  /// type. No I/O; thread-safe. Errors: bad_request (key, size or type the store cannot sign).
  virtual result<signed_url> presign_put(const std::string& key, std::uint64_t size,
                                         const std::string& content_type, std::chrono::seconds ttl,
                                         std::chrono::system_clock::time_point now) = 0;

  /// A URL to GET `key`, answered with `Content-Disposition: attachment` naming `filename`
  /// (UTF-8 names included, RFC 6266 `filename*`). No I/O; thread-safe.
  virtual result<signed_url> presign_get(const std::string& key, const std::string& filename,
                                         std::chrono::seconds ttl,
                                         std::chrono::system_clock::time_point now) = 0;

  /// Blocking (callers run it on an I/O thread). Errors: not_found (no such object),
  /// unavailable (the store cannot be reached or answers 5xx).
  virtual result<object_info> head(const std::string& key) = 0;

  /// Blocking. Removing an absent object succeeds. Errors: unavailable.
  virtual status remove(const std::string& key) = 0;

  /// Blocking: streams exactly `size` bytes pulled from `source` into `key` without holding them
  /// whole in memory (the REST API's multipart upload, which does pass through hibikid).
  /// Errors: bad_request (the source ended early or ran over `size`), unavailable.
  virtual status put(const std::string& key, std::uint64_t size, const std::string& content_type,
                     const byte_source& source) = 0;
};

}  // namespace hibiki::persistence
