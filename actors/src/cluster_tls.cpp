#include "cluster_tls.hpp"

#include <fcntl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <ctime>

#include <openssl/bio.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/x509.h>
#include <openssl/x509v3.h>

namespace hibiki::actors {

namespace {

/// A PEM file larger than this is not a certificate bundle anyone meant.
constexpr std::size_t max_pem_bytes = 1 << 20;

struct bio_free {
  void operator()(BIO* b) const { BIO_free(b); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct store_free {
  void operator()(X509_STORE* s) const { X509_STORE_free(s); }
};
struct store_ctx_free {
  void operator()(X509_STORE_CTX* c) const { X509_STORE_CTX_free(c); }
};
struct stack_free {
  void operator()(STACK_OF(X509) * s) const { sk_X509_pop_free(s, X509_free); }
};
using bio_ptr = std::unique_ptr<BIO, bio_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_list = std::vector<x509_ptr>;

hibiki::error bad(const std::string& flag, const std::string& file, const std::string& what) {
  return hibiki::error{errc::bad_request, "--" + flag + " " + file + ": " + what};
}

/// The whole file, or why it cannot be read.
result<std::string> read_pem_file(const std::string& flag, const std::string& path) {
  if (path.empty()) return hibiki::error{errc::bad_request, "--" + flag + " is empty"};
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return bad(flag, path, std::string("cannot open: ") + std::strerror(errno));
  struct ::stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad(flag, path, "not a regular file");
  }
  std::string text;
  char buf[8192];
  for (;;) {
    auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      const int e = errno;
      ::close(fd);
      return bad(flag, path, std::string("cannot read: ") + std::strerror(e));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > max_pem_bytes) {
      ::close(fd);
      return bad(flag, path, "larger than 1 MiB: not a PEM certificate or key");
    }
  }
  ::close(fd);
  return text;
}

bio_ptr memory_bio(const std::string& text) {
  return bio_ptr(BIO_new_mem_buf(text.data(), static_cast<int>(text.size())));
}

/// Every certificate in the PEM text, in order (other PEM blocks are skipped).
x509_list read_certificates(const std::string& text) {
  x509_list out;
  auto bio = memory_bio(text);
  while (bio) {
    X509* x = PEM_read_bio_X509(bio.get(), nullptr, nullptr, nullptr);
    if (!x) break;
    out.emplace_back(x);
  }
  ERR_clear_error();  // the end of the text reads as "no start line"
  return out;
}

/// Refuses to ask for a passphrase, and remembers that one was needed.
int no_passphrase(char*, int, int, void* asked) {
  *static_cast<bool*>(asked) = true;
  return -1;
}

std::string name_text(const X509_NAME* name) {
  bio_ptr bio(BIO_new(BIO_s_mem()));
  if (!bio || X509_NAME_print_ex(bio.get(), name, 0, XN_FLAG_RFC2253) < 0) return "?";
  char* data = nullptr;
  auto len = BIO_get_mem_data(bio.get(), &data);
  return std::string(data, static_cast<std::size_t>(len));
}

std::string time_text(const ASN1_TIME* t) {
  std::tm tm{};
  if (!t || ASN1_TIME_to_tm(t, &tm) != 1) return "?";
  char out[32];
  std::strftime(out, sizeof out, "%Y-%m-%dT%H:%M:%SZ", &tm);
  return out;
}

}  // namespace

result<std::shared_ptr<const cluster_tls>> cluster_tls::load(const cluster_tls_files& files) {
  auto cert_text = read_pem_file("cluster-tls-cert", files.cert);
  if (!cert_text) return cert_text.error();
  auto key_text = read_pem_file("cluster-tls-key", files.key);
  if (!key_text) return key_text.error();
  auto ca_text = read_pem_file("cluster-ca", files.ca);
  if (!ca_text) return ca_text.error();

  auto chain = read_certificates(*cert_text);
  if (chain.empty()) return bad("cluster-tls-cert", files.cert, "holds no PEM certificate");
  X509* leaf = chain.front().get();

  bool asked = false;
  auto key_bio = memory_bio(*key_text);
  pkey_ptr key(key_bio ? PEM_read_bio_PrivateKey(key_bio.get(), nullptr, no_passphrase, &asked)
                       : nullptr);
  ERR_clear_error();
  if (!key && asked) {
    return bad("cluster-tls-key", files.key,
               "the key is encrypted; hibikid needs an unencrypted key (keep the file mode 0600)");
  }
  if (!key) return bad("cluster-tls-key", files.key, "holds no PEM private key");
  if (X509_check_private_key(leaf, key.get()) != 1) {
    ERR_clear_error();
    return hibiki::error{errc::bad_request, "--cluster-tls-key " + files.key +
                                                " is not the key of the certificate in "
                                                "--cluster-tls-cert " +
                                                files.cert};
  }

  auto cas = read_certificates(*ca_text);
  if (cas.empty()) return bad("cluster-ca", files.ca, "holds no PEM certificate");
  std::unique_ptr<X509_STORE, store_free> store(X509_STORE_new());
  if (!store) return hibiki::error{errc::unavailable, "OpenSSL: cannot allocate a store"};
  std::vector<std::string> ca_subjects;
  for (auto& ca : cas) {
    auto subject = name_text(X509_get_subject_name(ca.get()));
    if (X509_check_ca(ca.get()) == 0)
      return bad("cluster-ca", files.ca, "certificate " + subject + " is not a CA certificate");
    X509_STORE_add_cert(store.get(), ca.get());
    ca_subjects.push_back(std::move(subject));
  }
  ERR_clear_error();

  // The chain the node presents: its certificate and any intermediates after it.
  std::unique_ptr<STACK_OF(X509), stack_free> intermediates(sk_X509_new_null());
  for (std::size_t i = 1; i < chain.size(); ++i) {
    X509_up_ref(chain[i].get());
    sk_X509_push(intermediates.get(), chain[i].get());
  }
  std::unique_ptr<X509_STORE_CTX, store_ctx_free> verify(X509_STORE_CTX_new());
  if (!verify || X509_STORE_CTX_init(verify.get(), store.get(), leaf, intermediates.get()) != 1)
    return hibiki::error{errc::unavailable, "OpenSSL: cannot set up a certificate check"};
  const auto subject = name_text(X509_get_subject_name(leaf));
  if (X509_verify_cert(verify.get()) != 1) {
    const auto why = X509_verify_cert_error_string(X509_STORE_CTX_get_error(verify.get()));
    ERR_clear_error();
    return hibiki::error{errc::bad_request, "--cluster-tls-cert " + files.cert + " (" + subject +
                                                ") does not verify against --cluster-ca " +
                                                files.ca + ": " + why};
  }
  // Each node accepts connections and makes them: its certificate must serve both ends.
  if (X509_check_purpose(leaf, X509_PURPOSE_SSL_SERVER, 0) != 1 ||
      X509_check_purpose(leaf, X509_PURPOSE_SSL_CLIENT, 0) != 1) {
    ERR_clear_error();
    return bad("cluster-tls-cert", files.cert,
               "the certificate (" + subject +
                   ") must be usable by a TLS server and a TLS client "
                   "(extendedKeyUsage serverAuth and clientAuth, or none)");
  }

  std::shared_ptr<cluster_tls> tls(new cluster_tls());
  tls->files_ = files;
  tls->subject_ = subject;
  tls->not_after_ = time_text(X509_get0_notAfter(leaf));
  tls->ca_subjects_ = std::move(ca_subjects);
  struct ::stat st {};
  if (::stat(files.key.c_str(), &st) == 0 && (st.st_mode & 077) != 0) {
    tls->warnings_.push_back("--cluster-tls-key " + files.key +
                             " can be read by other users (chmod 600 it)");
  }
  for (auto [file, text, name] : {std::tuple{&tls->cert_, &*cert_text, "hibiki-cluster-cert"},
                                  std::tuple{&tls->key_, &*key_text, "hibiki-cluster-key"},
                                  std::tuple{&tls->ca_, &*ca_text, "hibiki-cluster-ca"}}) {
    file->fd = ::memfd_create(name, MFD_CLOEXEC);
    if (file->fd < 0)
      return hibiki::error{errc::unavailable,
                           std::string("cannot create a memory file: ") + std::strerror(errno)};
    file->path = "/proc/self/fd/" + std::to_string(file->fd);
    std::size_t done = 0;
    while (done < text->size()) {
      auto n = ::write(file->fd, text->data() + done, text->size() - done);
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0)
        return hibiki::error{errc::unavailable,
                             std::string("cannot write a memory file: ") + std::strerror(errno)};
      done += static_cast<std::size_t>(n);
    }
    // CAF opens the path: make sure that works here (it needs /proc).
    int probe = ::open(file->path.c_str(), O_RDONLY | O_CLOEXEC);
    if (probe < 0)
      return hibiki::error{errc::unavailable, "cannot read back " + file->path +
                                                  " (is /proc "
                                                  "mounted?): " +
                                                  std::strerror(errno)};
    ::close(probe);
  }
  return std::shared_ptr<const cluster_tls>(std::move(tls));
}

cluster_tls::~cluster_tls() {
  for (auto* f : {&cert_, &key_, &ca_})
    if (f->fd >= 0) ::close(f->fd);
}

nlohmann::json cluster_tls::describe() const {
  nlohmann::json j;
  j["mode"] = "mutual-tls";
  j["certificate"] = subject_;
  j["not_after"] = not_after_;
  j["ca"] = ca_subjects_;
  j["files"] = {{"cert", files_.cert}, {"key", files_.key}, {"ca", files_.ca}};
  return j;
}

}  // namespace hibiki::actors
