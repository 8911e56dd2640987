#pragma once
/// Keeps one refused TLS connection from dropping the others (CAF 0.17.6's OpenSSL module).
///
/// OpenSSL keeps an error queue per thread, and SSL_get_error() only answers reliably when that
/// queue was empty before the TLS call it is asked about: with a stale entry it reports
/// SSL_ERROR_SSL (fatal) instead of SSL_ERROR_WANT_READ / WANT_WRITE (try again later). CAF
/// 0.17.6's OpenSSL session asks SSL_get_error() after every SSL_read, SSL_write, SSL_accept and
/// SSL_connect without emptying the queue first, and empties it only inside log statements that
/// Debian's build compiles out. All of a node's connections share CAF's one network thread, so
/// the error a refused or dropped connection leaves (OpenSSL 3: "unexpected eof while reading")
/// made the next "would block" on a member's healthy link look fatal: CAF closed it and killed
/// the proxies of that node. Anyone able to open a TCP connection to the cluster port could
/// drop the links between the nodes that way, and at start the redundant connection CAF closes
/// when two nodes connect to each other did it every time (docs/decisions/0009).
///
/// This file defines SSL_read, SSL_write, SSL_accept and SSL_connect in the executable: the
/// dynamic linker binds CAF's (and every other library's) calls to them, and each empties the
/// calling thread's error queue, as OpenSSL's documentation asks, before calling the real
/// function in libssl. Nothing else changes: an error of this very call is still reported.

namespace hibiki::actors {

/// True when this process's TLS calls go through the wrappers above (checked through the dynamic
/// linker, as CAF's library sees them). Calling it also keeps the wrappers linked in.
bool openssl_error_queue_guarded();

}  // namespace hibiki::actors
