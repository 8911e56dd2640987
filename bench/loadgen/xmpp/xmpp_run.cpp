#include "xmpp_run.hpp"

#include <unistd.h>

#include <boost/asio/executor_work_guard.hpp>
#include <condition_variable>
#include <cstdio>
#include <future>
#include <mutex>
#include <thread>

#include "../report.hpp"
#include "xmpp_client.hpp"

namespace hibiki::bench {
namespace {

/// Counts completions from io threads and keeps the first error; the main thread waits.
class setup_latch {
 public:
  explicit setup_latch(std::size_t n) : left_(n) {}
  void done(const std::string& error) {
    std::lock_guard lock(mutex_);
    if (!error.empty() && failures_++ == 0) first_error_ = error;
    if (left_ > 0 && --left_ == 0) cv_.notify_all();
  }
  /// True when every step completed without error before the deadline; else says why.
  bool wait(std::chrono::seconds limit, const char* what) {
    std::unique_lock lock(mutex_);
    const bool all = cv_.wait_for(lock, limit, [&] { return left_ == 0; });
    if (!all) std::fprintf(stderr, "hibiki_loadgen: %s timed out (%zu left)\n", what, left_);
    if (failures_ > 0) {
      std::fprintf(stderr, "hibiki_loadgen: %s: %zu failed; first: %s\n", what, failures_,
                   first_error_.c_str());
    }
    return all && failures_ == 0;
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t left_;
  std::size_t failures_ = 0;
  std::string first_error_;
};

/// The io_context and its threads; joined on destruction.
struct io_threads {
  explicit io_threads(std::size_t n) : work(net::make_work_guard(ioc)) {
    for (std::size_t i = 0; i < n; ++i) threads.emplace_back([this] { ioc.run(); });
  }
  ~io_threads() { stop(); }
  void stop() {
    work.reset();
    ioc.stop();
    for (auto& t : threads) t.join();
    threads.clear();
  }
  net::io_context ioc;
  net::executor_work_guard<net::io_context::executor_type> work;
  std::vector<std::thread> threads;
};

std::optional<proc_sample> sample(const options& o) {
  if (o.server_pids.empty()) return std::nullopt;
  proc_sample total;
  for (const long pid : o.server_pids) {
    auto s = read_proc(pid);
    if (!s) {
      std::fprintf(stderr, "hibiki_loadgen: cannot read /proc/%ld\n", pid);
      return std::nullopt;
    }
    total.cpu_seconds += s->cpu_seconds;
    total.rss_mib += s->rss_mib;
    total.hwm_mib += s->hwm_mib;
  }
  return total;
}

void sleep_s(double seconds) {
  std::this_thread::sleep_for(std::chrono::duration<double>(seconds));
}

/// Connects `clients`, `parallelism` at a time: each completion starts the next.
struct connect_queue : std::enable_shared_from_this<connect_queue> {
  connect_queue(std::vector<std::shared_ptr<xmpp_client>> c, std::shared_ptr<setup_latch> l)
      : clients(std::move(c)), latch(std::move(l)) {}
  void launch() {
    const auto i = next++;
    if (i >= clients.size()) return;
    auto c = clients[i];
    net::post(c->executor(), [self = shared_from_this(), c] {
      c->connect([self](std::string error) {
        self->launch();
        self->latch->done(error);
      });
    });
  }
  std::vector<std::shared_ptr<xmpp_client>> clients;
  std::shared_ptr<setup_latch> latch;
  std::atomic<std::size_t> next{0};
};

}  // namespace

int run_xmpp_load(const options& o) {
  if (o.idle_connections > 0 || !o.webhook_url.empty()) {
    std::fprintf(stderr, "hibiki_loadgen: --protocol xmpp has no idle mode and no webhooks\n");
    return 2;
  }
  if (o.rooms == 0) {
    std::fprintf(stderr, "hibiki_loadgen: no connection is in a room (use --rooms > 0)\n");
    return 2;
  }
  xmpp_options x = o.xmpp;
  if (x.muc_domain.empty()) x.muc_domain = "conference." + x.domain;
  if (x.user_prefix.empty()) x.user_prefix = "lg" + std::to_string(getpid()) + "-";

  run_clock clock;
  io_threads io(o.threads);
  std::vector<tcp::endpoint> endpoints;
  {
    tcp::resolver resolver(io.ioc);
    for (const auto& s : o.servers) {
      beast::error_code ec;
      auto results = resolver.resolve(s.host, s.port, ec);
      if (ec || results.empty()) {
        std::fprintf(stderr, "hibiki_loadgen: cannot resolve %s:%s: %s\n", s.host.c_str(),
                     s.port.c_str(), ec.message().c_str());
        return 2;
      }
      endpoints.push_back(results.begin()->endpoint());
    }
  }
  const auto make_client = [&](std::size_t i) {
    const auto s = i % endpoints.size();
    const auto& server = o.servers[s];
    return std::make_shared<xmpp_client>(io.ioc, clock, endpoints[s],
                                         server.host + ":" + server.port, server.path, server.tls,
                                         x.user_prefix + std::to_string(i), x, i);
  };
  std::vector<std::shared_ptr<xmpp_client>> clients;
  for (std::size_t i = 0; i < o.connections; ++i) clients.push_back(make_client(i));
  std::fprintf(stderr, "hibiki_loadgen: connecting %zu XMPP clients%s\n", clients.size(),
               x.register_accounts ? " (registering their accounts)" : "");
  // A loaded machine drops the odd handshake: up to three passes, each retrying (on a new
  // connection; an account registered in an earlier pass is reused) only the clients that failed.
  std::vector<std::size_t> todo(clients.size());
  for (std::size_t i = 0; i < todo.size(); ++i) todo[i] = i;
  for (int pass = 1; !todo.empty(); ++pass) {
    if (pass > 3) {
      std::fprintf(stderr, "hibiki_loadgen: %zu clients could not connect\n", todo.size());
      return 2;
    }
    std::vector<std::shared_ptr<xmpp_client>> batch;
    for (const auto i : todo) {
      if (pass > 1) {
        clients[i]->shutdown();  // whatever is left of the failed attempt
        clients[i] = make_client(i);
      }
      batch.push_back(clients[i]);
    }
    auto latch = std::make_shared<setup_latch>(batch.size());
    auto queue = std::make_shared<connect_queue>(batch, latch);
    for (std::size_t i = 0; i < std::min(o.connect_parallelism, batch.size()); ++i) queue->launch();
    latch->wait(std::chrono::seconds(180), "connecting");
    std::vector<std::size_t> failed;
    for (const auto i : todo) {
      // ready() reads the client's state: ask on its strand.
      auto asked = std::make_shared<std::promise<bool>>();
      auto answer = asked->get_future();
      net::post(clients[i]->executor(), [asked, c = clients[i]] { asked->set_value(c->ready()); });
      if (!answer.get()) failed.push_back(i);
    }
    todo = std::move(failed);
  }

  // Rooms tile the accounts as in the hibiki mode: room j has members (j*K + i) mod C. Member 0
  // joins first (creating and unlocking the room), then the others.
  const auto n = clients.size();
  const auto k = o.members_per_room;
  std::vector<std::vector<std::string>> rooms_of(n);
  std::vector<std::string> room_jids;
  for (std::size_t j = 0; j < o.rooms; ++j) {
    room_jids.push_back(x.user_prefix + "room" + std::to_string(j) + "@" + x.muc_domain);
    for (std::size_t i = 0; i < k; ++i) rooms_of[(j * k + i) % n].push_back(room_jids[j]);
  }
  std::fprintf(stderr, "hibiki_loadgen: creating and joining %zu MUC rooms\n", o.rooms);
  {
    // Shared with the io threads: a late callback may still run after a timed-out wait.
    auto creators = std::make_shared<setup_latch>(o.rooms);
    for (std::size_t j = 0; j < o.rooms; ++j) {
      auto c = clients[(j * k) % n];
      net::post(c->executor(), [jid = room_jids[j], creators, c] {
        c->join(jid, [creators](std::string e) { creators->done(e); });
      });
    }
    if (!creators->wait(std::chrono::seconds(120), "creating rooms")) return 2;
    auto members = std::make_shared<setup_latch>(o.rooms * (k - 1));
    for (std::size_t j = 0; j < o.rooms; ++j) {
      for (std::size_t i = 1; i < k; ++i) {
        auto c = clients[(j * k + i) % n];
        net::post(c->executor(), [jid = room_jids[j], members, c] {
          c->join(jid, [members](std::string e) { members->done(e); });
        });
      }
    }
    if (!members->wait(std::chrono::seconds(180), "joining rooms")) return 2;
  }
  sleep_s(0.5);  // the join presences reach every occupant before the first message

  std::size_t senders = 0;
  for (const auto& r : rooms_of) senders += !r.empty();
  send_plan plan;
  plan.rate_per_connection = o.rate > 0 ? o.rate / static_cast<double>(senders) : 0;
  plan.window = o.window;
  plan.body_size = o.body_size;
  for (std::size_t i = 0; i < n; ++i) clients[i]->start_sending(rooms_of[i], plan);

  std::fprintf(stderr, "hibiki_loadgen: warm-up %.0f s, then measuring %.0f s\n", o.warmup,
               o.duration);
  sleep_s(o.warmup);
  load_report r;
  for (const auto& s : o.servers) r.server_urls.push_back(s.url);
  r.server_start = sample(o);
  r.client_start = read_proc(getpid());
  const auto start = now_ns();
  clock.window_start = start;
  sleep_s(o.duration);
  const auto end = now_ns();
  clock.window_end = end;
  r.server_end = sample(o);
  r.client_end = read_proc(getpid());
  clock.stopping = true;

  // Drain: the reflections of the last sends and the copies they cause.
  for (int i = 0; i < 100 && clock.outstanding.load() > 0; ++i) sleep_s(0.1);
  for (int i = 0; i < 20; ++i) {
    const auto before = clock.pushes_total.load();
    sleep_s(0.5);
    if (clock.pushes_total.load() == before) break;
  }
  for (auto& c : clients) c->shutdown();
  sleep_s(0.3);
  io.stop();

  r.connections = n;
  r.rooms = o.rooms;
  r.members_per_room = k;
  r.target_rate = o.rate;
  r.window = o.window;
  r.duration_s = static_cast<double>(end - start) / 1e9;
  for (const auto& c : clients) {
    const auto& s = c->stats();
    r.sent += s.sent_in_window;
    r.acked += s.acked_in_window;
    r.delivered += s.delivered_in_window;
    r.skipped += s.skipped;
    r.closed_early += c->closed_early();
    r.ack.merge(s.ack);
    r.delivery.merge(s.delivery);
    for (const auto& [code, count] : s.errors) r.errors[code] += count;
  }
  if (clock.outstanding.load() > 0)
    r.errors["no_reply"] += static_cast<std::uint64_t>(clock.outstanding.load());
  print_load_report(r);
  return 0;
}

}  // namespace hibiki::bench
