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

}  // namespace

fleet::fleet(const options& opts, run_clock& clock)
    : opts_(opts), clock_(clock), work_(net::make_work_guard(ioc_)) {}

fleet::~fleet() {
  stop();
}

bool fleet::resolve() {
  tcp::resolver resolver(ioc_);
  beast::error_code ec;
  auto results = resolver.resolve(opts_.host, opts_.port, ec);
  if (ec || results.empty()) {
    std::fprintf(stderr, "hibiki_loadgen: cannot resolve %s:%s: %s\n", opts_.host.c_str(),
                 opts_.port.c_str(), ec.message().c_str());
    return false;
  }
  endpoint_ = results.begin()->endpoint();
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
  const std::string host_header = opts_.host + ":" + opts_.port;
  for (std::size_t i = 0; i < accounts.size(); ++i) {
    clients_.push_back(std::make_shared<load_client>(ioc_, clock_, endpoint_, host_header,
                                                     opts_.path, accounts[i], i));
  }
  completion_latch latch(clients_.size());
  std::atomic<std::size_t> next{0};
  std::atomic<std::size_t> ok{0};
  std::mutex error_mutex;
  std::string first_error;
  std::size_t failures = 0;
  // Each finished handshake starts the next one, keeping `parallelism` in progress.
  std::function<void()> launch = [&] {
    const auto i = next++;
    if (i >= clients_.size()) return;
    auto& c = clients_[i];
    net::post(c->executor(), [&, c] {
      c->connect([&](std::string error) {
        if (error.empty()) {
          ++ok;
        } else {
          std::lock_guard lock(error_mutex);
          if (failures++ == 0) first_error = error;
        }
        latch.count_down();
        launch();
      });
    });
  };
  for (std::size_t i = 0; i < std::min(parallelism, clients_.size()); ++i) launch();
  if (!latch.wait_for(std::chrono::seconds(120))) {
    std::fprintf(stderr, "hibiki_loadgen: connecting timed out after 120 s\n");
  }
  if (failures > 0) {
    std::lock_guard lock(error_mutex);
    std::fprintf(stderr, "hibiki_loadgen: %zu connections failed; first: %s\n", failures,
                 first_error.c_str());
  }
  // Keep `launch` alive until every callback that may call it has run: the latch says so, but a
  // timed-out wait must not let late callbacks touch this frame.
  if (ok + failures < clients_.size()) {
    stop();
  }
  return ok;
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
  }
  return by_client;
}

}  // namespace hibiki::bench
