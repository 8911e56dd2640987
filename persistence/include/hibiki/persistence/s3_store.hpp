#pragma once
/// The object store over an S3-compatible endpoint (MinIO, AWS S3, Ceph RGW, SeaweedFS...):
/// presigned PUT and GET URLs for clients (SigV4, sigv4.hpp), and blocking HEAD, DELETE and a
/// streamed PUT of its own over HTTP(S) with Boost.Beast (certificates verified against the
/// system's CAs, and the host name checked). hibikid's own requests are presigned URLs too (valid
/// one minute), so one signer serves both.

#include <chrono>
#include <memory>
#include <string>

#include "hibiki/persistence/object_store.hpp"
#include "hibiki/persistence/sigv4.hpp"

namespace hibiki::persistence {

struct s3_store_options {
  /// `http(s)://host[:port]` of the S3 API (--s3-endpoint). Default: empty
  std::string endpoint;
  /// The region the signatures are scoped to (--s3-region). Default: us-east-1
  std::string region = "us-east-1";
  /// The bucket (--s3-bucket). Default: hibiki
  std::string bucket = "hibiki";
  /// Path-style URLs (`endpoint/bucket/key`, MinIO's and most self-hosted stores' way) or
  /// virtual-hosted ones (`bucket.endpoint/key`, AWS's preferred way) (--s3-path-style).
  /// Default: true
  bool path_style = true;
  /// The access key and secret (HIBIKI_S3_ACCESS_KEY/HIBIKI_S3_SECRET_KEY or
  /// --s3-credentials-file; never a flag). Default: empty
  sigv4::credentials credentials;
  /// Connecting, and each read or write of hibikid's own requests, must finish within this.
  /// Default: 10 s
  std::chrono::milliseconds timeout{10'000};
};

/// Opens (no I/O: the store is first reached by the first head/remove/put). Errors: bad_request
/// (an endpoint that is not `http(s)://host[:port]`, an invalid bucket name, no credentials).
result<std::shared_ptr<object_store>> open_s3_store(const s3_store_options& options);

}  // namespace hibiki::persistence
