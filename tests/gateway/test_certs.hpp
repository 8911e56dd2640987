#pragma once
/// Test certificates made by the `openssl` command in a temporary directory: a self-signed CA and
/// server certificates it signs for 127.0.0.1 / localhost. EC P-256 keys, so making them is quick.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

#include "temp_dir.hpp"

namespace hibiki::testkit {

class test_certs {
 public:
  explicit test_certs(const std::filesystem::path& dir) : dir_(dir) {
    run("openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 2"
        " -subj /CN=hibiki-test-ca -keyout " +
        q(dir_ / "ca.key") + " -out " + q(ca()));
    write_file(dir_ / "san.cnf", "subjectAltName=IP:127.0.0.1,DNS:localhost\n");
  }

  std::filesystem::path ca() const { return dir_ / "ca.pem"; }

  /// Makes a new server key and certificate signed by the CA, written to cert_out and key_out.
  void issue(const std::filesystem::path& cert_out, const std::filesystem::path& key_out) const {
    const auto csr = dir_ / "server.csr";
    run("openssl req -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -subj /CN=127.0.0.1"
        " -keyout " +
        q(key_out) + " -out " + q(csr));
    run("openssl x509 -req -days 2 -CA " + q(ca()) + " -CAkey " + q(dir_ / "ca.key") +
        " -CAcreateserial -extfile " + q(dir_ / "san.cnf") + " -in " + q(csr) + " -out " +
        q(cert_out));
  }

 private:
  static std::string q(const std::filesystem::path& p) { return "'" + p.string() + "'"; }
  static void run(const std::string& cmd) {
    if (std::system((cmd + " >/dev/null 2>&1").c_str()) != 0)
      throw std::runtime_error("failed: " + cmd);
  }
  std::filesystem::path dir_;
};

}  // namespace hibiki::testkit
