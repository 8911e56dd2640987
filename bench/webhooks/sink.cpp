/// hibiki_webhook_sink: a webhook receiver for benchmarks. It answers every POST with 200 at once
/// (keep-alive when the client asks for it) on one thread, and counts what arrived:
///   - deliveries, and their rate between the first and the last;
///   - the delivery lag of messages whose body carries hibiki_loadgen's send time (`lg:t=<ns>` of
///     the machine's monotonic clock, which every process on one machine shares): p50/p99/max;
///   - per webhook (room and setting), message_created deliveries whose message id is not above the
///   last
///     one seen (out of order, or a repeat: at-least-once delivery may repeat after a crash).
///
///   hibiki_webhook_sink [--port P] [--port-file PATH] [--duration SECONDS] [--expect N]
///
/// It stops after --duration seconds of its first delivery, after --expect deliveries, or on
/// SIGINT/SIGTERM, and prints a summary and one line of JSON (the last line of stdout). Port 0
/// (the default) picks a free one; the port goes to --port-file (written once listening) and to
/// the first line of stdout.
#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <boost/asio.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace {

namespace net = boost::asio;
namespace beast = boost::beast;
namespace http = beast::http;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

constexpr std::string_view time_marker = "lg:t=";

struct options {
  unsigned short port = 0;
  std::string port_file;
  double duration = 0;       ///< 0: until a signal
  std::uint64_t expect = 0;  ///< 0: no count to stop at
};

struct tally {
  std::uint64_t deliveries = 0;
  std::uint64_t bad_bodies = 0;
  std::uint64_t not_in_order = 0;
  std::map<std::string, std::uint64_t> by_type;
  std::map<std::string, std::uint64_t> last_message;  ///< room/setting → last message_created id
  std::vector<double> lag_ms;
  std::optional<clock_type::time_point> first, last;
};

class sink {
 public:
  sink(net::io_context& ioc, const options& o)
      : ioc_(ioc), options_(o), acceptor_(ioc), timer_(ioc) {}

  void record(const std::string& body) {
    const auto now = clock_type::now();
    if (!t_.first) {
      t_.first = now;
      if (options_.duration > 0) {
        timer_.expires_after(std::chrono::duration_cast<clock_type::duration>(
            std::chrono::duration<double>(options_.duration)));
        timer_.async_wait([this](beast::error_code ec) {
          if (!ec) ioc_.stop();
        });
      }
    }
    t_.last = now;
    ++t_.deliveries;
    if (auto at = body.find(time_marker); at != std::string::npos) {
      std::int64_t sent = 0;
      const char* begin = body.data() + at + time_marker.size();
      auto [end, ec] = std::from_chars(begin, body.data() + body.size(), sent);
      if (ec == std::errc{} && end != begin) {
        const auto now_ns =
            std::chrono::duration_cast<std::chrono::nanoseconds>(now.time_since_epoch()).count();
        t_.lag_ms.push_back(static_cast<double>(now_ns - sent) / 1e6);
      }
    }
    try {
      const auto j = nlohmann::json::parse(body);
      const auto type = j.at("webhook_event_type").get<std::string>();
      ++t_.by_type[type];
      if (type == "message_created") {
        const auto& ev = j.at("webhook_event");
        const auto& id = ev.at("message_id");
        const std::uint64_t message =
            id.is_string() ? std::stoull(id.get<std::string>()) : id.get<std::uint64_t>();
        // Setting ids are numbered per room: the room and the setting name one webhook.
        auto& last =
            t_.last_message[ev.at("room_id").dump() + "/" + j.at("webhook_setting_id").dump()];
        if (message <= last) ++t_.not_in_order;
        last = std::max(last, message);
      }
    } catch (const std::exception&) {
      ++t_.bad_bodies;
    }
    if (options_.expect > 0 && t_.deliveries >= options_.expect) ioc_.stop();
  }

  bool listen() {
    beast::error_code ec;
    const tcp::endpoint at(net::ip::make_address("127.0.0.1"), options_.port);
    acceptor_.open(at.protocol(), ec);
    if (!ec) acceptor_.set_option(net::socket_base::reuse_address(true), ec);
    if (!ec) acceptor_.bind(at, ec);
    if (!ec) acceptor_.listen(net::socket_base::max_listen_connections, ec);
    if (ec) {
      std::fprintf(stderr, "hibiki_webhook_sink: cannot listen: %s\n", ec.message().c_str());
      return false;
    }
    const auto port = acceptor_.local_endpoint().port();
    std::printf("listening on 127.0.0.1:%u\n", port);
    std::fflush(stdout);
    if (!options_.port_file.empty()) {
      // Written whole under another name, then renamed: a reader never sees half a port.
      const std::string tmp = options_.port_file + ".tmp";
      std::ofstream(tmp) << port << "\n";
      std::rename(tmp.c_str(), options_.port_file.c_str());
    }
    accept();
    return true;
  }

