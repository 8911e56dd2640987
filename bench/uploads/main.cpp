/// hibiki_upload_bench: pre-signed upload requests over the WebSocket, against a running hibikid.
///
/// Each connection is one account with a room of its own (set up over the REST API, not
/// measured) and sends `request_upload` in a closed loop: the next one when the reply came. The
/// reply is the whole cost a client sees before it can PUT: the room records the pending upload
/// (a journal append) and the node signs the URL. For every count in `--connections` (a comma
/// list, run in turn) it prints answers/s, latency percentiles, error codes and the server's CPU
/// per request, then one line of JSON per count. With `--rate R` the connections send R requests/s
/// together on a fixed schedule instead (open loop).

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <fstream>
#include <iostream>
#include <map>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <unistd.h>

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core/buffers_to_string.hpp>
#include <boost/beast/core/flat_buffer.hpp>
#include <boost/beast/core/tcp_stream.hpp>
#include <boost/beast/websocket.hpp>
#include <nlohmann/json.hpp>

#include "../rest/rest_setup.hpp"

namespace {

using namespace hibiki::bench;
using steady = std::chrono::steady_clock;
namespace websocket = boost::beast::websocket;

struct options {
  server_address server;
  std::vector<int> connections{1, 32};    ///< Counts run in turn. Default: 1,32
  int warmup = 2;                         ///< Seconds before the window. Default: 2
  int duration = 10;                      ///< Seconds measured. Default: 10
  std::uint64_t size = 10 * 1024 * 1024;  ///< The `size` asked for. Default: 10485760
  int server_pid = 0;                     ///< hibikid's pid, for its CPU time. Default: none
  /// Requests/s of all connections together on a fixed schedule (open loop; a request's latency
  /// counts from its scheduled time, so a server that falls behind shows it); 0 = closed loop.
  /// Default: 0
  double rate = 0;
  /// Rooms each connection's account asks in, in turn. A user uploads to many rooms over time;
  /// one room taking every request of a connection grows a file map users' rooms never have.
  /// Default: 1
  int rooms_per_connection = 1;
};

[[noreturn]] void usage() {
  std::cerr << "usage: hibiki_upload_bench [--host H] [--port P] [--connections 1,32] "
               "[--warmup S] [--duration S] [--size BYTES] [--server-pid PID] [--rate R] "
               "[--rooms-per-connection K]\n";
  std::exit(2);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    if (i + 1 >= argc) usage();
    const std::string v = argv[++i];
    if (a == "--host") {
      o.server.host = v;
    } else if (a == "--port") {
      o.server.port = v;
    } else if (a == "--connections") {
      o.connections.clear();
      std::stringstream ss(v);
      for (std::string n; std::getline(ss, n, ',');) o.connections.push_back(std::stoi(n));
      if (o.connections.empty()) usage();
    } else if (a == "--warmup") {
      o.warmup = std::stoi(v);
    } else if (a == "--duration") {
      o.duration = std::stoi(v);
    } else if (a == "--size") {
      o.size = std::stoull(v);
    } else if (a == "--rate") {
      o.rate = std::stod(v);
    } else if (a == "--rooms-per-connection") {
      o.rooms_per_connection = std::stoi(v);
      if (o.rooms_per_connection < 1) usage();
    } else if (a == "--server-pid") {
      o.server_pid = std::stoi(v);
    } else {
      usage();
    }
  }
  return o;
}

/// utime + stime of `pid` in seconds (/proc/PID/stat, fields 14 and 15).
double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string all((std::istreambuf_iterator<char>(f)), {});
  std::istringstream rest(all.substr(all.rfind(')') + 2));
  std::string field;
  double ticks = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i)
    if (i >= 14) ticks += std::stod(field);
  return ticks / static_cast<double>(sysconf(_SC_CLK_TCK));
}

std::string loadavg() {
  std::ifstream f("/proc/loadavg");
  std::string a, b, c;
  f >> a >> b >> c;
  return a + " " + b + " " + c;
}

