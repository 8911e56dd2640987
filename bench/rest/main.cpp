/// hibiki_rest_bench: REST API v2 endpoints of a running hibikid over keep-alive HTTP/1.1
/// connections (one request in flight per connection, as Chatwork clients send them). Modes
/// (`--mode`, a comma list run in turn, each with its own set-up):
///   post      POST /v2/rooms/{id}/messages to the account's room (rooms of --members-per-room);
///   messages  GET /v2/rooms/{id}/messages?force=1 of a room holding --messages messages;
///   status    GET /v2/my/status of an account that is a member of --rooms rooms.
/// Each mode measures a closed loop (every connection sends as soon as it has its answer) for
/// --duration seconds after --warmup, then an open loop at half that rate (or --rate) whose
/// latencies count from each request's scheduled time. It prints a line per phase and, per mode,
/// one line of JSON (for bench/rest_bench.sh).
///
/// Set-up (not measured) goes through the public API: sign-up (the server needs --open-signup and
/// --signup-rate=0), POST /v2/rooms, POST .../messages. Run the server with --api-rate=0 and high
/// --connection-rate and --account-rate, or their limits are what gets measured.
///
/// Blocking Beast clients, one thread per connection: simple, and the figure is the server's as
/// long as the machine has spare CPU for the threads (they mostly wait).

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json.hpp>

#include "rest_client.hpp"
#include "rest_phase.hpp"
#include "rest_setup.hpp"

using namespace hibiki::bench;
using verb = boost::beast::http::verb;

namespace {

struct options {
  server_address server;
  std::vector<std::string> modes{"post"};  ///< Default: post
  int connections = 32;                    ///< Default: 32
  int members_per_room = 4;                ///< post and messages modes. Default: 4
  int messages = 100;                      ///< messages mode: messages per room. Default: 100
  int rooms = 1000;  ///< status mode: rooms the accounts are in. Default: 1000
  phase_timing timing;
  double rate = 0;               ///< open-loop rate; 0 = half the closed-loop figure. Default: 0
  std::size_t body_bytes = 100;  ///< Default: 100
};

[[noreturn]] void usage() {
  std::cerr << "usage: hibiki_rest_bench [--host H] [--port P] [--mode post,messages,status] "
               "[--connections N] [--members-per-room K] [--messages M] [--rooms R] "
               "[--duration S] [--warmup S] [--rate R] [--body-bytes B] [--server-pid PID]\n";
  std::exit(2);
}

std::vector<std::string> split(const std::string& list) {
  std::vector<std::string> out;
  std::size_t from = 0;
  while (from <= list.size()) {
    auto comma = list.find(',', from);
    if (comma == std::string::npos) comma = list.size();
    if (comma > from) out.push_back(list.substr(from, comma - from));
    from = comma + 1;
  }
  return out;
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string_view a = argv[i];
    if (i + 1 >= argc) usage();
    std::string v = argv[++i];
    if (a == "--host")
      o.server.host = v;
    else if (a == "--port")
      o.server.port = v;
    else if (a == "--mode")
      o.modes = split(v);
    else if (a == "--connections")
      o.connections = std::stoi(v);
    else if (a == "--members-per-room")
      o.members_per_room = std::stoi(v);
    else if (a == "--messages")
      o.messages = std::stoi(v);
    else if (a == "--rooms")
      o.rooms = std::stoi(v);
    else if (a == "--duration")
      o.timing.duration_s = std::stod(v);
    else if (a == "--warmup")
      o.timing.warmup_s = std::stod(v);
    else if (a == "--rate")
      o.rate = std::stod(v);
    else if (a == "--server-pid")
      o.timing.server_pid = std::stoi(v);
    else if (a == "--body-bytes")
      o.body_bytes = static_cast<std::size_t>(std::stoul(v));
    else
      usage();
  }
  if (o.connections < 1 || o.members_per_room < 1 || o.messages < 1 || o.rooms < 1 ||
      o.timing.duration_s <= 0 || o.modes.empty())
    usage();
  for (const auto& m : o.modes)
    if (m != "post" && m != "messages" && m != "status") usage();
  return o;
}