  const tally& result() const { return t_; }

 private:
  struct session : std::enable_shared_from_this<session> {
    session(tcp::socket s, sink& owner) : socket(std::move(s)), owner(owner) {}
    tcp::socket socket;
    sink& owner;
    beast::flat_buffer buffer;
    http::request<http::string_body> request;
    http::response<http::string_body> response;

    void read() {
      request = {};
      http::async_read(socket, buffer, request,
                       [self = shared_from_this()](beast::error_code ec, std::size_t) {
                         if (ec) return;
                         self->owner.record(self->request.body());
                         self->answer();
                       });
    }
    void answer() {
      response = {};
      response.result(http::status::ok);
      response.version(request.version());
      response.keep_alive(request.keep_alive());
      response.set(http::field::content_type, "text/plain");
      response.body() = "ok";
      response.prepare_payload();
      http::async_write(socket, response,
                        [self = shared_from_this()](beast::error_code ec, std::size_t) {
                          if (ec) return;
                          if (self->response.keep_alive()) {
                            self->read();
                          } else {
                            beast::error_code ignored;
                            self->socket.shutdown(tcp::socket::shutdown_send, ignored);
                          }
                        });
    }
  };

  void accept() {
    acceptor_.async_accept([this](beast::error_code ec, tcp::socket s) {
      if (!ec) {
        s.set_option(tcp::no_delay(true), ec);
        std::make_shared<session>(std::move(s), *this)->read();
      }
      accept();
    });
  }

  net::io_context& ioc_;
  const options& options_;
  tcp::acceptor acceptor_;
  net::steady_timer timer_;
  tally t_;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i];
    const std::string value = argv[i + 1];
    try {
      if (key == "--port") {
        const auto p = std::stoul(value);
        if (p > 65535) return false;
        o.port = static_cast<unsigned short>(p);
      } else if (key == "--port-file") {
        o.port_file = value;
      } else if (key == "--duration") {
        o.duration = std::stod(value);
      } else if (key == "--expect") {
        o.expect = std::stoull(value);
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  return argc % 2 == 1;
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: hibiki_webhook_sink [--port P] [--port-file PATH] [--duration SECONDS]"
                 " [--expect N]\n");
    return 2;
  }
  net::io_context ioc(1);
  sink s(ioc, o);
  if (!s.listen()) return 1;
  net::signal_set signals(ioc, SIGINT, SIGTERM);
  signals.async_wait([&](beast::error_code, int) { ioc.stop(); });
  ioc.run();

  const auto& t = s.result();
  const double seconds =
      t.first && t.last ? std::chrono::duration<double>(*t.last - *t.first).count() : 0.0;
  const double rate = seconds > 0 ? static_cast<double>(t.deliveries - 1) / seconds : 0.0;
  const double p50 = percentile(t.lag_ms, 0.50), p99 = percentile(t.lag_ms, 0.99);
  const double max = t.lag_ms.empty() ? 0 : *std::max_element(t.lag_ms.begin(), t.lag_ms.end());
  std::printf(
      "deliveries %llu in %.2f s (first to last): %.0f/s; lag of %zu timed messages: p50 %.1f"
      " ms, p99 %.1f ms, max %.1f ms; not in order %llu; bad bodies %llu\n",
      static_cast<unsigned long long>(t.deliveries), seconds, rate, t.lag_ms.size(), p50, p99, max,
      static_cast<unsigned long long>(t.not_in_order),
      static_cast<unsigned long long>(t.bad_bodies));
  nlohmann::json types = t.by_type;
  const nlohmann::json j = {{"deliveries", t.deliveries},
                            {"seconds", seconds},
                            {"per_s", rate},
                            {"timed", t.lag_ms.size()},
                            {"lag_p50_ms", p50},
                            {"lag_p99_ms", p99},
                            {"lag_max_ms", max},
                            {"not_in_order", t.not_in_order},
                            {"bad_bodies", t.bad_bodies},
                            {"by_type", types}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}
