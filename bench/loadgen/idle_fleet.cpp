#include "idle_fleet.hpp"

#include <netinet/in.h>
#include <sys/socket.h>

#include <atomic>
#include <boost/asio/strand.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/websocket.hpp>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <functional>
#include <mutex>
#include <nlohmann/json.hpp>

#include "tls_stream.hpp"

namespace hibiki::bench {

namespace beast = boost::beast;
namespace websocket = beast::websocket;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// One idle connection: connect (from its source address), handshake, auth, then read forever.
class idle_client : public std::enable_shared_from_this<idle_client> {
 public:
  using done_fn = std::function<void(std::string error)>;

  idle_client(net::io_context& ioc, tcp::endpoint endpoint, std::optional<net::ip::address> source,
              const server_url& server, std::string token)
      : ws_(net::make_strand(ioc), server.tls),
        endpoint_(endpoint),
        source_(source),
        server_(server),
        token_(std::move(token)) {}

  void start(done_fn done) {
    done_ = std::move(done);
    auto& tcp_layer = beast::get_lowest_layer(ws_);
    tcp_layer.expires_after(std::chrono::seconds(60));
    if (source_) {
      beast::error_code ec;
      auto& sock = tcp_layer.socket();
      sock.open(endpoint_.protocol(), ec);
#ifdef IP_BIND_ADDRESS_NO_PORT
      // The port is then picked at connect, per destination: 64k ports per source address
      // instead of the ephemeral range shared by every bind.
      if (!ec) {
        int one = 1;
        ::setsockopt(sock.native_handle(), IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, &one, sizeof one);
      }
#endif
      if (!ec) sock.bind(tcp::endpoint(*source_, 0), ec);
      if (ec) return finish("bind " + source_->to_string() + ": " + ec.message());
    }
    tcp_layer.async_connect(
        endpoint_, beast::bind_front_handler(&idle_client::on_connect, shared_from_this()));
  }

  void close() {
    net::post(ws_.get_executor(), [self = shared_from_this()] {
      if (!self->open_) return;
      self->ws_.async_close(websocket::close_code::normal, [self](beast::error_code) {});
    });
  }

  bool open() const {
    return open_;
  }

 private:
  void on_connect(beast::error_code ec) {
    if (ec) return finish("connect: " + ec.message());
    ws_.next_layer().async_handshake(
        beast::bind_front_handler(&idle_client::on_tls, shared_from_this()));
  }

  void on_tls(beast::error_code ec) {
    if (ec) return finish("tls: " + ec.message());
    beast::get_lowest_layer(ws_).expires_never();
    ws_.set_option(websocket::stream_base::timeout::suggested(beast::role_type::client));
    ws_.async_handshake(server_.host + ":" + server_.port, server_.path,
                        beast::bind_front_handler(&idle_client::on_handshake, shared_from_this()));
  }

  void on_handshake(beast::error_code ec) {
    if (ec) return finish("handshake: " + ec.message());
    open_ = true;
    ws_.text(true);
    request_ = nlohmann::json{{"op", "auth"}, {"id", 1}, {"token", token_}}.dump();
    token_.clear();
    token_.shrink_to_fit();
    ws_.async_write(net::buffer(request_),
                    beast::bind_front_handler(&idle_client::on_auth_sent, shared_from_this()));
    do_read();
  }

  void on_auth_sent(beast::error_code ec, std::size_t) {
    request_.clear();
    request_.shrink_to_fit();
    if (ec) finish("auth: " + ec.message());
  }

  void do_read() {
    ws_.async_read(buffer_, beast::bind_front_handler(&idle_client::on_read, shared_from_this()));
  }

  void on_read(beast::error_code ec, std::size_t) {
    if (ec) {
      open_ = false;
      return finish("closed before the auth reply: " + ec.message());
    }
    if (done_) {
      auto frame = nlohmann::json::parse(beast::buffers_to_string(buffer_.data()), nullptr, false);
      if (frame.is_object() && frame.value("re", std::int64_t{0}) == 1) {
        if (frame.value("ok", false))
          finish("");
        else
          finish("auth refused: " + frame.dump());
      }
    }
    buffer_.consume(buffer_.size());
    buffer_.shrink_to_fit();
    do_read();
  }

