#pragma once
/// The object store used when no S3 endpoint is configured: objects are files under
/// `<data-dir>/files`, and its signed URLs have S3's shape (SigV4 query-string signatures) but
/// point at hibikid's own HTTP listener, `PUBLIC_URL/files/KEY?X-Amz-...`. The gateway serves
/// those paths: `authorize` checks a request against its signature, `begin_put` streams a PUT's
/// body to disk (a temp file renamed into place when complete), `object_path` finds a GET's bytes.
///
/// Layout of the root: `objects/KEY` (the bytes), `types/KEY` (the Content-Type), `tmp/` (uploads
/// in progress, removed at open), `.signing-key` (the random secret the URLs are signed with,
/// mode 0600, kept across restarts so a URL handed out before a restart still works).
///
/// One node only: another node has its own directory. A cluster needs an S3-compatible store.

#include <filesystem>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/persistence/object_store.hpp"
#include "hibiki/persistence/sigv4.hpp"

namespace hibiki::persistence {

struct directory_store_options {
  /// Where the objects live. Default: empty (hibikid passes <data-dir>/files)
  std::string root;
  /// `scheme://host[:port]` clients reach hibikid's HTTP listener at; the signed URLs start with
  /// it and their Host is signed. May be set later with set_public_url (a listener on port 0).
  /// Default: empty
  std::string public_url;
};

/// Whether `key` is an object key both stores accept: 1 to 512 bytes of `A-Z a-z 0-9 - . _ /`,
/// '/'-separated segments that are neither empty nor `.` nor `..`. Keys are made by hibikid, never
/// by clients, so the rule can be strict: no path on disk or in a URL can escape its place.
bool valid_object_key(std::string_view key);

class directory_store final : public object_store {
 public:
  /// The path prefix of its URLs, served by the gateway.
  static constexpr std::string_view url_prefix = "/files/";
  /// The SigV4 scope region of its URLs.
  static constexpr std::string_view region = "local";

  /// Creates the directories and the signing key when missing. Errors: unavailable (the
  /// directory cannot be created or written), bad_request (a public URL that is not
  /// `http(s)://host[:port]`).
  static result<std::shared_ptr<directory_store>> open(const directory_store_options& options);

  /// Sets the base of the URLs it signs. Errors: bad_request (not `http(s)://host[:port]`).
  status set_public_url(const std::string& url);
  std::string public_url() const;

  result<signed_url> presign_put(const std::string& key, std::uint64_t size,
                                 const std::string& content_type, std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) override;
  result<signed_url> presign_get(const std::string& key, const std::string& filename,
                                 std::chrono::seconds ttl,
                                 std::chrono::system_clock::time_point now) override;
  /// A URL for HEAD (the object's size and type without its bytes); S3 signs the method too.
  result<signed_url> presign_head(const std::string& key, std::chrono::seconds ttl,
                                  std::chrono::system_clock::time_point now);
  result<object_info> head(const std::string& key) override;
  status remove(const std::string& key) override;
  status put(const std::string& key, std::uint64_t size, const std::string& content_type,
             const byte_source& source) override;

  /// What a request on one of its URLs may do, once its signature checked out.
  struct grant {
    std::string key;
    /// PUT: the signed Content-Length and Content-Type the body must match.
    std::uint64_t size = 0;
    std::string content_type;
    /// GET: the signed response-content-disposition (empty when none was signed).
    std::string content_disposition;
  };
  /// Checks a request on `url_prefix`: `target` is the raw request target (path and query),
  /// `headers` the request's headers with lower-case names. The key must be valid, the signature
  /// this store's, unexpired, for this method and Host; a PUT must have signed Content-Length and
  /// Content-Type. Errors: bad_request (malformed target or X-Amz parameters, bad key),
  /// forbidden (signature, scope, expiry, headers).
  result<grant> authorize(std::string_view method, std::string_view target,
                          const std::vector<sigv4::name_value>& headers,
                          std::chrono::system_clock::time_point now) const;

  /// An object being written: bytes go to a temp file; `commit` renames it into place once
  /// exactly `size` bytes came. Destroyed without a commit, the temp file is removed.
  class writer {
   public:
    virtual ~writer() = default;
    /// Errors: bad_request (more bytes than announced), unavailable (disk).
    virtual status write(const char* data, std::size_t size) = 0;
    /// Errors: bad_request (fewer bytes than announced), unavailable (disk).
    virtual status commit() = 0;
  };
  /// Errors: bad_request (bad key), unavailable (disk).
  result<std::unique_ptr<writer>> begin_put(const std::string& key, std::uint64_t size,
                                            const std::string& content_type);
  /// Where the bytes of `key` are, and its stored type. Errors: not_found, bad_request (bad key).
  struct stored_object {
    std::filesystem::path path;
    object_info info;
  };
  result<stored_object> find(const std::string& key) const;

  const std::filesystem::path& root() const { return root_; }

 private:
  directory_store(std::filesystem::path root, sigv4::credentials creds);
  result<signed_url> presign(const std::string& method, const std::string& key,
                             std::vector<sigv4::name_value> query,
                             std::vector<sigv4::name_value> headers, std::chrono::seconds ttl,
                             std::chrono::system_clock::time_point now);

  std::filesystem::path root_;
  sigv4::credentials creds_;
  mutable std::mutex mutex_;  ///< guards the public URL parts
  std::string scheme_;
  std::string authority_;
};

}  // namespace hibiki::persistence
