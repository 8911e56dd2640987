#include "fleet.hpp"

#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>

namespace hibiki::bench {
namespace {

/// Counts completions from io threads; the main thread waits for all of them or a deadline.
class completion_latch {
 public:
  explicit completion_latch(std::size_t n) : left_(n) {}
  void count_down() {
    std::lock_guard lock(mutex_);
    if (left_ > 0 && --left_ == 0) cv_.notify_all();
  }
  bool wait_for(std::chrono::seconds limit) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, limit, [&] { return left_ == 0; });
  }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::size_t left_;
};

struct connect_state {
  explicit connect_state(std::vector<std::shared_ptr<load_client>> c)
      : clients(std::move(c)), latch(clients.size()) {}
  std::vector<std::shared_ptr<load_client>> clients;
  completion_latch latch;
  std::atomic<std::size_t> next{0};
  std::mutex mutex;  ///< guards the fields below
  std::size_t ok = 0;
  std::size_t failures = 0;
  std::string first_error;
};

/// Starts the next handshake; each one that finishes starts another, keeping the parallelism.
void launch_next(std::shared_ptr<connect_state> state) {
  const auto i = state->next++;
  if (i >= state->clients.size()) return;
  auto c = state->clients[i];
  net::post(c->executor(), [state, c] {
    c->connect([state](std::string error) {
      {
        std::lock_guard lock(state->mutex);
        if (error.empty()) {
          ++state->ok;
        } else if (state->failures++ == 0) {
          state->first_error = error;
        }
      }
      launch_next(state);
      state->latch.count_down();
    });
  });
}

}  // namespace

fleet::fleet(const options& opts, run_clock& clock)
    : opts_(opts), clock_(clock), work_(net::make_work_guard(ioc_)) {}

fleet::~fleet() {
  stop();
}

bool fleet::resolve() {
  tcp::resolver resolver(ioc_);
  endpoints_.clear();
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

void fleet::start_threads() {
  for (std::size_t i = 0; i < opts_.threads; ++i) threads_.emplace_back([this] { ioc_.run(); });
}

void fleet::stop() {
  work_.reset();
  ioc_.stop();
  for (auto& t : threads_) t.join();
  threads_.clear();
}

std::size_t fleet::connect_all(const std::vector<account>& accounts, std::size_t parallelism) {
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    const auto s = i % endpoints_.size();
    const auto& server = opts_.servers[s];
    clients_.push_back(std::make_shared<load_client>(ioc_, clock_, endpoints_[s],
                                                     server.host + ":" + server.port, server.path,
                                                     accounts[i], i, s, server.tls));
  }
  // Shared with the io threads: a completion callback may still run (and start the next
  // handshake) after the main thread has stopped waiting.
  auto state = std::make_shared<connect_state>(clients_);
  for (std::size_t i = 0; i < std::min(parallelism, clients_.size()); ++i) launch_next(state);
  if (!state->latch.wait_for(std::chrono::seconds(120))) {
    std::fprintf(stderr, "hibiki_loadgen: connecting timed out after 120 s\n");
  }
  std::lock_guard lock(state->mutex);
  if (state->failures > 0) {
    std::fprintf(stderr, "hibiki_loadgen: %zu connections failed; first: %s\n", state->failures,
                 state->first_error.c_str());
  }
  return state->ok;
}

std::vector<std::vector<std::uint64_t>> fleet::create_rooms(std::size_t rooms,
                                                            std::size_t members) {
  // Room j has the members (j*K + i) mod C for i in 0..K-1, so rooms tile the accounts and every
  // account is in about M*K/C rooms; member 0 creates the room and is its admin.
  const std::size_t n = clients_.size();
  std::vector<std::vector<std::uint64_t>> by_client(n);
  std::vector<std::uint64_t> room_ids(rooms, 0);
  completion_latch latch(rooms);
  std::atomic<std::size_t> failures{0};
  std::mutex result_mutex;
  for (std::size_t j = 0; j < rooms; ++j) {
    const auto creator = (j * members) % n;
    nlohmann::json ids = nlohmann::json::array();
    for (std::size_t i = 1; i < members; ++i)
      ids.push_back(clients_[(j * members + i) % n]->acct().id);
    auto c = clients_[creator];
    net::post(c->executor(), [&, c, j, ids] {
      c->request(
          {{"op", "create_room"}, {"name", "lg-room-" + std::to_string(j)}, {"members", ids}},
          [&, j](const nlohmann::json& reply) {
            if (reply.value("ok", false) && reply.contains("room_id")) {
              std::lock_guard lock(result_mutex);
              room_ids[j] = reply["room_id"].get<std::uint64_t>();
            } else if (failures++ == 0) {
              std::fprintf(stderr, "hibiki_loadgen: create_room failed: %s\n",
                           reply.dump().c_str());
            }
            latch.count_down();
          });
    });
  }
  if (!latch.wait_for(std::chrono::seconds(60)) || failures > 0) {
    std::fprintf(stderr, "hibiki_loadgen: room creation did not complete\n");
    stop();
    return {};
  }
  for (std::size_t j = 0; j < rooms; ++j) {
    for (std::size_t i = 0; i < members; ++i)
      by_client[(j * members + i) % n].push_back(room_ids[j]);
    rooms_.emplace_back(room_ids[j], (j * members) % n);
  }
  return by_client;
}

bool fleet::create_webhooks(const std::string& url) {
  completion_latch latch(rooms_.size());
  std::atomic<std::size_t> failures{0};
  for (const auto& [room, creator] : rooms_) {
    auto c = clients_[creator];
    net::post(c->executor(), [&, c, room = room] {
      c->request({{"op", "create_webhook"},
                  {"room_id", room},
                  {"url", url},
                  {"events", nlohmann::json::array({"message_created"})}},
                 [&](const nlohmann::json& reply) {
                   if (!reply.value("ok", false) && failures++ == 0) {
                     std::fprintf(stderr, "hibiki_loadgen: create_webhook failed: %s\n",
                                  reply.dump().c_str());
                   }
                   latch.count_down();
                 });
    });
  }
  if (!latch.wait_for(std::chrono::seconds(60)) || failures > 0) {
    std::fprintf(stderr, "hibiki_loadgen: webhook creation did not complete\n");
    return false;
  }
  return true;
}

}  // namespace hibiki::bench
