/// The webhook outbox (its own RocksDB database), the projection that fills it, and the delivery
/// threads that empty it.
///
/// Keys (big-endian numbers, so RocksDB's order is the numeric order):
///   "p" partition(4)                     → next offset(8): the feed positions
///   "n"                                  → the next delivery number(8)
///   "s" room(8) webhook(8)               → a webhook setting (JSON), the projection's own copy
///   "o" room(8) webhook(8) number(8)     → a delivery (JSON): ordered per room and webhook
///   "w" room(8) webhook(8)               → the delivery state shown by list_webhooks (JSON)
/// The projection writes "p", "n", "s" and "o" of one batch in one WriteBatch; the workers
/// delete an "o" after a 2xx and rewrite it (attempts) after a failure, and write "w".
#include <rocksdb/db.h>
#include <rocksdb/write_batch.h>

#include <atomic>
#include <boost/asio/ssl/context.hpp>
#include <condition_variable>
#include <mutex>
#include <nlohmann/json.hpp>
#include <set>
#include <thread>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/persistence/webhooks.hpp"
#include "webhook_body.hpp"
#include "webhook_http.hpp"

namespace hibiki::persistence {

namespace {

using nlohmann::json;
using steady = std::chrono::steady_clock;
using webhooks::planned_delivery;

constexpr const char* component = "webhooks";

void put_be(std::string& out, std::uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out.push_back(static_cast<char>((v >> (8 * i)) & 0xff));
}
std::uint64_t get_be(std::string_view in, std::size_t at, int bytes) {
  std::uint64_t v = 0;
  for (int i = 0; i < bytes; ++i) v = (v << 8) | static_cast<unsigned char>(in[at + i]);
  return v;
}

std::string key(char tag, std::uint64_t a, std::uint64_t b) {
  std::string k(1, tag);
  put_be(k, a, 8);
  put_be(k, b, 8);
  return k;
}
std::string outbox_key(room_id r, webhook_id w, std::uint64_t number) {
  auto k = key('o', r.value, w.value);
  put_be(k, number, 8);
  return k;
}
std::string position_key(std::int32_t partition) {
  std::string k(1, 'p');
  put_be(k, static_cast<std::uint32_t>(partition), 4);
  return k;
}
std::string be64(std::uint64_t v) {
  std::string s;
  put_be(s, v, 8);
  return s;
}

std::int64_t unix_ms() {
  return std::chrono::duration_cast<std::chrono::milliseconds>(
             std::chrono::system_clock::now().time_since_epoch())
      .count();
}

json setting_json(const room::webhook_setting& s) {
  json events = json::array();
  for (const auto e : s.events) events.push_back(std::string(room::to_string(e)));
  return {{"url", s.url}, {"events", std::move(events)}, {"token", s.token}};
}
std::optional<room::webhook_setting> setting_of(const std::string& text) {
  auto j = json::parse(text, nullptr, false);
  if (!j.is_object()) return std::nullopt;
  room::webhook_setting s;
  s.url = j.value("url", "");
  s.token = j.value("token", "");
  for (const auto& e : j.value("events", json::array())) {
    if (auto ev = e.is_string() ? room::parse_webhook_event(e.get<std::string>()) : std::nullopt)
      s.events.push_back(*ev);
  }
  return s;
}

/// One (room, webhook) queue: its head is delivered before anything after it.
using queue_key = std::pair<room_id, webhook_id>;

struct queue_slot {
  bool busy = false;
  steady::time_point next_at{};
  std::uint64_t pending = 0;
};

class service final : public webhook_service, public projection {
 public:
  explicit service(webhook_options options)
      : options_(std::move(options)), tls_(boost::asio::ssl::context::tls_client) {
    tls_.set_default_verify_paths();
    tls_.set_verify_mode(boost::asio::ssl::verify_peer);
    tls_.set_options(boost::asio::ssl::context::no_sslv2 | boost::asio::ssl::context::no_sslv3 |
                     boost::asio::ssl::context::no_tlsv1 | boost::asio::ssl::context::no_tlsv1_1);
  }

  ~service() override {
    stop();
    report_.reset();
  }

  status open() {
    rocksdb::Options o;
    o.create_if_missing = true;
    rocksdb::DB* raw = nullptr;
    auto st = rocksdb::DB::Open(o, options_.path, &raw);
    if (!st.ok()) {
      return hibiki::error{errc::unavailable, "cannot open the webhook outbox " + options_.path +
                                                  ": " + st.ToString()};
    }
    db_.reset(raw);
    return load();
  }

