#pragma once
/// The server's TLS certificate and key, loaded into an OpenSSL context that new connections
/// take. reload() builds a fresh context from the same files and swaps it in only when it loads:
/// connections already open keep the context they were made with (they hold a shared_ptr), new
/// handshakes use the new one, and a failed reload keeps serving the old certificate.

#include <memory>
#include <mutex>
#include <string>

#include <boost/asio/ssl/context.hpp>

#include "hibiki/core/result.hpp"

namespace hibiki::gateway {

class tls_credentials {
 public:
  using context = boost::asio::ssl::context;

  /// Loads `cert_file` (a PEM chain, the server certificate first) and `key_file` (its PEM key).
  /// Errors: bad_request naming the file and OpenSSL's reason (unreadable, not PEM, key does not
  /// match the certificate).
  static result<std::shared_ptr<tls_credentials>> load(std::string cert_file, std::string key_file);

  /// The context for a new connection.
  std::shared_ptr<context> current() const;

  /// Reads the files again; on success new connections use them. On error nothing changes.
  status reload();

  /// The SHA-256 fingerprint of the certificate in use, hex (for the log line of a reload).
  std::string fingerprint() const;

 private:
  tls_credentials(std::string cert_file, std::string key_file, std::shared_ptr<context> ctx);
  static result<std::shared_ptr<context>> make_context(const std::string& cert_file,
                                                       const std::string& key_file);

  const std::string cert_file_;
  const std::string key_file_;
  mutable std::mutex mutex_;
  std::shared_ptr<context> current_;
};

}  // namespace hibiki::gateway