std::string load_average() {
  std::ifstream f("/proc/loadavg");
  std::string one, five, fifteen;
  f >> one >> five >> fifteen;
  return one + " " + five + " " + fifteen;
}

/// Rooms of `per_room` consecutive accounts (the first one creates it); room of each account.
std::vector<std::uint64_t> rooms_of(const options& o, const std::vector<bench_account>& accounts) {
  const auto k = static_cast<std::size_t>(o.members_per_room);
  std::vector<std::uint64_t> room(accounts.size());
  const std::size_t count = (accounts.size() + k - 1) / k;
  in_parallel(o.server, count, 4, [&](rest_conn& c, std::size_t r) {
    const std::size_t first = r * k, last = std::min(first + k, accounts.size());
    std::vector<bench_account> members(accounts.begin() + static_cast<long>(first) + 1,
                                       accounts.begin() + static_cast<long>(last));
    const auto id = create_room(c, accounts[first], members);
    for (auto i = first; i < last; ++i) room[i] = id;
  });
  return room;
}

std::string message_form(const options& o) {
  return "body=" + form_escape(std::string(o.body_bytes, 'x'));
}

/// The requests each connection repeats in `mode`, after that mode's set-up.
std::vector<bench_request> set_up(const options& o, const std::string& mode) {
  const auto accounts = sign_up(o.server, static_cast<std::size_t>(o.connections));
  std::vector<bench_request> requests(accounts.size());
  if (mode == "post") {
    const auto room = rooms_of(o, accounts);
    for (std::size_t i = 0; i < accounts.size(); ++i)
      requests[i] = {verb::post, "/v2/rooms/" + std::to_string(room[i]) + "/messages",
                     accounts[i].token, message_form(o)};
    std::printf("set up: %zu accounts, %d per room, %zu-byte bodies\n", accounts.size(),
                o.members_per_room, o.body_bytes);
  } else if (mode == "messages") {
    const auto room = rooms_of(o, accounts);
    const auto k = static_cast<std::size_t>(o.members_per_room);
    const std::size_t rooms = (accounts.size() + k - 1) / k;
    // Every room gets --messages messages from its members in turn.
    in_parallel(o.server, rooms, 4, [&](rest_conn& c, std::size_t r) {
      const std::size_t first = r * k, members = std::min(k, accounts.size() - first);
      for (int m = 0; m < o.messages; ++m)
        post_message(c, accounts[first + static_cast<std::size_t>(m) % members], room[first],
                     message_form(o));
    });
    const auto expected = static_cast<std::size_t>(std::min(o.messages, 100));
    in_parallel(o.server, accounts.size(), 4, [&](rest_conn& c, std::size_t i) {
      requests[i] = {verb::get,
                     "/v2/rooms/" + std::to_string(room[i]) + "/messages?force=1",
                     accounts[i].token,
                     {}};
      // Checks the answer once (and moves the account's fetch position, as a client's first
      // call would): force=1 answers the latest messages, up to 100.
      auto [st, body] = c.call(verb::get, requests[i].target, accounts[i].token);
      expect_status("GET messages", st, body);
      const auto got = nlohmann::json::parse(body).size();
      if (got != expected)
        throw std::runtime_error("GET messages answered " + std::to_string(got) +
                                 " messages, expected " + std::to_string(expected));
    });
    std::printf("set up: %zu accounts, %d per room, %d messages per room\n", accounts.size(),
                o.members_per_room, o.messages);
  } else {
    // Account 0 creates --rooms rooms with every other account in them and posts one message in
    // each, so the others have that many unread rooms.
    const std::vector<bench_account> others(accounts.begin() + 1, accounts.end());
    in_parallel(o.server, static_cast<std::size_t>(o.rooms), 4, [&](rest_conn& c, std::size_t) {
      const auto room = create_room(c, accounts[0], others);
      post_message(c, accounts[0], room, message_form(o));
    });
    for (std::size_t i = 0; i < accounts.size(); ++i)
      requests[i] = {verb::get, "/v2/my/status", accounts[i].token, {}};
    if (accounts.size() > 1) {
      boost::asio::io_context ioc;
      rest_conn c(ioc, o.server);
      auto [st, body] = c.call(verb::get, "/v2/my/status", accounts[1].token);
      expect_status("GET my/status", st, body);
      const auto unread = nlohmann::json::parse(body).value("unread_room_num", 0);
      if (unread != o.rooms)
        throw std::runtime_error("GET my/status answered unread_room_num " +
                                 std::to_string(unread) + ", expected " + std::to_string(o.rooms));
    }
    std::printf("set up: %zu accounts, each a member of %d rooms\n", accounts.size(), o.rooms);
  }
  return requests;
}

