#pragma once
/// The cluster port's mutual TLS material: this node's certificate and key and the cluster CA,
/// read once at start, checked, and kept in memory for CAF's OpenSSL module.
///
/// Checked at load (each failure is a bad_request naming the flag and the file):
///  - each file can be read and holds PEM of the right kind (an unencrypted private key: a node
///    restarts unattended, so there is no one to type a passphrase);
///  - the key belongs to the certificate;
///  - every certificate in the CA file is a CA certificate;
///  - the node certificate verifies against the CA file (signature, validity dates, chain) and
///    may be used by a TLS server and by a TLS client (each node is both).
///
/// CAF 0.17.6 reads the certificate, key and CA *files* again for every connection. Pointing it
/// at the operator's files would let a half-finished rotation (new certificate, old key) throw
/// inside CAF's network thread and end the process. So the checked bytes are copied into memory
/// files (memfd, one per file, open for the node's life) and CAF reads /proc/self/fd/N: what it
/// uses is exactly what was checked, and the key is never written to another file on disk.
/// Rotating certificates therefore takes a restart (docs/operations.md, "Cluster certificates").

#include <memory>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/core/result.hpp"

namespace hibiki::actors {

struct cluster_tls_files {
  std::string cert;  ///< PEM: this node's certificate, optionally followed by intermediates
  std::string key;   ///< PEM: its private key, unencrypted
  std::string ca;    ///< PEM: the cluster CA certificate(s) a peer's certificate must chain to
};

class cluster_tls {
 public:
  /// Reads and checks the three files. Errors: bad_request (a message naming the flag, the file
  /// and what is wrong with it), unavailable (no memory file could be created).
  static result<std::shared_ptr<const cluster_tls>> load(const cluster_tls_files& files);
  ~cluster_tls();
  cluster_tls(const cluster_tls&) = delete;
  cluster_tls& operator=(const cluster_tls&) = delete;

  /// Paths CAF reads (openssl.certificate, openssl.key, openssl.cafile): /proc/self/fd/N.
  const std::string& cert_path() const { return cert_.path; }
  const std::string& key_path() const { return key_.path; }
  const std::string& ca_path() const { return ca_.path; }

  /// For `hibiki cluster status`: {"mode": "mutual-tls", "certificate": subject,
  /// "not_after": "YYYY-MM-DDTHH:MM:SSZ", "ca": [subjects], "files": {cert, key, ca}}.
  nlohmann::json describe() const;

  /// Warnings worth a log line at start (a key file readable by others), possibly none.
  const std::vector<std::string>& warnings() const { return warnings_; }

 private:
  struct memory_file {
    int fd = -1;
    std::string path;
  };
  cluster_tls() = default;

  memory_file cert_, key_, ca_;
  cluster_tls_files files_;
  std::string subject_;
  std::string not_after_;
  std::vector<std::string> ca_subjects_;
  std::vector<std::string> warnings_;
};

}  // namespace hibiki::actors
