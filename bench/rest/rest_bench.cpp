/// hibiki_rest_bench: the REST API's POST /v2/rooms/{id}/messages against a running hibikid,
/// over keep-alive HTTP/1.1 connections (one request in flight per connection, as Chatwork
/// clients do). Two phases:
///   1. closed loop: every connection posts as fast as it gets answers, for --duration seconds:
///      acknowledged (HTTP 200, durable) posts per second;
///   2. open loop at half that rate (or --rate): each connection posts on a fixed schedule and
///      the latency of a post counts from its scheduled time (no coordinated omission): p50, p99,
///      p99.9, max.
/// Set-up (not measured): --connections accounts signed up (the server needs --open-signup and
/// --signup-rate=0), rooms of --members-per-room of them created over REST; connection i posts to
/// the room of its account. Run the server with --api-rate=0 and high --connection-rate and
/// --account-rate, or their limits are what gets measured.
///
/// Blocking Beast clients, one thread per connection: simple, and the figure is the server's as
/// long as the machine has spare CPU for the threads (they mostly wait).

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <nlohmann/json.hpp>

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;
using clock_type = std::chrono::steady_clock;

namespace {

struct options {
  std::string host = "127.0.0.1";
  std::string port = "8080";
  int connections = 32;
  int members_per_room = 4;
  double duration = 10;
  double warmup = 2;
  double rate = 0;  ///< 0 = half the closed-loop figure
  std::size_t body_bytes = 100;
};

/// One keep-alive connection.
class rest_conn {
 public:
  rest_conn(net::io_context& ioc, const options& o) : stream_(ioc) {
    tcp::resolver resolver(ioc);
    stream_.connect(resolver.resolve(o.host, o.port));
    stream_.socket().set_option(tcp::no_delay(true));
    host_ = o.host + ":" + o.port;
  }

  /// Returns (status, body).
  std::pair<unsigned, std::string> call(http::verb method, const std::string& target,
                                        const std::string& token, std::string body,
                                        std::string_view content_type) {
    http::request<http::string_body> req{method, target, 11};
    req.set(http::field::host, host_);
    if (!token.empty()) req.set("X-ChatWorkToken", token);
    if (!body.empty()) req.set(http::field::content_type, std::string(content_type));
    req.body() = std::move(body);
    req.prepare_payload();
    req.keep_alive(true);
    http::write(stream_, req);
    http::response<http::string_body> res;
    http::read(stream_, buffer_, res);
    return {res.result_int(), std::move(res.body())};
  }

 private:
  beast::tcp_stream stream_;
  beast::flat_buffer buffer_;
  std::string host_;
};

std::string form_escape(std::string_view s) {
  std::string out;
  for (unsigned char c : s) {
    if (std::isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[4];
      std::snprintf(buf, sizeof buf, "%%%02X", c);
      out += buf;
    }
  }
  return out;
}

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  return v[i];
}

[[noreturn]] void usage() {
  std::cerr << "usage: hibiki_rest_bench [--host H] [--port P] [--connections N] "
               "[--members-per-room K] [--duration S] [--warmup S] [--rate R] [--body-bytes B]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host")
      o.host = v;
    else if (a == "--port")
      o.port = v;
    else if (a == "--connections")
      o.connections = std::stoi(v);
    else if (a == "--members-per-room")
      o.members_per_room = std::stoi(v);
    else if (a == "--duration")
      o.duration = std::stod(v);
    else if (a == "--warmup")
      o.warmup = std::stod(v);
    else if (a == "--rate")
      o.rate = std::stod(v);
    else if (a == "--body-bytes")
      o.body_bytes = static_cast<std::size_t>(std::stoul(v));
    else
      usage();
  }
  if (o.connections < 1 || o.members_per_room < 1 || o.duration <= 0) usage();
  return o;
}

struct account {
  std::uint64_t id = 0;
  std::string token;
  std::uint64_t room = 0;
};

std::vector<account> set_up(net::io_context& ioc, const options& o) {
  rest_conn c(ioc, o);
  std::vector<account> accounts(static_cast<std::size_t>(o.connections));
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    auto [st, body] =
        c.call(http::verb::post, "/api/signup", "",
               nlohmann::json{{"name", "bench" + std::to_string(i)}}.dump(), "application/json");
    if (st != 200)
      throw std::runtime_error("sign-up failed: HTTP " + std::to_string(st) + " " + body);
    auto j = nlohmann::json::parse(body);
    accounts[i].id = j["account_id"].get<std::uint64_t>();
    accounts[i].token = j["token"].get<std::string>();
  }
  const auto k = static_cast<std::size_t>(o.members_per_room);
  for (std::size_t first = 0; first < accounts.size(); first += k) {
    std::string members;
    for (std::size_t i = first + 1; i < std::min(first + k, accounts.size()); ++i)
      members += (members.empty() ? "" : ",") + std::to_string(accounts[i].id);
    std::string form = "name=bench&members_admin_ids=" + std::to_string(accounts[first].id);
    if (!members.empty()) form += "&members_member_ids=" + form_escape(members);
    auto [st, body] = c.call(http::verb::post, "/v2/rooms", accounts[first].token, form,
                             "application/x-www-form-urlencoded");
    if (st != 200)
      throw std::runtime_error("room creation failed: HTTP " + std::to_string(st) + " " + body);
    const auto room = nlohmann::json::parse(body)["room_id"].get<std::uint64_t>();
    for (std::size_t i = first; i < std::min(first + k, accounts.size()); ++i)
      accounts[i].room = room;
  }
  return accounts;
}

