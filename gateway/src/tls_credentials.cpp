#include "tls_credentials.hpp"

#include <cerrno>
#include <cstring>
#include <fstream>

#include <openssl/err.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

namespace hibiki::gateway {
namespace {

/// OpenSSL's queued errors as one line (and the queue emptied, so it does not leak into the next
/// caller's report).
std::string openssl_errors() {
  std::string out;
  while (unsigned long e = ERR_get_error()) {
    char buf[256];
    ERR_error_string_n(e, buf, sizeof buf);
    if (!out.empty()) out += "; ";
    out += buf;
  }
  return out.empty() ? "unknown OpenSSL error" : out;
}

status readable(const std::string& flag, const std::string& file) {
  std::ifstream in(file, std::ios::binary);
  if (!in)
    return status(errc::bad_request,
                  "cannot read " + flag + " file '" + file + "': " + std::strerror(errno));
  return status::success();
}

}  // namespace

tls_credentials::tls_credentials(std::string cert_file, std::string key_file,
                                 std::shared_ptr<context> ctx)
    : cert_file_(std::move(cert_file)), key_file_(std::move(key_file)), current_(std::move(ctx)) {}

result<std::shared_ptr<tls_credentials::context>> tls_credentials::make_context(
    const std::string& cert_file, const std::string& key_file) {
  using r = result<std::shared_ptr<context>>;
  if (auto st = readable("--tls-cert", cert_file); !st) return st.error();
  if (auto st = readable("--tls-key", key_file); !st) return st.error();
  ERR_clear_error();
  auto ctx = std::make_shared<context>(context::tls_server);
  SSL_CTX* native = ctx->native_handle();
  // TLS 1.2 and 1.3 only; OpenSSL's default cipher lists for those are the modern ones.
  if (SSL_CTX_set_min_proto_version(native, TLS1_2_VERSION) != 1)
    return r(errc::bad_request, "cannot require TLS 1.2: " + openssl_errors());
  SSL_CTX_set_options(
      native, SSL_OP_NO_COMPRESSION | SSL_OP_NO_RENEGOTIATION | SSL_OP_CIPHER_SERVER_PREFERENCE);
  if (SSL_CTX_use_certificate_chain_file(native, cert_file.c_str()) != 1)
    return r(errc::bad_request, "--tls-cert file '" + cert_file +
                                    "' is not a usable PEM certificate chain: " + openssl_errors());
  const auto mismatch = [&] {
    return r(errc::bad_request, "--tls-key file '" + key_file +
                                    "' does not match the certificate in '" + cert_file +
                                    "': " + openssl_errors());
  };
  if (SSL_CTX_use_PrivateKey_file(native, key_file.c_str(), SSL_FILETYPE_PEM) != 1) {
    // OpenSSL 3 checks the pair while loading the key.
    if (ERR_GET_REASON(ERR_peek_last_error()) == X509_R_KEY_VALUES_MISMATCH) return mismatch();
    return r(errc::bad_request, "--tls-key file '" + key_file +
                                    "' is not a usable PEM private key: " + openssl_errors());
  }
  if (SSL_CTX_check_private_key(native) != 1) return mismatch();
  return ctx;
}

result<std::shared_ptr<tls_credentials>> tls_credentials::load(std::string cert_file,
                                                               std::string key_file) {
  auto ctx = make_context(cert_file, key_file);
  if (!ctx) return ctx.error();
  return std::shared_ptr<tls_credentials>(
      new tls_credentials(std::move(cert_file), std::move(key_file), std::move(*ctx)));
}

std::shared_ptr<tls_credentials::context> tls_credentials::current() const {
  std::lock_guard lock(mutex_);
  return current_;
}

status tls_credentials::reload() {
  auto ctx = make_context(cert_file_, key_file_);
  if (!ctx) return ctx.error();
  std::lock_guard lock(mutex_);
  current_ = std::move(*ctx);
  return status::success();
}

std::string tls_credentials::fingerprint() const {
  auto ctx = current();
  X509* cert = SSL_CTX_get0_certificate(ctx->native_handle());
  if (!cert) return {};
  unsigned char md[EVP_MAX_MD_SIZE];
  unsigned int n = 0;
  if (X509_digest(cert, EVP_sha256(), md, &n) != 1) return {};
  static constexpr char hex[] = "0123456789abcdef";
  std::string out;
  for (unsigned i = 0; i < n; ++i) {
    if (i) out += ':';
    out += hex[md[i] >> 4];
    out += hex[md[i] & 15];
  }
  return out;
}

}  // namespace hibiki::gateway
