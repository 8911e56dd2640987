#include "openssl_error_queue.hpp"

#include <dlfcn.h>

#include <cstdio>
#include <cstdlib>

#include <openssl/err.h>
#include <openssl/ssl.h>

namespace {

/// libssl's own definition of `name` (the next one after this executable's).
template <class Fn>
Fn real(const char* name) {
  auto* sym = dlsym(RTLD_NEXT, name);
  if (sym == nullptr) {
    // Without it no TLS call can be made at all; there is no way to go on.
    std::fprintf(stderr, "hibikid: cannot find %s in libssl: %s\n", name, dlerror());
    std::abort();
  }
  return reinterpret_cast<Fn>(sym);
}

}  // namespace

extern "C" {

int SSL_read(SSL* ssl, void* buf, int num) {
  static const auto next = real<int (*)(SSL*, void*, int)>("SSL_read");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_write(SSL* ssl, const void* buf, int num) {
  static const auto next = real<int (*)(SSL*, const void*, int)>("SSL_write");
  ERR_clear_error();
  return next(ssl, buf, num);
}

int SSL_accept(SSL* ssl) {
  static const auto next = real<int (*)(SSL*)>("SSL_accept");
  ERR_clear_error();
  return next(ssl);
}

int SSL_connect(SSL* ssl) {
  static const auto next = real<int (*)(SSL*)>("SSL_connect");
  ERR_clear_error();
  return next(ssl);
}

}  // extern "C"

namespace hibiki::actors {

bool openssl_error_queue_guarded() {
  using read_fn = int (*)(SSL*, void*, int);
  auto* seen = dlsym(RTLD_DEFAULT, "SSL_read");
  return seen != nullptr && reinterpret_cast<read_fn>(seen) == &SSL_read;
}

}  // namespace hibiki::actors