/// One authenticated WebSocket; one request in flight at a time.
class ws_client {
 public:
  ws_client(boost::asio::io_context& ioc, const server_address& server, const std::string& token)
      : ws_(ioc) {
    boost::asio::ip::tcp::resolver resolver(ioc);
    boost::beast::get_lowest_layer(ws_).connect(resolver.resolve(server.host, server.port));
    boost::beast::get_lowest_layer(ws_).socket().set_option(boost::asio::ip::tcp::no_delay(true));
    ws_.handshake(server.host + ":" + server.port, "/ws");
    auto r = call({{"op", "auth"}, {"token", token}});
    if (!r.value("ok", false)) throw std::runtime_error("auth failed: " + r.dump());
  }

  /// Sends `req` with the next id and returns its reply (skipping pushes).
  nlohmann::json call(nlohmann::json req) {
    const auto id = ++last_id_;
    req["id"] = id;
    ws_.write(boost::asio::buffer(req.dump()));
    for (;;) {
      buffer_.clear();
      ws_.read(buffer_);
      auto j = nlohmann::json::parse(boost::beast::buffers_to_string(buffer_.data()));
      if (j.contains("re") && j["re"] == id) return j;
    }
  }

 private:
  websocket::stream<boost::beast::tcp_stream> ws_;
  boost::beast::flat_buffer buffer_;
  std::int64_t last_id_ = 0;
};

struct phase_result {
  int connections = 0;
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;
  std::vector<double> latencies_ms;  ///< of the requests sent in the window
  /// Wall-clock seconds (since the epoch) of the requests over 20 ms: when the stalls were, to
  /// set beside the server's logs (RocksDB's LOG has its flushes and compactions).
  std::vector<double> slow_at;
  double window_s = 0;
  double cpu_s = 0;
  std::string load;
};

double percentile(std::vector<double>& v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(i, v.size() - 1)];
}