  /// Reports the outcome once; later errors (a close after auth) are not the connect's.
  void finish(std::string error) {
    if (!done_) return;
    auto done = std::move(done_);
    done_ = nullptr;
    done(std::move(error));
  }

  websocket::stream<tls_stream> ws_;
  tcp::endpoint endpoint_;
  std::optional<net::ip::address> source_;
  const server_url& server_;
  std::string token_;
  std::string request_;
  beast::flat_buffer buffer_;
  done_fn done_;
  std::atomic<bool> open_{false};
};

namespace {

struct connect_state {
  std::vector<std::shared_ptr<idle_client>> clients;
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::condition_variable all_done;
  std::size_t finished = 0;
  std::size_t ok = 0;
  std::size_t failures = 0;
  std::string first_error;
};

void launch_next(const std::shared_ptr<connect_state>& state) {
  const auto i = state->next++;
  if (i >= state->clients.size()) return;
  state->clients[i]->start([state](std::string error) {
    {
      std::lock_guard lock(state->mutex);
      ++state->finished;
      if (error.empty())
        ++state->ok;
      else if (state->failures++ == 0)
        state->first_error = std::move(error);
      if (state->finished == state->clients.size()) state->all_done.notify_all();
    }
    launch_next(state);
  });
}

}  // namespace

std::vector<net::ip::address> loopback_sources(std::size_t count) {
  std::vector<net::ip::address> out;
  for (std::size_t k = 0; k < count && k < 250; ++k)
    out.push_back(net::ip::make_address_v4(0x7f000002u + static_cast<std::uint32_t>(k)));
  return out;
}

idle_fleet::idle_fleet(const options& opts, std::vector<net::ip::address> sources)
    : opts_(opts), sources_(std::move(sources)) {}

idle_fleet::~idle_fleet() {
  ioc_.stop();
  for (auto& t : threads_) t.join();
}

bool idle_fleet::resolve() {
  tcp::resolver resolver(ioc_);
  for (const auto& s : opts_.servers) {
    beast::error_code ec;
    auto results = resolver.resolve(s.host, s.port, ec);
    if (ec || results.empty()) {
      std::fprintf(stderr, "hibiki_loadgen: cannot resolve %s:%s: %s\n", s.host.c_str(),
                   s.port.c_str(), ec.message().c_str());
      return false;
    }
    endpoints_.push_back(results.begin()->endpoint());
  }
  return true;
}

std::size_t idle_fleet::connect_all(std::vector<account> accounts, std::size_t parallelism) {
  auto state = std::make_shared<connect_state>();
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto s = i % endpoints_.size();
    std::optional<net::ip::address> source;
    if (!sources_.empty()) source = sources_[i % sources_.size()];
    state->clients.push_back(std::make_shared<idle_client>(
        ioc_, endpoints_[s], source, opts_.servers[s], std::move(accounts[i].token)));
  }
  clients_ = state->clients;
  for (std::size_t i = 0; i < opts_.threads; ++i)
    threads_.emplace_back([this] {
      auto work = net::make_work_guard(ioc_);
      ioc_.run();
    });
  for (std::size_t i = 0; i < std::min(parallelism, clients_.size()); ++i) {
    net::post(ioc_, [state] { launch_next(state); });
  }
  std::unique_lock lock(state->mutex);
  if (!state->all_done.wait_for(lock, std::chrono::seconds(600),
                                [&] { return state->finished == state->clients.size(); })) {
    std::fprintf(stderr, "hibiki_loadgen: connecting timed out after 600 s\n");
  }
  if (state->failures > 0) {
    std::fprintf(stderr, "hibiki_loadgen: %zu connections failed; first: %s\n", state->failures,
                 state->first_error.c_str());
  }
  return state->ok;
}

std::size_t idle_fleet::still_open() const {
  std::size_t n = 0;
  for (const auto& c : clients_) n += c->open();
  return n;
}

void idle_fleet::close_all() {
  for (auto& c : clients_) c->close();
  std::this_thread::sleep_for(std::chrono::seconds(2));
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

}  // namespace hibiki::bench
