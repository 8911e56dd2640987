#include "hibiki/gateway/server.hpp"

#include <algorithm>
#include <optional>
#include <thread>
#include <vector>

#include "beast_fwd.hpp"
#include "gateway_context.hpp"
#include "listener.hpp"
#include "web_root.hpp"

namespace hibiki::gateway {
namespace {

class server_impl final : public server {
 public:
  server_impl(std::shared_ptr<gateway_context> ctx, std::unique_ptr<net::io_context> ioc,
              std::shared_ptr<listener> l, tcp::endpoint endpoint, std::shared_ptr<listener> admin,
              tcp::endpoint admin_endpoint)
      : ctx_(std::move(ctx)),
        ioc_(std::move(ioc)),
        listener_(std::move(l)),
        endpoint_(endpoint),
        admin_(std::move(admin)),
        admin_endpoint_(admin_endpoint) {}

  ~server_impl() override { stop(); }

  void start_threads(std::size_t n) {
    listener_->run();
    if (admin_) admin_->run();
    for (std::size_t i = 0; i < std::max<std::size_t>(n, 1); ++i)
      threads_.emplace_back([this] { ioc_->run(); });
  }

  void attach(actors::node& node) override { ctx_->attach(node); }

  std::uint16_t port() const override { return endpoint_.port(); }
  std::string host() const override { return endpoint_.address().to_string(); }
  bool open_signup() const override { return ctx_->open_signup; }
  std::uint16_t admin_port() const override { return admin_ ? admin_endpoint_.port() : 0; }
  bool tls() const override { return ctx_->tls != nullptr; }
  std::vector<std::string> allowed_origins() const override {
    return ctx_->options.allowed_origins;
  }

  result<std::string> reload_tls() override {
    if (!ctx_->tls) return result<std::string>(errc::bad_request, "TLS is not configured");
    if (auto st = ctx_->tls->reload(); !st) return st.error();
    return ctx_->tls->fingerprint();
  }

  void stop_accepting() override {
    if (!stopped_accepting_) {
      listener_->stop();
      if (admin_) admin_->stop();
    }
    stopped_accepting_ = true;
  }

  void stop() override {
    if (stopped_) return;
    stopped_ = true;
    stop_accepting();
    ctx_->registry.shutdown_all();
    // Close handshakes are bounded by the handshake timeout; allow that, then cut the rest.
    ctx_->registry.wait_empty(ctx_->options.handshake_timeout + std::chrono::milliseconds(500));
    ioc_->stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    // No late post may reach the io_context from here on; then free what still waits on it.
    ctx_->gate.close();
    // A journal status still running finishes (bounded by the node); its answer is dropped.
    ctx_->worker.stop();
    // An upload being streamed to the store finishes; its answer is dropped like the above.
    ctx_->uploads.stop();
    ctx_->registry.release_all();
    listener_.reset();
    admin_.reset();
    ioc_.reset();
  }

 private:
  std::shared_ptr<gateway_context> ctx_;
  std::unique_ptr<net::io_context> ioc_;
  std::shared_ptr<listener> listener_;
  tcp::endpoint endpoint_;
  std::shared_ptr<listener> admin_;  ///< null without --admin-http
  tcp::endpoint admin_endpoint_;
  std::vector<std::thread> threads_;
  bool stopped_ = false;
  bool stopped_accepting_ = false;
};

/// The origins of this listener as a browser writes them: http(s)://HOST:PORT, and the localhost
/// forms when the address is loopback or a wildcard (a browser on this machine).
std::vector<std::string> default_origins(const net::ip::address& address, std::uint16_t port,
                                         bool tls) {
  const std::string scheme = tls ? "https://" : "http://";
  const auto p = ":" + std::to_string(port);
  std::vector<std::string> out;
  if (!address.is_unspecified()) {
    const auto host = address.is_v6() ? "[" + address.to_string() + "]" : address.to_string();
    out.push_back(scheme + host + p);
  }
  if (address.is_loopback() || address.is_unspecified()) {
    for (const char* host : {"localhost", "127.0.0.1", "[::1]"}) {
      auto origin = scheme + host + p;
      if (std::find(out.begin(), out.end(), origin) == out.end()) out.push_back(origin);
    }
  }
  return out;
}

}  // namespace

namespace {

result<std::unique_ptr<server>> start_server(actors::node* node, gateway_options options,
                                             std::function<std::vector<std::string>()> starting) {
  using r = result<std::unique_ptr<server>>;
  beast::error_code ec;
  const auto host = options.host == "localhost" ? std::string("127.0.0.1") : options.host;
  auto address = net::ip::make_address(host, ec);
  if (ec) return r(errc::bad_request, "bad listen address: " + options.host);
  if (options.web_root.empty()) options.web_root = default_web_root();
  if (options.tls_cert_file.empty() != options.tls_key_file.empty())
    return r(errc::bad_request, "TLS needs both --tls-cert and --tls-key");
  auto trusted = parse_cidrs(options.trusted_proxies);
  if (!trusted) return r(errc::bad_request, "--trusted-proxies: " + trusted.error().message);
  std::shared_ptr<tls_credentials> tls;
  if (!options.tls_cert_file.empty()) {
    auto loaded = tls_credentials::load(options.tls_cert_file, options.tls_key_file);
    if (!loaded) return loaded.error();
    tls = std::move(*loaded);
  }
  std::optional<net::ip::address> admin_address;
  if (!options.admin_host.empty()) {
    const auto admin_host = options.admin_host == "localhost" ? "127.0.0.1" : options.admin_host;
    admin_address = net::ip::make_address(admin_host, ec);
    if (ec) return r(errc::bad_request, "bad admin listen address: " + options.admin_host);
  }

  auto ctx = std::make_shared<gateway_context>(node, options);
  ctx->starting = std::move(starting);
  ctx->open_signup = options.open_signup;
  ctx->trusted_proxies = std::move(*trusted);
  ctx->tls = std::move(tls);

  auto ioc = std::make_unique<net::io_context>(
      static_cast<int>(std::max<std::size_t>(options.threads, 1)));
  auto l = std::make_shared<listener>(*ioc, ctx);
  if (auto st = l->open(tcp::endpoint(address, options.port)); !st) return st.error();
  auto endpoint = l->local_endpoint();
  std::shared_ptr<listener> admin;
  tcp::endpoint admin_endpoint;
  if (admin_address) {
    admin = std::make_shared<listener>(*ioc, ctx, listener_role::admin);
    if (auto st = admin->open(tcp::endpoint(*admin_address, options.admin_port)); !st)
      return hibiki::error{st.error().code, "admin listener: " + st.error().message};
    admin_endpoint = admin->local_endpoint();
  }
  // Resolved once the port is known (port 0 picks one); no connection has been accepted yet.
  if (ctx->options.allowed_origins.empty())
    ctx->options.allowed_origins = default_origins(address, endpoint.port(), ctx->tls != nullptr);

  auto s = std::make_unique<server_impl>(ctx, std::move(ioc), std::move(l), endpoint,
                                         std::move(admin), admin_endpoint);
  s->start_threads(options.threads);
  return std::unique_ptr<server>(std::move(s));
}

}  // namespace

result<std::unique_ptr<server>> server::start(actors::node& node, gateway_options options) {
  return start_server(&node, std::move(options), nullptr);
}

result<std::unique_ptr<server>> server::start_before_node(
    gateway_options options, std::function<std::vector<std::string>()> starting) {
  return start_server(nullptr, std::move(options), std::move(starting));
}

}  // namespace hibiki::gateway
