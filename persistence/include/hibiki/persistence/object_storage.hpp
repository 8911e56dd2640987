#pragma once
/// THE place that chooses where shared files' bytes live, from plain options (as open_backend does
/// for the journal): the directory store under the data directory by default, an S3-compatible
/// bucket when an endpoint is configured. hibikid calls it and hands the store to the gateway and
/// the node.

#include <chrono>
#include <memory>
#include <string>

#include "hibiki/persistence/object_store.hpp"
#include "hibiki/persistence/s3_store.hpp"

namespace hibiki::persistence {

struct object_store_options {
  /// The directory store's root (hibikid: <data-dir>/files). Default: empty
  std::string directory;
  /// The directory store's public URL, `scheme://host[:port]` (--public-url). Default: empty =
  /// set later by hibikid from its listener's address (directory_store::set_public_url)
  std::string public_url;
  /// The S3-compatible store; used when `s3.endpoint` is set. Default: s3_store_options' defaults
  /// (no endpoint = the directory store)
  s3_store_options s3;
};

/// Opens the store `options` describe. Errors: bad_request (options that do not fit), unavailable
/// (the directory cannot be created).
result<std::shared_ptr<object_store>> open_object_store(const object_store_options& options);

/// What the startup line says about the store: "directory DIR" or "S3 bucket B at ENDPOINT
/// (path-style)". Never the credentials.
std::string describe_object_store(const object_store_options& options);

}  // namespace hibiki::persistence
