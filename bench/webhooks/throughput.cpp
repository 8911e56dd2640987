/// hibiki_webhook_bench: how fast the webhook service empties its outbox into a local receiver.
///
///   hibiki_webhook_bench --url http://127.0.0.1:PORT/hook [--rooms R] [--messages N]
///                        [--workers W] [--batch B] [--dir DIR]
///
/// It opens the webhook service (persistence/webhooks.hpp) on a fresh outbox, feeds its
/// projection R rooms, each with one message_created webhook to URL, then N messages spread over
/// the rooms in turn (feed records encoded as the journal holds them, applied in batches of B):
/// the outbox then holds N deliveries. It starts the delivery workers and times them until the
/// outbox is empty: deliveries/s with W workers (each delivers one room's oldest delivery at a
/// time, so deliveries stay ordered per room). Run a receiver first (hibiki_webhook_sink); its
/// count and order check confirm the figure. Private addresses are allowed (127.0.0.1).
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <thread>

#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/room.hpp"
#include "hibiki/persistence/webhooks.hpp"

namespace {

using namespace hibiki;

struct options {
  std::string url;
  std::uint64_t rooms = 100;
  std::uint64_t messages = 50'000;
  std::size_t workers = persistence::webhook_options{}.workers;
  std::size_t batch = 1000;
  std::string dir;
};

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i + 1 < argc; i += 2) {
    const std::string key = argv[i], value = argv[i + 1];
    try {
      if (key == "--url") {
        o.url = value;
      } else if (key == "--rooms") {
        o.rooms = std::stoull(value);
      } else if (key == "--messages") {
        o.messages = std::stoull(value);
      } else if (key == "--workers") {
        o.workers = std::stoull(value);
      } else if (key == "--batch") {
        o.batch = std::stoull(value);
      } else if (key == "--dir") {
        o.dir = value;
      } else {
        return false;
      }
    } catch (const std::exception&) {
      return false;
    }
  }
  return argc % 2 == 1 && !o.url.empty() && o.rooms > 0 && o.batch > 0 && o.workers > 0;
}

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

/// Feed records for one partition, offsets and per-room seqs in order.
class feed_writer {
 public:
  void add(room_id r, const room::event& e) {
    persistence::feed_record rec;
    rec.offset = offset_++;
    rec.event.entity = entity_of(r);
    rec.event.seq = ++seq_[r.value];
    rec.event.writer = "webhook-bench";
    rec.event.payload = codec::encode(e);
    batch_.push_back(std::move(rec));
  }
  /// Applies what was added since the last flush.
  status flush(persistence::projection& p) {
    if (batch_.empty()) return {};
    auto st = p.apply(batch_, {{0, offset_}});
    batch_.clear();
    return st;
  }
  std::size_t pending() const { return batch_.size(); }

