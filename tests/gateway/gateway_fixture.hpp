#pragma once
/// A real gateway on a free loopback port in front of a fake node, with a temporary web root
/// (index.html, app.js, and a secret file just outside the root for the traversal tests).

#include <filesystem>
#include <memory>
#include <string>

#include <catch2/catch.hpp>

#include "fake_node.hpp"
#include "hibiki/gateway/server.hpp"
#include "temp_dir.hpp"
#include "test_client.hpp"

namespace hibiki::testkit {

struct gateway_fixture {
  explicit gateway_fixture(gateway::gateway_options options = test_options()) {
    std::filesystem::create_directories(dir.path() / "web");
    write_file(dir.path() / "web" / "index.html", "<!doctype html><title>hibiki</title>");
    write_file(dir.path() / "web" / "app.js", "console.log('hibiki');");
    write_file(dir.path() / "secret.txt", "TOP-SECRET");
    options.port = 0;
    options.web_root = (dir.path() / "web").string();
    auto started = gateway::server::start(node, options);
    REQUIRE(started.ok());
    server = std::move(started.value());
    port = server->port();
  }

  ~gateway_fixture() {
    if (server) server->stop();
  }

  static gateway::gateway_options test_options() {
    gateway::gateway_options o;
    o.host = "127.0.0.1";
    o.threads = 2;
    o.max_frame_bytes = 4096;
    o.max_outgoing_bytes = 256 * 1024;
    o.handshake_timeout = std::chrono::milliseconds(2000);
    o.open_signup = true;
    o.signup_per_ip = 0;  // the tests sign up many accounts from one address
    o.admin_token = admin_token;
    return o;
  }

  /// The operator endpoints' token in test_options().
  static constexpr const char* admin_token = "test-admin-token-0123456789abcdef";

  /// A request to an operator endpoint with the admin token.
  http_reply operator_request(boost::beast::http::verb verb, std::string target,
                              std::string body = {}) const {
    return http_request_with("127.0.0.1", port, verb, std::move(target), std::move(body),
                             {{"Authorization", std::string("Bearer ") + admin_token}});
  }

  temp_dir dir;
  fake_node node;  // declared before server: the gateway must stop before the node goes
  std::unique_ptr<gateway::server> server;
  std::uint16_t port = 0;
};

}  // namespace hibiki::testkit
