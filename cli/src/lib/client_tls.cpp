#include "hibiki/cli/client_tls.hpp"

#include <openssl/err.h>
#include <openssl/x509_vfy.h>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <boost/asio/error.hpp>
#include <boost/asio/ip/address.hpp>
#include <boost/asio/ssl/error.hpp>
#include <boost/beast/core/error.hpp>
#include <boost/beast/http/error.hpp>

namespace hibiki::cli {

namespace ssl = boost::asio::ssl;

result<std::shared_ptr<ssl::context>> make_client_tls_context(const client_tls_options& options) {
  using reply = result<std::shared_ptr<ssl::context>>;
  auto ctx = std::make_shared<ssl::context>(ssl::context::tls_client);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  if (options.insecure) {
    ctx->set_verify_mode(ssl::verify_none);
    return ctx;
  }
  ctx->set_verify_mode(ssl::verify_peer);
  boost::system::error_code ec;
  ctx->set_default_verify_paths(ec);
  if (ec) return reply(errc::internal, "cannot load the system's CA store: " + ec.message());
  if (!options.ca_file.empty()) {
    if (std::ifstream probe(options.ca_file); !probe) {
      return reply(errc::bad_request,
                   "cannot read --ca-file " + options.ca_file + ": " + std::strerror(errno));
    }
    ctx->load_verify_file(options.ca_file, ec);
    if (ec) {
      return reply(errc::bad_request, "cannot use --ca-file " + options.ca_file + ": " +
                                          ec.message() + " (expected PEM CA certificates)");
    }
  }
  return ctx;
}

status prepare_tls_connection(SSL* ssl, const std::string& host, bool insecure) {
  boost::system::error_code not_ip;
  boost::asio::ip::make_address(host, not_ip);
  const bool is_ip = !not_ip;
  // SNI carries host names only (RFC 6066).
  if (!is_ip && SSL_set_tlsext_host_name(ssl, host.c_str()) != 1)
    return status(errc::internal, "cannot use the host name " + host + " for TLS");
  if (insecure) return status::success();
  auto* param = SSL_get0_param(ssl);
  const int ok = is_ip ? X509_VERIFY_PARAM_set1_ip_asc(param, host.c_str())
                       : X509_VERIFY_PARAM_set1_host(param, host.c_str(), host.size());
  if (ok != 1) return status(errc::internal, "cannot check the certificate for " + host);
  return status::success();
}

std::string tls_handshake_failure(SSL* ssl, const boost::system::error_code& ec,
                                  const std::string& where) {
  const std::string head = "TLS handshake with " + where + " failed: ";
  const long verify = ssl != nullptr ? SSL_get_verify_result(ssl) : X509_V_OK;
  switch (verify) {
    case X509_V_OK:
      break;
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
      return head + "the server's certificate is signed by an unknown CA (" +
             X509_verify_cert_error_string(verify) +
             "): pass --ca-file FILE with the CA that signed it";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return head + "the server's certificate is not for the host in the URL (" +
             X509_verify_cert_error_string(verify) +
             "): use a host name or address the certificate lists";
    default:
      return head +
             "the server's certificate was refused: " + X509_verify_cert_error_string(verify);
  }
  const auto reason = ERR_GET_REASON(static_cast<unsigned long>(ec.value()));
  if (ec.category() == boost::asio::error::get_ssl_category() &&
      (reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG)) {
    return head + "the server does not speak TLS there (" + ec.message() +
           "); for a plain server use http:// or ws://";
  }
  if (ec == boost::asio::ssl::error::stream_truncated || ec == boost::asio::error::eof ||
      ec == boost::asio::error::connection_reset) {
    return head + ec.message() + " (the server closed the connection during the handshake)";
  }
  return head + ec.message();
}

std::string plain_to_tls_hint(const boost::system::error_code& ec) {
  namespace http = boost::beast::http;
  if (ec == http::error::end_of_stream || ec == boost::asio::error::eof ||
      ec == boost::asio::error::connection_reset || ec == http::error::bad_version ||
      ec == http::error::bad_method || ec == http::error::bad_target ||
      ec == http::error::bad_status || ec == http::error::bad_reason ||
      ec == http::error::bad_line_ending || ec == http::error::partial_message) {
    return " (the server closed the connection without an HTTP answer: if it serves TLS, "
           "as hibikid does with --tls-cert and --tls-key, use https:// or wss://)";
  }
  return {};
}

}  // namespace hibiki::cli