 private:
  std::int64_t offset_ = 0;
  std::map<std::uint64_t, seq_nr> seq_;
  std::vector<persistence::feed_record> batch_;
};

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    std::fprintf(stderr,
                 "usage: hibiki_webhook_bench --url http://127.0.0.1:PORT/hook [--rooms R]"
                 " [--messages N] [--workers W] [--batch B] [--dir DIR]\n");
    return 2;
  }
  const bool own_dir = o.dir.empty();
  if (own_dir) {
    auto pattern =
        (std::filesystem::temp_directory_path() / "hibiki-webhook-bench-XXXXXX").string();
    if (::mkdtemp(pattern.data()) == nullptr) return 1;
    o.dir = pattern;
  }
  persistence::webhook_options wo;
  wo.path = (std::filesystem::path(o.dir) / "webhooks").string();
  wo.allow_private = true;
  wo.workers = o.workers;
  auto service = persistence::webhook_service::open(wo);
  if (!service) {
    std::fprintf(stderr, "cannot open the outbox: %s\n", service.error().message.c_str());
    return 1;
  }
  auto& projection = (*service)->outbox_projection();

  // The rooms and their webhooks, then the messages, as the feed would bring them.
  feed_writer feed;
  const unix_time t0 = 1'700'000'000;
  for (std::uint64_t r = 1; r <= o.rooms; ++r) {
    room::room_created c;
    c.room = room_id{r};
    c.name = "webhook bench " + std::to_string(r);
    c.creator = account_id{1};
    c.members = {account_id{2}};
    c.time = t0;
    feed.add(room_id{r}, c);
    auto token = persistence::new_webhook_token();
    if (!token) {
      std::fprintf(stderr, "%s\n", token.error().message.c_str());
      return 1;
    }
    room::webhook_created w;
    w.id = webhook_id{1};
    w.url = o.url;
    w.events = {room::webhook_event::message_created};
    w.token = *token;
    w.by = account_id{1};
    w.time = t0;
    feed.add(room_id{r}, w);
  }
  if (auto st = feed.flush(projection); !st) {
    std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
    return 1;
  }
  const auto fill_started = std::chrono::steady_clock::now();
  for (std::uint64_t i = 0; i < o.messages; ++i) {
    const room_id r{i % o.rooms + 1};
    room::message_posted m;
    m.id = message_id{i / o.rooms + 1};
    m.author = account_id{i % 2 + 1};
    m.body = "webhook bench message " + std::to_string(i) + " ベンチマーク";
    m.client_msg_id = "w" + std::to_string(i);
    m.time = t0 + static_cast<unix_time>(i / 100);
    feed.add(r, m);
    if (feed.pending() >= o.batch) {
      if (auto st = feed.flush(projection); !st) {
        std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
        return 1;
      }
    }
  }
  if (auto st = feed.flush(projection); !st) {
    std::fprintf(stderr, "apply: %s\n", st.error().message.c_str());
    return 1;
  }
  const double fill_seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - fill_started).count();
  const auto queued = (*service)->pending();
  std::printf(
      "outbox: %llu deliveries queued for %llu rooms in %.2f s (%.0f events/s through the"
      " projection)\n",
      static_cast<unsigned long long>(queued), static_cast<unsigned long long>(o.rooms),
      fill_seconds, fill_seconds > 0 ? static_cast<double>(o.messages) / fill_seconds : 0.0);
  std::fflush(stdout);

  const double cpu_before = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  (*service)->start();
  std::uint64_t left = queued;
  double last_report = 0;
  for (;;) {
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
    left = (*service)->pending();
    const double s =
        std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
    if (left == 0) break;
    if (s - last_report >= 5) {
      last_report = s;
      std::fprintf(stderr, "  %llu left after %.0f s\n", static_cast<unsigned long long>(left), s);
    }
    if (s > 600) {
      std::fprintf(stderr, "gave up after 600 s with %llu deliveries left\n",
                   static_cast<unsigned long long>(left));
      break;
    }
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  const double cpu = cpu_seconds() - cpu_before;
  (*service)->stop();
  const std::uint64_t delivered = queued - left;
  const double rate = seconds > 0 ? static_cast<double>(delivered) / seconds : 0.0;
  std::printf(
      "delivered %llu in %.2f s with %zu workers: %.0f deliveries/s (this process: %.0f%%"
      " of a core, %.0f us CPU per delivery)\n",
      static_cast<unsigned long long>(delivered), seconds, o.workers, rate,
      seconds > 0 ? 100.0 * cpu / seconds : 0.0,
      delivered ? 1e6 * cpu / static_cast<double>(delivered) : 0.0);
  const nlohmann::json j = {
      {"rooms", o.rooms}, {"messages", o.messages}, {"workers", o.workers},
      {"queued", queued}, {"delivered", delivered}, {"seconds", seconds},
      {"per_s", rate},    {"cpu_seconds", cpu},     {"fill_seconds", fill_seconds}};
  std::printf("%s\n", j.dump().c_str());
  service->reset();
  if (own_dir) std::filesystem::remove_all(o.dir);
  return left == 0 ? 0 : 1;
}
