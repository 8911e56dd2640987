#include "tls_stream.hpp"

#include <openssl/ssl.h>

namespace hibiki::bench {

std::shared_ptr<boost::asio::ssl::context> client_tls_context() {
  static const auto ctx = [] {
    auto c = std::make_shared<boost::asio::ssl::context>(boost::asio::ssl::context::tls_client);
    SSL_CTX_set_min_proto_version(c->native_handle(), TLS1_2_VERSION);
    c->set_verify_mode(boost::asio::ssl::verify_none);
    return c;
  }();
  return ctx;
}

}  // namespace hibiki::bench