struct phase_result {
  std::uint64_t ok = 0;
  std::uint64_t failed = 0;
  std::vector<double> latencies_ms;
};

/// Runs one phase: `rate_per_conn` 0 = closed loop. Counts posts answered inside the window
/// [start + warmup, start + warmup + duration).
phase_result run_phase(const options& o, const std::vector<account>& accounts,
                       double rate_per_conn) {
  std::mutex mutex;
  phase_result total;
  const auto start = clock_type::now();
  const auto from = start + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.warmup));
  const auto until = from + std::chrono::duration_cast<clock_type::duration>(
                                std::chrono::duration<double>(o.duration));
  const std::string form = "body=" + form_escape(std::string(o.body_bytes, 'x'));
  std::vector<std::thread> threads;
  for (const auto& a : accounts) {
    threads.emplace_back([&, a] {
      phase_result mine;
      try {
        net::io_context ioc;
        rest_conn c(ioc, o);
        const std::string target = "/v2/rooms/" + std::to_string(a.room) + "/messages";
        const auto interval = rate_per_conn > 0
                                  ? std::chrono::duration_cast<clock_type::duration>(
                                        std::chrono::duration<double>(1.0 / rate_per_conn))
                                  : clock_type::duration::zero();
        auto next = start;
        while (true) {
          auto scheduled = clock_type::now();
          if (rate_per_conn > 0) {
            next += interval;
            scheduled = next;
            if (scheduled >= until) break;
            std::this_thread::sleep_until(scheduled);
          } else if (scheduled >= until) {
            break;
          }
          auto [st, body] =
              c.call(http::verb::post, target, a.token, form, "application/x-www-form-urlencoded");
          const auto done = clock_type::now();
          if (scheduled < from) continue;
          if (st == 200) {
            ++mine.ok;
            mine.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(done - scheduled).count());
          } else {
            ++mine.failed;
          }
        }
      } catch (const std::exception& ex) {
        std::cerr << "connection failed: " << ex.what() << "\n";
        ++mine.failed;
      }
      std::lock_guard lock(mutex);
      total.ok += mine.ok;
      total.failed += mine.failed;
      total.latencies_ms.insert(total.latencies_ms.end(), mine.latencies_ms.begin(),
                                mine.latencies_ms.end());
    });
  }
  for (auto& t : threads) t.join();
  return total;
}

void report(const char* name, phase_result& r, double duration) {
  auto& l = r.latencies_ms;
  const double p50 = percentile(l, 0.5), p99 = percentile(l, 0.99), p999 = percentile(l, 0.999);
  const double max = l.empty() ? 0 : *std::max_element(l.begin(), l.end());
  std::printf(
      "%s: %.0f acknowledged posts/s (%llu ok, %llu failed in %.0f s); latency ms p50 %.2f "
      "p99 %.2f p99.9 %.2f max %.2f\n",
      name, static_cast<double>(r.ok) / duration, static_cast<unsigned long long>(r.ok),
      static_cast<unsigned long long>(r.failed), duration, p50, p99, p999, max);
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  try {
    net::io_context ioc;
    const auto accounts = set_up(ioc, o);
    std::printf("set up: %zu accounts, %d per room, %zu-byte bodies\n", accounts.size(),
                o.members_per_room, o.body_bytes);
    auto closed = run_phase(o, accounts, 0);
    report("closed loop", closed, o.duration);
    const double max_rate = static_cast<double>(closed.ok) / o.duration;
    const double rate = o.rate > 0 ? o.rate : max_rate / 2;
    if (rate <= 0) return 1;
    auto open = run_phase(o, accounts, rate / static_cast<double>(accounts.size()));
    char name[64];
    std::snprintf(name, sizeof name, "open loop at %.0f/s", rate);
    report(name, open, o.duration);
    return closed.failed == 0 && open.failed == 0 ? 0 : 1;
  } catch (const std::exception& ex) {
    std::cerr << "hibiki_rest_bench: " << ex.what() << "\n";
    return 1;
  }
}