  // ---- projection -------------------------------------------------------------------------

  std::string name() const override { return "webhooks"; }

  result<feed_positions> committed() override {
    feed_positions out;
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}));
    for (it->Seek("p"); it->Valid() && it->key().starts_with("p"); it->Next()) {
      const auto k = it->key().ToStringView();
      const auto v = it->value().ToStringView();
      if (k.size() != 5 || v.size() != 8) continue;
      out[static_cast<std::int32_t>(get_be(k, 1, 4))] = static_cast<std::int64_t>(get_be(v, 0, 8));
    }
    if (!it->status().ok()) return hibiki::error{errc::unavailable, it->status().ToString()};
    return out;
  }

  status apply(const std::vector<feed_record>& batch, const feed_positions& next) override {
    return project(batch, next, true);
  }

  /// Another node delivered these events already: only the settings they change are kept.
  status replay(const std::vector<feed_record>& batch, const feed_positions& next) override {
    return project(batch, next, false);
  }

  /// The settings the events change, their deliveries (when `deliver`) and `next`, in one
  /// synced WriteBatch.
  status project(const std::vector<feed_record>& batch, const feed_positions& next, bool deliver) {
    rocksdb::WriteBatch wb;
    // Changes to the settings are applied to a copy first: the cache changes only once the
    // batch is durable.
    std::map<room_id, std::map<webhook_id, room::webhook_setting>> touched;
    auto settings_of = [&](room_id r) -> std::map<webhook_id, room::webhook_setting>& {
      auto it = touched.find(r);
      if (it != touched.end()) return it->second;
      std::lock_guard lock(mutex_);
      auto cached = settings_.find(r);
      return touched[r] = cached == settings_.end() ? std::map<webhook_id, room::webhook_setting>{}
                                                    : cached->second;
    };
    std::uint64_t number = next_number_;
    std::vector<std::pair<queue_key, std::uint64_t>> added;
    for (const auto& rec : batch) {
      const auto& entity = rec.event.entity;
      if (!entity.starts_with("room-")) continue;
      room_id room{std::strtoull(entity.c_str() + 5, nullptr, 10)};
      if (room.value == 0) continue;
      auto e = codec::decode_room_event(rec.event.payload);
      if (!e) {
        log::warn(component) << entity << " seq " << rec.event.seq
                             << " not read, skipped: " << e.error().message;
        continue;
      }
      if (const auto* c = std::get_if<room::webhook_created>(&*e)) {
        room::webhook_setting s{c->url, c->events, c->token, c->by, c->time};
        wb.Put(key('s', room.value, c->id.value), setting_json(s).dump());
        settings_of(room)[c->id] = std::move(s);
        continue;
      }
      if (const auto* d = std::get_if<room::webhook_deleted>(&*e)) {
        wb.Delete(key('s', room.value, d->id.value));
        settings_of(room).erase(d->id);
        continue;
      }
      if (std::holds_alternative<room::room_deleted>(*e)) {
        for (const auto& [id, s] : settings_of(room)) wb.Delete(key('s', room.value, id.value));
        settings_of(room).clear();
        continue;
      }
      if (!deliver || (!std::holds_alternative<room::message_posted>(*e) &&
                       !std::holds_alternative<room::task_added>(*e))) {
        continue;
      }
      const auto& settings = settings_of(room);
      if (settings.empty()) continue;
      for (auto& d : webhooks::deliveries_for(room, *e, settings)) {
        const auto& s = settings.at(d.webhook);
        json record{{"url", s.url},
                    {"token", s.token},
                    {"body", std::move(d.body)},
                    {"made_at", unix_ms()},
                    {"attempts", 0}};
        wb.Put(outbox_key(room, d.webhook, number), record.dump());
        added.push_back({{room, d.webhook}, number});
        ++number;
      }
    }
    wb.Put("n", be64(number));
    for (const auto& [partition, offset] : next) {
      wb.Put(position_key(partition), be64(static_cast<std::uint64_t>(offset)));
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto st = db_->Write(wo, &wb);
    if (!st.ok()) return hibiki::error{errc::unavailable, "webhook outbox: " + st.ToString()};
    {
      std::lock_guard lock(mutex_);
      next_number_ = number;
      for (auto& [room, settings] : touched) {
        if (settings.empty()) {
          settings_.erase(room);
        } else {
          settings_[room] = std::move(settings);
        }
      }
      for (const auto& [q, n] : added) {
        auto& slot = queues_[q];
        ++slot.pending;
        ++pending_;
      }
    }
    if (!added.empty()) wake_.notify_all();
    return {};
  }

  status reset() override {
    // The workers go on: a head they are delivering is gone afterwards, and removing it again
    // is harmless.
    rocksdb::WriteBatch wb;
    for (char tag : {'p', 'n', 's', 'o', 'w'}) {
      std::string from(1, tag);
      std::string to(1, static_cast<char>(tag + 1));
      wb.DeleteRange(db_->DefaultColumnFamily(), from, to);
    }
    rocksdb::WriteOptions wo;
    wo.sync = true;
    auto st = db_->Write(wo, &wb);
    if (!st.ok()) return hibiki::error{errc::unavailable, "webhook outbox: " + st.ToString()};
    std::lock_guard lock(mutex_);
    settings_.clear();
    queues_.clear();
    states_.clear();
    pending_ = 0;
    next_number_ = 0;
    return {};
  }

  // ---- the service --------------------------------------------------------------------------

  projection& outbox_projection() override { return *this; }

  void start() override {
    std::lock_guard lock(mutex_);
    if (!threads_.empty()) return;
    stopping_ = false;
    for (std::size_t i = 0; i < std::max<std::size_t>(options_.workers, 1); ++i) {
      threads_.emplace_back([this] { work(); });
    }
    if (options_.metrics) {
      report_ = options_.metrics->add_collector([this](metrics::registry& r) {
        std::lock_guard lock(mutex_);
        r.set_webhook_pending(pending_);
        std::size_t open = 0;
        for (const auto& [endpoint, b] : breakers_) {
          if (b.state(steady::now()) != breaker_state::closed) ++open;
        }
        r.set_webhook_breakers_open(open);
      });
    }
  }

  void stop() override {
    std::vector<std::thread> threads;
    {
      std::lock_guard lock(mutex_);
      stopping_ = true;
      threads.swap(threads_);
    }
    wake_.notify_all();
    for (auto& t : threads) t.join();
  }

  std::map<webhook_id, webhook_delivery_state> states(room_id room) override {
    std::lock_guard lock(mutex_);
    std::map<webhook_id, webhook_delivery_state> out;
    for (auto it = states_.lower_bound({room, webhook_id{0}});
         it != states_.end() && it->first.first == room; ++it) {
      out[it->first.second] = it->second;
    }
    for (auto it = queues_.lower_bound({room, webhook_id{0}});
         it != queues_.end() && it->first.first == room; ++it) {
      out[it->first.second].pending = it->second.pending;
    }
    if (auto s = settings_.find(room); s != settings_.end()) {
      for (const auto& [id, setting] : s->second) {
        auto& state = out[id];
        if (auto url = room::parse_webhook_url(setting.url)) {
          auto b = breakers_.find(endpoint_of(*url));
          if (b != breakers_.end())
            state.breaker = std::string(to_string(b->second.state(steady::now())));
        }
      }
    }
    return out;
  }

  std::uint64_t pending() override {
    std::lock_guard lock(mutex_);
    return pending_;
  }

  void wake() override { wake_.notify_all(); }

 private:
  static std::string endpoint_of(const room::webhook_url& url) {
    return (url.https ? "https://" : "http://") + url.host + ":" + std::to_string(url.port);
  }

  /// Reads the settings, the pending deliveries and the states back after a start.
  status load() {
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}));
    for (it->SeekToFirst(); it->Valid(); it->Next()) {
      const auto k = it->key().ToStringView();
      const auto v = it->value().ToString();
      if (k == "n" && v.size() == 8) {
        next_number_ = get_be(v, 0, 8);
      } else if (k.size() == 17 && k[0] == 's') {
        if (auto s = setting_of(v)) {
          settings_[room_id{get_be(k, 1, 8)}][webhook_id{get_be(k, 9, 8)}] = std::move(*s);
        }
      } else if (k.size() == 25 && k[0] == 'o') {
        ++queues_[{room_id{get_be(k, 1, 8)}, webhook_id{get_be(k, 9, 8)}}].pending;
        ++pending_;
      } else if (k.size() == 17 && k[0] == 'w') {
        auto j = json::parse(v, nullptr, false);
        if (!j.is_object()) continue;
        webhook_delivery_state s;
        s.last_status = j.value("last_status", 0);
        s.last_error = j.value("last_error", "");
        s.last_attempt = j.value("last_attempt", std::int64_t{0});
        s.consecutive_failures = j.value("consecutive_failures", 0u);
        s.delivered = j.value("delivered", std::uint64_t{0});
        s.given_up = j.value("given_up", std::uint64_t{0});
        states_[{room_id{get_be(k, 1, 8)}, webhook_id{get_be(k, 9, 8)}}] = s;
      }
    }
    if (!it->status().ok()) {
      return hibiki::error{errc::unavailable, "webhook outbox: " + it->status().ToString()};
    }
    if (pending_ > 0) {
      log::info(component) << pending_ << " webhook deliveries pending in the outbox";
    }
    return {};
  }

  /// A worker: takes a queue whose head is due and not taken, delivers the head, repeats.
  void work() {
    std::unique_lock lock(mutex_);
    while (!stopping_) {
      const auto now = steady::now();
      auto earliest = now + std::chrono::seconds{1};
      auto chosen = queues_.end();
      for (auto it = queues_.begin(); it != queues_.end(); ++it) {
        if (it->second.busy) continue;
        if (it->second.next_at > now) {
          earliest = std::min(earliest, it->second.next_at);
          continue;
        }
        if (options_.delivers_for && !options_.delivers_for(it->first.first)) continue;
        chosen = it;
        break;
      }
      if (chosen == queues_.end()) {
        wake_.wait_until(lock, earliest);
        continue;
      }
      chosen->second.busy = true;
      const auto q = chosen->first;
      lock.unlock();
      const auto next_at = deliver_head(q);
      lock.lock();
      auto it = queues_.find(q);
      if (it == queues_.end()) continue;
      it->second.busy = false;
      if (it->second.pending == 0) {
        queues_.erase(it);
      } else {
        it->second.next_at = next_at;
      }
    }
  }

  /// Delivers (or drops) the head of queue `q`; answers when the queue may go on.
  steady::time_point deliver_head(const queue_key& q) {
    const auto [room, webhook] = q;
    // Counted before the read: a delivery the projection adds meanwhile is counted after its
    // write, so it is not in `counted` even when this read misses it.
    std::uint64_t counted = 0;
    {
      std::lock_guard lock(mutex_);
      counted = queues_[q].pending;
    }
    std::unique_ptr<rocksdb::Iterator> it(db_->NewIterator(rocksdb::ReadOptions{}));
    const auto prefix = key('o', room.value, webhook.value);
    it->Seek(prefix);
    if (!it->Valid() || !it->key().starts_with(prefix)) {
      std::lock_guard lock(mutex_);
      auto& slot = queues_[q];
      const auto stale = std::min(slot.pending, counted);
      slot.pending -= stale;
      pending_ -= std::min(pending_, stale);
      return steady::now();
    }
    const std::string head_key = it->key().ToString();
    auto record = json::parse(it->value().ToString(), nullptr, false);
    it.reset();
    const auto url = record.is_object() ? room::parse_webhook_url(record.value("url", ""))
                                        : room::parse_webhook_url("");
    bool deleted = false;
    {
      std::lock_guard lock(mutex_);
      auto s = settings_.find(room);
      deleted = s == settings_.end() || !s->second.contains(webhook);
    }
    if (!url || deleted) {
      // The webhook was deleted (or the record is unreadable): nothing more is sent to it.
      remove(q, head_key, nullptr);
      return steady::now();
    }
    const auto endpoint = endpoint_of(*url);
    {
      std::lock_guard lock(mutex_);
      auto& breaker = breakers_.try_emplace(endpoint, options_.breaker).first->second;
      if (!breaker.try_acquire(steady::now())) {
        // Fail fast while the endpoint's breaker is open; the head waits, not counted.
        return steady::now() + std::min<std::chrono::milliseconds>(options_.breaker.reset_timeout,
                                                                   std::chrono::seconds{1});
      }
    }
    const std::string body = record.value("body", "");
    webhooks::post_outcome outcome;
    auto signature = webhook_signature(record.value("token", ""), body);
    auto addresses = resolve_webhook_host(url->host, options_.allow_private);
    if (!signature) {
      outcome.error = signature.error().message;
    } else if (!addresses) {
      outcome.error = addresses.error().message;
    } else {
      outcome = webhooks::post(*url, *addresses, body, *signature, options_.connect_timeout,
                               options_.request_timeout, tls_);
    }
    const auto now = steady::now();
    webhook_delivery_state state;
    {
      std::lock_guard lock(mutex_);
      auto& breaker = breakers_.try_emplace(endpoint, options_.breaker).first->second;
      auto& s = states_[q];
      s.last_status = outcome.status;
      s.last_error = outcome.error;
      s.last_attempt = unix_ms() / 1000;
      if (outcome.ok()) {
        breaker.on_success(now);
        s.consecutive_failures = 0;
        ++s.delivered;
      } else {
        breaker.on_failure(now);
        ++s.consecutive_failures;
      }
      state = s;
    }
    if (options_.metrics) options_.metrics->webhook_delivery(outcome.ok() ? "ok" : "failed");
    if (outcome.ok()) {
      remove(q, head_key, &state);
      return now;
    }
    const auto attempts = record.value("attempts", 0u) + 1;
    const auto made_at = record.value("made_at", std::int64_t{0});
    if (unix_ms() - made_at >= options_.give_up_after.count()) {
      log::warn(component) << "room " << room.value << " webhook " << webhook.value
                           << ": a delivery failed " << attempts
                           << " times and is given up: " << outcome.error;
      {
        std::lock_guard lock(mutex_);
        ++states_[q].given_up;
        state = states_[q];
      }
      if (options_.metrics) options_.metrics->webhook_delivery("given_up");
      remove(q, head_key, &state);
      return now;
    }
    record["attempts"] = attempts;
    rocksdb::WriteBatch wb;
    wb.Put(head_key, record.dump());
    wb.Put(key('w', room.value, webhook.value), state_json(state).dump());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto st = db_->Write(wo, &wb); !st.ok()) {
      log::warn(component) << "webhook outbox: " << st.ToString();
    }
    log::debug(component) << "room " << room.value << " webhook " << webhook.value
                          << ": delivery attempt " << attempts << " failed: " << outcome.error;
    return now + webhook_backoff(attempts, options_.backoff_initial, options_.backoff_max);
  }

  static json state_json(const webhook_delivery_state& s) {
    return {{"last_status", s.last_status},   {"last_error", s.last_error},
            {"last_attempt", s.last_attempt}, {"consecutive_failures", s.consecutive_failures},
            {"delivered", s.delivered},       {"given_up", s.given_up}};
  }

  /// Takes the head out of the outbox (with the state, when given) and out of the count.
  void remove(const queue_key& q, const std::string& head_key, const webhook_delivery_state* s) {
    rocksdb::WriteBatch wb;
    wb.Delete(head_key);
    if (s != nullptr) wb.Put(key('w', q.first.value, q.second.value), state_json(*s).dump());
    rocksdb::WriteOptions wo;
    wo.sync = true;
    if (auto st = db_->Write(wo, &wb); !st.ok()) {
      log::warn(component) << "webhook outbox: " << st.ToString();
      return;
    }
    std::lock_guard lock(mutex_);
    auto& slot = queues_[q];
    if (slot.pending > 0) {
      --slot.pending;
      --pending_;
    }
  }

  webhook_options options_;
  boost::asio::ssl::context tls_;
  std::unique_ptr<rocksdb::DB> db_;

  std::mutex mutex_;
  std::condition_variable wake_;
  bool stopping_ = false;
  std::vector<std::thread> threads_;
  std::uint64_t next_number_ = 0;
  std::uint64_t pending_ = 0;
  std::map<room_id, std::map<webhook_id, room::webhook_setting>> settings_;
  std::map<queue_key, queue_slot> queues_;
  std::map<queue_key, webhook_delivery_state> states_;
  std::map<std::string, circuit_breaker> breakers_;
  metrics::collector_handle report_;
};

}  // namespace

result<std::unique_ptr<webhook_service>> webhook_service::open(webhook_options options) {
  auto s = std::make_unique<service>(std::move(options));
  if (auto st = s->open(); !st) return st.error();
  return std::unique_ptr<webhook_service>(std::move(s));
}

}  // namespace hibiki::persistence