phase_result run_phase(const options& o, const std::vector<bench_account>& accounts,
                       const std::vector<std::vector<std::uint64_t>>& rooms, int connections) {
  phase_result out;
  out.connections = connections;
  out.load = loadavg();
  std::mutex mutex;
  std::atomic<int> ready{0};
  std::atomic<bool> go{false};
  std::atomic<bool> failed{false};
  steady::time_point window_start, window_end;
  std::vector<std::thread> threads;
  for (int c = 0; c < connections; ++c) {
    threads.emplace_back([&, c] {
      std::vector<double> mine, slow;
      std::uint64_t ok = 0;
      std::map<std::string, std::uint64_t> errors;
      try {
        boost::asio::io_context ioc;
        ws_client ws(ioc, o.server, accounts[static_cast<std::size_t>(c)].token);
        ++ready;
        while (!go) std::this_thread::yield();
        const auto& my_rooms = rooms[static_cast<std::size_t>(c)];
        std::size_t turn = 0;
        nlohmann::json req = {{"op", "request_upload"},
                              {"room_id", my_rooms[0]},
                              {"filename", "bench.bin"},
                              {"size", o.size},
                              {"content_type", "application/octet-stream"}};
        // Open loop: this connection's share of the rate, its first send staggered.
        const auto interval = std::chrono::duration_cast<steady::duration>(
            std::chrono::duration<double>(o.rate > 0 ? connections / o.rate : 0));
        auto next = steady::now() + interval * c / connections;
        for (;;) {
          auto t0 = steady::now();
          if (o.rate > 0) {
            if (next > t0) std::this_thread::sleep_until(next);
            t0 = next;  // late sends count from when they were due
            next += interval;
          }
          if (t0 >= window_end) break;
          req["room_id"] = my_rooms[turn++ % my_rooms.size()];
          auto r = ws.call(req);
          const auto t1 = steady::now();
          if (t0 < window_start || t1 > window_end) continue;
          if (r.value("ok", false) && r.contains("upload_url")) {
            ++ok;
            mine.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
            if (mine.back() > 20) {
              const auto wall = std::chrono::system_clock::now() - (steady::now() - t0);
              slow.push_back(std::chrono::duration<double>(wall.time_since_epoch()).count());
            }
          } else {
            ++errors[r.contains("error") ? r["error"].value("code", "?") : "?"];
          }
        }
      } catch (const std::exception& ex) {
        std::lock_guard lock(mutex);
        std::cerr << "connection " << c << ": " << ex.what() << "\n";
        failed = true;
        ++ready;
      }
      std::lock_guard lock(mutex);
      out.ok += ok;
      for (auto& [k, v] : errors) out.errors[k] += v;
      out.latencies_ms.insert(out.latencies_ms.end(), mine.begin(), mine.end());
      out.slow_at.insert(out.slow_at.end(), slow.begin(), slow.end());
    });
  }
  while (ready < connections) std::this_thread::sleep_for(std::chrono::milliseconds(10));
  window_start = steady::now() + std::chrono::seconds(o.warmup);
  window_end = window_start + std::chrono::seconds(o.duration);
  go = true;
  std::this_thread::sleep_until(window_start);
  const double cpu0 = cpu_seconds(o.server_pid);
  std::this_thread::sleep_until(window_end);
  const double cpu1 = cpu_seconds(o.server_pid);
  for (auto& t : threads) t.join();
  if (failed) throw std::runtime_error("a connection failed");
  out.window_s = o.duration;
  out.cpu_s = cpu1 - cpu0;
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  const auto most =
      static_cast<std::size_t>(*std::max_element(o.connections.begin(), o.connections.end()));
  try {
    const auto accounts = sign_up(o.server, most);
    std::vector<std::vector<std::uint64_t>> rooms(most);
    in_parallel(o.server, most, 8, [&](rest_conn& c, std::size_t i) {
      for (int k = 0; k < o.rooms_per_connection; ++k) {
        rooms[i].push_back(create_room(c, accounts[i], {}));
      }
    });
    std::cout << "connections      req/s   p50 ms   p99 ms p99.9 ms   max ms  cpu ms/req  "
                 "errors  load\n";
    for (int n : o.connections) {
      auto r = run_phase(o, accounts, rooms, n);
      const double per_s = static_cast<double>(r.ok) / r.window_s;
      const double cpu_ms = r.ok ? r.cpu_s * 1000 / static_cast<double>(r.ok) : 0;
      const double p50 = percentile(r.latencies_ms, 0.50), p99 = percentile(r.latencies_ms, 0.99),
                   p999 = percentile(r.latencies_ms, 0.999),
                   max = r.latencies_ms.empty() ? 0 : r.latencies_ms.back();
      std::string errors;
      std::uint64_t error_count = 0;
      for (auto& [k, v] : r.errors) {
        errors += (errors.empty() ? "" : ",") + k + "=" + std::to_string(v);
        error_count += v;
      }
      char line[256];
      std::snprintf(line, sizeof line, "%11d %10.0f %8.2f %8.2f %8.2f %8.2f %11.3f %7llu  %s\n", n,
                    per_s, p50, p99, p999, max, cpu_ms,
                    static_cast<unsigned long long>(error_count), r.load.c_str());
      std::cout << line;
      // Stalls: slow requests that started within 100 ms of each other are one.
      std::sort(r.slow_at.begin(), r.slow_at.end());
      nlohmann::json stalls = nlohmann::json::array();
      for (std::size_t i = 0; i < r.slow_at.size();) {
        std::size_t k = i;
        while (k + 1 < r.slow_at.size() && r.slow_at[k + 1] - r.slow_at[k] < 0.1) ++k;
        stalls.push_back({{"at", r.slow_at[i]}, {"requests", k - i + 1}});
        i = k + 1;
      }
      nlohmann::json j = {{"stalls", stalls},
                          {"connections", n},
                          {"rate", o.rate},
                          {"per_s", per_s},
                          {"p50_ms", p50},
                          {"p99_ms", p99},
                          {"p999_ms", p999},
                          {"max_ms", max},
                          {"cpu_s", r.cpu_s},
                          {"cpu_ms_per_request", cpu_ms},
                          {"ok", r.ok},
                          {"errors", r.errors},
                          {"size", o.size},
                          {"load", r.load},
                          {"window_s", r.window_s}};
      std::cout << j.dump() << std::endl;
    }
  } catch (const std::exception& ex) {
    std::cerr << "hibiki_upload_bench: " << ex.what() << "\n";
    return 1;
  }
  return 0;
}