void print_phase(const char* name, phase_result& r) {
  std::printf(
      "%s: %.0f answers/s (%llu ok, %llu failed in %.0f s); latency ms p50 %.2f p99 %.2f "
      "p99.9 %.2f max %.2f\n",
      name, r.per_second(), static_cast<unsigned long long>(r.ok),
      static_cast<unsigned long long>(r.failed), r.duration_s, r.percentile_ms(0.5),
      r.percentile_ms(0.99), r.percentile_ms(0.999), r.percentile_ms(1.0));
  std::fflush(stdout);
}

/// One mode: set-up, closed loop, open loop; returns false when a request failed.
bool run_mode(const options& o, const std::string& mode) {
  const auto requests = set_up(o, mode);
  const auto load_before = load_average();
  std::printf("%s: load average before the closed loop %s\n", mode.c_str(), load_before.c_str());
  auto closed = run_phase(o.server, requests, o.timing, 0);
  print_phase((mode + " closed loop").c_str(), closed);
  const double rate = o.rate > 0 ? o.rate : closed.per_second() / 2;
  if (rate <= 0) return false;
  const auto load_open = load_average();
  auto open = run_phase(o.server, requests, o.timing, rate / static_cast<double>(requests.size()));
  print_phase((mode + " open loop at " + std::to_string(static_cast<long>(rate)) + "/s").c_str(),
              open);
  nlohmann::json line{{"mode", mode},
                      {"connections", requests.size()},
                      {"rooms", o.rooms},
                      {"messages", o.messages},
                      {"closed_per_s", closed.per_second()},
                      {"closed_p50_ms", closed.percentile_ms(0.5)},
                      {"closed_p99_ms", closed.percentile_ms(0.99)},
                      {"closed_cpu_ms_per_request", closed.cpu_ms_per_request()},
                      {"open_rate", rate},
                      {"open_per_s", open.per_second()},
                      {"open_p50_ms", open.percentile_ms(0.5)},
                      {"open_p99_ms", open.percentile_ms(0.99)},
                      {"open_p999_ms", open.percentile_ms(0.999)},
                      {"open_max_ms", open.percentile_ms(1.0)},
                      {"open_cpu_ms_per_request", open.cpu_ms_per_request()},
                      {"closed_window_us", {closed.window_from_us, closed.window_until_us}},
                      {"open_window_us", {open.window_from_us, open.window_until_us}},
                      {"failed", closed.failed + open.failed},
                      {"load_closed", load_before},
                      {"load_open", load_open}};
  std::printf("%s\n", line.dump().c_str());
  std::fflush(stdout);
  return closed.failed == 0 && open.failed == 0;
}

}  // namespace

int main(int argc, char** argv) {
  const auto o = parse(argc, argv);
  bool all_ok = true;
  try {
    for (const auto& mode : o.modes) all_ok = run_mode(o, mode) && all_ok;
  } catch (const std::exception& ex) {
    std::cerr << "hibiki_rest_bench: " << ex.what() << "\n";
    return 1;
  }
  return all_ok ? 0 : 1;
}
