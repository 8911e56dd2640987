#include "options.hpp"

#include <charconv>
#include <cstdio>
#include <string_view>

namespace hibiki::bench {
namespace {

constexpr const char* usage_text =
    "usage: hibiki_loadgen [options]\n"
    "  --url ws://HOST:PORT/ws     server (sign-up uses http://HOST:PORT/api/signup); repeat\n"
    "                              wss:// for TLS (https sign-up; the certificate is not checked)\n"
    "                              it or give a comma list for several nodes: accounts sign up\n"
    "                              on and connect to them in turn\n"
    "  --connections N             authenticated connections, one account each (100)\n"
    "  --rooms M                   rooms to create (10)\n"
    "  --members-per-room K        member accounts per room, creator included (10)\n"
    "  --rate R                    messages/s over all connections, 0 = window-limited (0)\n"
    "  --window W                  sends in flight per connection when --rate 0 (8)\n"
    "  --duration S                measured seconds (10)\n"
    "  --warmup S                  seconds of load before measuring (2)\n"
    "  --body-size B               extra bytes of padding per message body (0)\n"
    "  --webhook-url URL           after set-up, a message_created webhook to URL in every\n"
    "                              room (the server needs --webhook-allow-private for 127.0.0.1)\n"
    "  --threads T                 io_context threads, 1 or 2 (1)\n"
    "  --server-pid PID            read hibikid's CPU seconds and RSS from /proc/PID;\n"
    "                              repeatable (one per node, summed; give them in --url order)\n"
    "  --broker-pid PID            the Kafka broker's pid: its CPU and RSS apart, and msgs\n"
    "                              per CPU-second with it included\n"
    "  --hops                      split send->ack latency into local / one hop from each\n"
    "                              node's /api/cluster (on by default with several --url;\n"
    "                              sends $HIBIKI_ADMIN_TOKEN as the admin token when set)\n"
    "  --idle-connections N        idle mode: N authenticated idle connections, report RSS\n"
    "  --idle-hold S               idle mode: seconds to hold them before measuring (5)\n"
    "  --source-addresses N        idle mode: connect from 127.0.0.2.. (N addresses; default\n"
    "                              one per 25,000 connections to a 127.x server, 0 = kernel's)\n"
    "  --signup-parallelism P      concurrent HTTP sign-ups (8)\n"
    "  --connect-parallelism P     concurrent WebSocket handshakes (256)\n";

bool parse_size(std::string_view text, std::size_t& out) {
  auto [ptr, ec] = std::from_chars(text.data(), text.data() + text.size(), out);
  return ec == std::errc{} && ptr == text.data() + text.size();
}

bool parse_double(std::string_view text, double& out) {
  try {
    std::size_t used = 0;
    out = std::stod(std::string(text), &used);
    return used == text.size() && out >= 0;
  } catch (...) {
    return false;
  }
}

/// Splits ws://host:port/path or wss://host:port/path (TLS; sign-up then uses https).
bool split_url(server_url& o) {
  std::string_view u = o.url;
  if (u.substr(0, 6) == "wss://") {
    o.tls = true;
    u.remove_prefix(6);
  } else if (u.substr(0, 5) == "ws://") {
    u.remove_prefix(5);
  } else {
    return false;
  }
  auto slash = u.find('/');
  std::string_view authority = u.substr(0, slash);
  o.path = slash == std::string_view::npos ? "/" : std::string(u.substr(slash));
  auto colon = authority.rfind(':');
  if (colon == std::string_view::npos) {
    o.host = std::string(authority);
    o.port = o.tls ? "443" : "80";
  } else {
    o.host = std::string(authority.substr(0, colon));
    o.port = std::string(authority.substr(colon + 1));
  }
  return !o.host.empty() && !o.port.empty();
}

/// Adds the servers of one `--url` value (a comma list); the first `--url` replaces the default.
bool add_urls(std::string_view value, bool first, options& o) {
  if (first) o.servers.clear();
  while (true) {
    const auto comma = value.find(',');
    server_url s;
    s.url = std::string(value.substr(0, comma));
    if (!split_url(s)) return false;
    o.servers.push_back(std::move(s));
    if (comma == std::string_view::npos) return true;
    value.remove_prefix(comma + 1);
  }
}

}  // namespace

std::optional<options> parse_options(int argc, char** argv) {
  options o;
  bool url_given = false;
  for (int i = 1; i < argc; ++i) {
    std::string_view arg = argv[i];
    if (arg == "--help" || arg == "-h") {
      std::fputs(usage_text, stdout);
      std::fputs(xmpp_usage_text, stdout);
      return std::nullopt;
    }
    if (arg == "--hops") {  // a switch: takes no value
      o.hops = true;
      continue;
    }
    std::string_view value;
    if (auto eq = arg.find('='); eq != std::string_view::npos) {
      value = arg.substr(eq + 1);
      arg = arg.substr(0, eq);
    } else if (i + 1 < argc) {
      value = argv[++i];
    } else {
      std::fprintf(stderr, "hibiki_loadgen: %s needs a value\n%s", argv[i], usage_text);
      return std::nullopt;
    }
    bool ok = true;
    std::size_t pid = 0;
    if (arg == "--url") {
      ok = add_urls(value, !url_given, o);
      url_given = true;
    } else if (arg == "--connections") {
      ok = parse_size(value, o.connections) && o.connections > 0;
    } else if (arg == "--rooms") {
      ok = parse_size(value, o.rooms);
    } else if (arg == "--members-per-room") {
      ok = parse_size(value, o.members_per_room) && o.members_per_room > 0;
    } else if (arg == "--rate") {
      ok = parse_double(value, o.rate);
    } else if (arg == "--window") {
      ok = parse_size(value, o.window) && o.window > 0;
    } else if (arg == "--duration") {
      ok = parse_double(value, o.duration) && o.duration > 0;
    } else if (arg == "--warmup") {
      ok = parse_double(value, o.warmup);
    } else if (arg == "--body-size") {
      ok = parse_size(value, o.body_size) && o.body_size <= 60000;
    } else if (arg == "--webhook-url") {
      o.webhook_url = std::string(value);
      ok = value.substr(0, 7) == "http://" || value.substr(0, 8) == "https://";
    } else if (arg == "--threads") {
      ok = parse_size(value, o.threads) && o.threads >= 1 && o.threads <= 2;
    } else if (arg == "--server-pid") {
      ok = parse_size(value, pid) && pid > 0;
      o.server_pids.push_back(static_cast<long>(pid));
    } else if (arg == "--broker-pid") {
      ok = parse_size(value, pid) && pid > 0;
      o.broker_pid = static_cast<long>(pid);
    } else if (arg == "--idle-connections") {
      ok = parse_size(value, o.idle_connections);
    } else if (arg == "--idle-hold") {
      ok = parse_double(value, o.idle_hold);
    } else if (arg == "--source-addresses") {
      std::size_t n = 0;
      ok = parse_size(value, n) && n <= 250;
      o.source_addresses = n;
    } else if (arg == "--signup-parallelism") {
      ok = parse_size(value, o.signup_parallelism) && o.signup_parallelism > 0;
    } else if (arg == "--connect-parallelism") {
      ok = parse_size(value, o.connect_parallelism) && o.connect_parallelism > 0;
    } else if (parse_xmpp_option(arg, value, o.xmpp, ok)) {
    } else {
      std::fprintf(stderr, "hibiki_loadgen: unknown option %.*s\n%s", static_cast<int>(arg.size()),
                   arg.data(), usage_text);
      return std::nullopt;
    }
    if (!ok) {
      std::fprintf(stderr, "hibiki_loadgen: bad value for %.*s: %.*s\n",
                   static_cast<int>(arg.size()), arg.data(), static_cast<int>(value.size()),
                   value.data());
      return std::nullopt;
    }
  }
  if (o.servers.size() > 1) o.hops = true;
  if (o.idle_connections == 0 && o.rooms > 0 && o.members_per_room > o.connections) {
    std::fprintf(stderr, "hibiki_loadgen: --members-per-room (%zu) exceeds --connections (%zu)\n",
                 o.members_per_room, o.connections);
    return std::nullopt;
  }
  return o;
}

}  // namespace hibiki::bench
