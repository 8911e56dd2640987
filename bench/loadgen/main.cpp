/// hibiki_loadgen: drives a running hibikid over its WebSocket protocol and reports throughput,
/// latency percentiles, errors and the server's CPU and memory. See bench/README.md.

#include <sys/resource.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <thread>

#include "cluster_map.hpp"
#include "fleet.hpp"
#include "idle_fleet.hpp"
#include "options.hpp"
#include "report.hpp"
#include "signup_client.hpp"
#include "xmpp/xmpp_run.hpp"

namespace hibiki::bench {
namespace {

/// Thousands of sockets need more than the usual soft limit of 1024 descriptors: ask for a
/// million (root with CAP_SYS_RESOURCE may raise the hard limit), else take the hard limit.
void raise_fd_limit() {
  rlimit lim{};
  if (getrlimit(RLIMIT_NOFILE, &lim) != 0) return;
  constexpr rlim_t wanted = 1 << 20;
  if (lim.rlim_max != RLIM_INFINITY && lim.rlim_max < wanted) {
    rlimit raised{wanted, wanted};
    if (setrlimit(RLIMIT_NOFILE, &raised) == 0) return;
  }
  lim.rlim_cur = lim.rlim_max;
  setrlimit(RLIMIT_NOFILE, &lim);
}

void sleep_s(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

/// One reading per --server-pid, in order.
std::vector<std::optional<proc_sample>> sample_each(const options& o) {
  std::vector<std::optional<proc_sample>> out;
  for (const long pid : o.server_pids) {
    auto s = read_proc(pid);
    if (!s) std::fprintf(stderr, "hibiki_loadgen: cannot read /proc/%ld\n", pid);
    out.push_back(s);
  }
  return out;
}

/// The readings summed; nothing when there are none or one is missing.
std::optional<proc_sample> total_of(const std::vector<std::optional<proc_sample>>& samples) {
  if (samples.empty()) return std::nullopt;
  proc_sample total;
  for (const auto& s : samples) {
    if (!s) return std::nullopt;
    total.cpu_seconds += s->cpu_seconds;
    total.rss_mib += s->rss_mib;
    total.hwm_mib += s->hwm_mib;
  }
  return total;
}

std::optional<proc_sample> sample(const options& o) {
  return total_of(sample_each(o));
}

std::string account_prefix() {
  return "lg" + std::to_string(getpid()) + "-";
}

/// Signs up `count` accounts, account i on server i mod S (where its client will connect). One
/// server: exactly the single-server names `<prefix><i>`; several: `<prefix>s<k>-<n>`.
std::vector<account> sign_up_spread(const options& o, std::size_t count) {
  const auto servers = o.servers.size();
  if (servers == 1) {
    return sign_up_accounts(o.servers[0].host, o.servers[0].port, account_prefix(), count,
                            o.signup_parallelism, o.servers[0].tls);
  }
  std::vector<std::vector<account>> per_server(servers);
  for (std::size_t k = 0; k < servers; ++k) {
    const auto share = count / servers + (k < count % servers ? 1 : 0);
    if (share == 0) continue;
    per_server[k] = sign_up_accounts(o.servers[k].host, o.servers[k].port,
                                     account_prefix() + "s" + std::to_string(k) + "-", share,
                                     o.signup_parallelism, o.servers[k].tls);
    if (per_server[k].size() < share) return {};
  }
  std::vector<account> out;
  out.reserve(count);
  for (std::size_t i = 0; i < count; ++i)
    out.push_back(std::move(per_server[i % servers][i / servers]));
  return out;
}

/// The source addresses of the idle mode (idle_fleet.hpp): as asked, or one per 25,000
/// connections when every server is on 127.0.0.0/8.
std::vector<net::ip::address> idle_sources(const options& o) {
  if (o.source_addresses) return loopback_sources(*o.source_addresses);
  for (const auto& s : o.servers)
    if (s.host.rfind("127.", 0) != 0) return {};
  const auto n = (o.idle_connections + 24'999) / 25'000;
  return n > 1 ? loopback_sources(n) : std::vector<net::ip::address>{};
}

double seconds_since(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
}

int run_idle(const options& o) {
  idle_fleet f(o, idle_sources(o));
  if (!f.resolve()) return 2;
  idle_report r;
  r.requested = o.idle_connections;
  if (rlimit lim{}; getrlimit(RLIMIT_NOFILE, &lim) == 0 && lim.rlim_cur < o.idle_connections + 64) {
    std::fprintf(stderr, "hibiki_loadgen: only %llu file descriptors allowed; expect failures\n",
                 static_cast<unsigned long long>(lim.rlim_cur));
  }
  r.server_baseline = sample(o);
  std::fprintf(stderr, "hibiki_loadgen: signing up %zu accounts\n", o.idle_connections);
  auto started = std::chrono::steady_clock::now();
  auto accounts = sign_up_spread(o, o.idle_connections);
  if (accounts.size() < o.idle_connections) return 2;
  std::fprintf(stderr, "hibiki_loadgen: signed up in %.1f s\n", seconds_since(started));
  sleep_s(1);  // let the server settle after the sign-ups before the "before" reading
  r.server_before = sample(o);
  std::fprintf(stderr, "hibiki_loadgen: opening %zu connections\n", accounts.size());
  started = std::chrono::steady_clock::now();
  r.connected = f.connect_all(std::move(accounts), o.connect_parallelism);
  std::fprintf(stderr, "hibiki_loadgen: %zu open in %.1f s; holding %.0f s\n", r.connected,
               seconds_since(started), o.idle_hold);
  sleep_s(o.idle_hold);
  r.server_after = sample(o);
  const auto open = f.still_open();
  if (open < r.connected)
    std::fprintf(stderr, "hibiki_loadgen: %zu closed while held\n", r.connected - open);
  r.connected = open;
  print_idle_report(r);
  f.close_all();
  return r.connected == r.requested ? 0 : 1;
}

int run_load(const options& o) {
  run_clock clock;
  fleet f(o, clock);
  if (!f.resolve()) return 2;
  std::fprintf(stderr, "hibiki_loadgen: signing up %zu accounts\n", o.connections);
  auto accounts = sign_up_spread(o, o.connections);
  if (accounts.size() < o.connections) return 2;
  f.start_threads();
  std::fprintf(stderr, "hibiki_loadgen: connecting\n");
  if (f.connect_all(accounts, o.connect_parallelism) < accounts.size()) return 2;
  std::fprintf(stderr, "hibiki_loadgen: creating %zu rooms\n", o.rooms);
  auto rooms = f.create_rooms(o.rooms, o.members_per_room);
  if (rooms.empty()) return 2;
  if (!o.webhook_url.empty()) {
    std::fprintf(stderr, "hibiki_loadgen: adding a webhook to %s in each room\n",
                 o.webhook_url.c_str());
    if (!f.create_webhooks(o.webhook_url)) {
      f.stop();
      return 2;
    }
  }
  sleep_s(0.5);  // room_created pushes reach the members before the first message

  std::size_t senders = 0;
  for (const auto& r : rooms) senders += !r.empty();
  if (senders == 0) {
    std::fprintf(stderr, "hibiki_loadgen: no connection is in a room (use --rooms > 0)\n");
    return 2;
  }
  load_report r;
  r.extended = extended_report(o);
  for (const auto& s : o.servers) r.server_urls.push_back(s.url);
  // The hop split: which node serves each room's shard, as the servers say after set-up.
  std::optional<cluster_map> map;
  if (o.hops) {
    map = cluster_map::fetch(o.servers, r.hop_error);
    if (!map) std::fprintf(stderr, "hibiki_loadgen: no hop split: %s\n", r.hop_error.c_str());
  }
  if (map) r.server_nodes = map->node_of_server();
  send_plan plan;
  plan.rate_per_connection = o.rate > 0 ? o.rate / static_cast<double>(senders) : 0;
  plan.window = o.window;
  plan.body_size = o.body_size;
  for (std::size_t i = 0; i < f.clients().size(); ++i) {
    std::vector<hop> hops;
    if (map) {
      for (const auto room : rooms[i]) {
        hops.push_back(map->classify(f.clients()[i]->server(), room));
        r.pairs_local += hops.back() == hop::local;
        r.pairs_remote += hops.back() == hop::remote;
      }
    }
    f.clients()[i]->start_sending(rooms[i], plan, std::move(hops));
  }

  std::fprintf(stderr, "hibiki_loadgen: warm-up %.0f s, then measuring %.0f s\n", o.warmup,
               o.duration);
  sleep_s(o.warmup);
  std::optional<proc_sample> broker_start;
  if (o.broker_pid) broker_start = read_proc(*o.broker_pid);
  const auto pids_start = sample_each(o);
  r.server_start = total_of(pids_start);
  r.client_start = read_proc(getpid());
  const auto start = now_ns();
  clock.window_start = start;
  sleep_s(o.duration);
  const auto end = now_ns();
  clock.window_end = end;
  const auto pids_end = sample_each(o);
  if (o.broker_pid) {
    r.broker = load_report::pid_sample{*o.broker_pid, broker_start, read_proc(*o.broker_pid)};
    if (!r.broker->end)
      std::fprintf(stderr, "hibiki_loadgen: cannot read /proc/%ld\n", *o.broker_pid);
  }
  r.server_end = total_of(pids_end);
  r.client_end = read_proc(getpid());
  clock.stopping = true;
  for (std::size_t i = 0; i < o.server_pids.size(); ++i)
    r.pids.push_back({o.server_pids[i], pids_start[i], pids_end[i]});
  if (map) {
    // A rebalance in the window would mix local and remote sends under one label: say so.
    std::string error;
    auto after = cluster_map::fetch(o.servers, error);
    r.hop_map_stable = after && after->owners() == map->owners();
    r.hops = true;
    r.partition_count = map->partition_count();
    r.hop_disagreements = map->disagreements();
  }

  // Drain: replies to the last sends, then the pushes they cause, so late samples are counted.
  for (int i = 0; i < 100 && clock.outstanding.load() > 0; ++i) sleep_s(0.1);
  for (int i = 0; i < 20; ++i) {
    const auto before = clock.pushes_total.load();
    sleep_s(0.5);
    if (clock.pushes_total.load() == before) break;
  }
  for (auto& c : f.clients()) c->shutdown();
  sleep_s(0.3);
  f.stop();

  r.connections = f.clients().size();
  r.rooms = o.rooms;
  r.members_per_room = o.members_per_room;
  r.target_rate = o.rate;
  r.window = o.window;
  r.duration_s = static_cast<double>(end - start) / 1e9;
  for (const auto& c : f.clients()) {
    const auto& s = c->stats();
    r.sent += s.sent_in_window;
    r.acked += s.acked_in_window;
    r.delivered += s.delivered_in_window;
    r.skipped += s.skipped;
    r.closed_early += c->closed_early();
    r.ack.merge(s.ack);
    r.delivery.merge(s.delivery);
    if (s.ack_local) r.ack_local.merge(*s.ack_local);
    if (s.ack_remote) r.ack_remote.merge(*s.ack_remote);
    for (const auto& [code, n] : s.errors) r.errors[code] += n;
  }
  if (clock.outstanding.load() > 0)
    r.errors["no_reply"] += static_cast<std::uint64_t>(clock.outstanding.load());
  print_load_report(r);
  return 0;
}

}  // namespace
}  // namespace hibiki::bench

int main(int argc, char** argv) {
  auto opts = hibiki::bench::parse_options(argc, argv);
  if (!opts)
    return argc > 1 && (std::string_view(argv[1]) == "--help" || std::string_view(argv[1]) == "-h")
               ? 0
               : 2;
  hibiki::bench::raise_fd_limit();
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  if (opts->xmpp.enabled) return hibiki::bench::run_xmpp_load(*opts);
  if (opts->idle_connections > 0) return hibiki::bench::run_idle(*opts);
  return hibiki::bench::run_load(*opts);
}
