#pragma once
/// How the `hibiki` client trusts a server it reaches over TLS (https://, wss://): the server's
/// certificate is checked against the system's CA store (plus --ca-file) and must name the host
/// the URL names; --insecure turns both checks off. One context for every connection of a
/// command, and one place that turns a failed handshake into a message an operator can act on.

#include <memory>
#include <string>

#include <openssl/ssl.h>
#include <boost/asio/ssl/context.hpp>
#include <boost/system/error_code.hpp>

#include "hibiki/core/result.hpp"

namespace hibiki::cli {

struct client_tls_options {
  /// --ca-file FILE: PEM certificates of a CA to trust besides the system store (a private CA).
  /// Default: empty (the system store only)
  std::string ca_file;
  /// --insecure: no check of the server's certificate or host name. Default: false
  bool insecure = false;
};

/// A client context: TLS 1.2 or later; unless `insecure`, the peer's certificate must chain to
/// the system store or `ca_file`. Errors: bad_request naming the CA file when it cannot be read
/// or holds no PEM certificate.
result<std::shared_ptr<boost::asio::ssl::context>> make_client_tls_context(
    const client_tls_options& options);

/// Prepares one connection's SSL object for `host` (a name or an IP address literal): SNI for a
/// name, and (unless `insecure`) the check that the certificate names that host. Errors: internal
/// when OpenSSL refuses the name.
status prepare_tls_connection(SSL* ssl, const std::string& host, bool insecure);

/// The message for a TLS handshake with `where` (HOST:PORT) that failed with `ec`: an unknown CA
/// (pass --ca-file), a certificate for another host, an expired or otherwise refused
/// certificate, or a server that does not speak TLS there (a plain http:// port).
std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                                  const std::string& where);

/// A hint for a plain (http://, ws://) exchange that failed with `ec` before any answer: a
/// server that closes at once on a plain request is most likely a TLS port. Empty when `ec` says
/// nothing of the kind.
std::string plain_to_tls_hint(const boost::system::error_code& ec);

/// What --insecure prints on stderr when a TLS connection is made without checks.
inline constexpr const char* insecure_warning =
    "hibiki: warning: --insecure: the server's certificate and host name are not checked; "
    "anyone on the path can read and change this connection";

}  // namespace hibiki::cli
