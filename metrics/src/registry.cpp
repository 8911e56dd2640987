#include "hibiki/metrics/registry.hpp"

#include <array>
#include <atomic>
#include <map>
#include <mutex>
#include <utility>
#include <variant>
#include <vector>

#include <prometheus/counter.h>
#include <prometheus/family.h>
#include <prometheus/gauge.h>
#include <prometheus/histogram.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include "process_stats.hpp"

namespace hibiki::metrics {
namespace {

using prometheus::Counter;
using prometheus::Family;
using prometheus::Gauge;
using prometheus::Histogram;

constexpr std::size_t op_count = std::variant_size_v<protocol::request_body>;
constexpr std::size_t invalid_op = op_count;  // the extra row for frames that did not parse
constexpr std::size_t result_count = static_cast<std::size_t>(errc::moved) + 1;

/// The op name of each alternative of request_body, by index.
template <std::size_t... I>
std::array<std::string, op_count> op_names(std::index_sequence<I...>) {
  return {std::string(protocol::op_name(protocol::request_body(std::in_place_index<I>)))...};
}

/// Series of one family with a small, fixed label space, created on first use and then reached
/// without a lock. Family::Add returns the existing series for known labels, so two threads
/// creating the same cell at once get the same one.
template <class T>
class lazy_cells {
 public:
  lazy_cells(Family<T>& family, std::size_t n) : family_(family), cells_(n) {}

  template <class MakeLabels, class... Args>
  T& at(std::size_t i, MakeLabels&& labels, Args&&... args) {
    if (auto* c = cells_[i].load(std::memory_order_acquire)) return *c;
    T* c = &family_.Add(labels(), std::forward<Args>(args)...);
    cells_[i].store(c, std::memory_order_release);
    return *c;
  }

 private:
  Family<T>& family_;
  std::vector<std::atomic<T*>> cells_;
};

std::string_view path_label(http_path p) {
  switch (p) {
    case http_path::websocket:
      return "ws";
    case http_path::api:
      return "api";
    case http_path::health:
      return "health";
    case http_path::metrics:
      return "metrics";
    case http_path::rest:
      return "rest";
    case http_path::file:
      break;
  }
  return "file";
}

std::string_view kind_label(entity_kind k) {
  switch (k) {
    case entity_kind::room:
      return "room";
    case entity_kind::user:
      return "user";
    case entity_kind::id_allocator:
      break;
  }
  return "id_allocator";
}

constexpr std::size_t http_path_count = 6;
constexpr std::size_t http_status_count = 600;
constexpr std::size_t entity_kind_count = 3;

}  // namespace

struct registry::impl {
  prometheus::Registry reg;

  Family<Gauge>& ws_connections_family = prometheus::BuildGauge()
                                             .Name("hibiki_websocket_connections")
                                             .Help("Open WebSocket connections.")
                                             .Register(reg);
  Gauge& ws_connections = ws_connections_family.Add({});

  Family<Counter>& http_family =
      prometheus::BuildCounter()
          .Name("hibiki_http_requests_total")
          .Help("HTTP responses sent, by path class (ws, api, health, metrics, file) and status.")
          .Register(reg);
  lazy_cells<Counter> http{http_family, http_path_count* http_status_count};

  Family<Counter>& rest_family = prometheus::BuildCounter()
                                     .Name("hibiki_rest_requests_total")
                                     .Help("REST API (/v2) responses, by endpoint and status.")
                                     .Register(reg);
  std::mutex rest_mutex;
  std::map<std::pair<std::string, unsigned>, Counter*> rest;

  Family<Counter>& slow_family =
      prometheus::BuildCounter()
          .Name("hibiki_slow_clients_dropped_total")
          .Help("WebSocket connections dropped because the client did not read its frames.")
          .Register(reg);
  Counter& slow_clients = slow_family.Add({});

  Family<Counter>& requests_family =
      prometheus::BuildCounter()
          .Name("hibiki_requests_total")
          .Help("Replies to WebSocket requests, by op and result (ok or the error code).")
          .Register(reg);
  lazy_cells<Counter> requests{requests_family, (op_count + 1) * result_count};
  std::array<std::string, op_count> ops = op_names(std::make_index_sequence<op_count>{});

  Family<Histogram>& send_ack_family =
      prometheus::BuildHistogram()
          .Name("hibiki_send_ack_seconds")
          .Help("send_message received by the session until its reply leaves for the client.")
          .Register(reg);
  Histogram& send_ack =
      send_ack_family.Add({}, Histogram::BucketBoundaries{0.0005, 0.001, 0.002, 0.005, 0.01, 0.02,
                                                          0.05, 0.1, 0.2, 0.5, 1, 2, 5});

  Family<Histogram>& commit_family =
      prometheus::BuildHistogram()
          .Name("hibiki_journal_commit_seconds")
          .Help(
              "Duration of one successful journal commit (RocksDB group commit or Kafka "
              "transaction).")
          .Register(reg);
  Histogram& commit_seconds = commit_family.Add(
      {}, Histogram::BucketBoundaries{0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025,
                                      0.05, 0.1, 0.25, 0.5, 1});

  Family<Histogram>& batch_family =
      prometheus::BuildHistogram()
          .Name("hibiki_journal_commit_appends")
          .Help("Appends in one successful journal commit (the group commit's batch size).")
          .Register(reg);
  Histogram& commit_appends = batch_family.Add(
      {}, Histogram::BucketBoundaries{1, 2, 4, 8, 16, 32, 64, 128, 256, 512, 1024, 2048, 4096});

  Family<Gauge>& breaker_family =
      prometheus::BuildGauge()
          .Name("hibiki_journal_breaker_state")
          .Help("The journal circuit breaker: 1 for its current state, 0 for the others.")
          .Register(reg);
  std::array<Gauge*, 3> breaker = {&breaker_family.Add({{"state", "closed"}}),
                                   &breaker_family.Add({{"state", "open"}}),
                                   &breaker_family.Add({{"state", "half_open"}})};

  // Its gauges are added at the first scrape of a node that has a file store, so a node with
  // files off shows no object-store breaker at all rather than a "closed" one.
  Family<Gauge>& object_breaker_family =
      prometheus::BuildGauge()
          .Name("hibiki_object_store_breaker_state")
          .Help("The file store's circuit breaker: 1 for its current state, 0 for the others.")
          .Register(reg);

  Family<Gauge>& lag_family = prometheus::BuildGauge()
                                  .Name("hibiki_journal_partition_lag_records")
                                  .Help(
                                      "Kafka journal: records between a partition's end and "
                                      "this node's index (-1 when unknown).")
                                  .Register(reg);

  Family<Gauge>& live_family = prometheus::BuildGauge()
                                   .Name("hibiki_live_entities")
                                   .Help("Entities (actors) live in this node's shard regions.")
                                   .Register(reg);
  lazy_cells<Gauge> live{live_family, entity_kind_count};

  Family<Counter>& passivation_family = prometheus::BuildCounter()
                                            .Name("hibiki_passivations_total")
                                            .Help("Entities passivated (idle or over the cap).")
                                            .Register(reg);
  lazy_cells<Counter> passivations{passivation_family, entity_kind_count};

  Family<Counter>& recoveries_family = prometheus::BuildCounter()
                                           .Name("hibiki_recoveries_total")
                                           .Help("Entity recoveries started (snapshot + replay).")
                                           .Register(reg);
  Counter& recoveries = recoveries_family.Add({});
  Family<Gauge>& recovering_family = prometheus::BuildGauge()
                                         .Name("hibiki_recoveries_in_flight")
                                         .Help("Entity recoveries running now.")
                                         .Register(reg);
  Gauge& recovering = recovering_family.Add({});

  Family<Counter>& links_made_family =
      prometheus::BuildCounter()
          .Name("hibiki_cluster_peer_links_made_total")
          .Help("Links to peers' cluster ports made (connected to, or greeted by the peer).")
          .Register(reg);
  Family<Counter>& links_lost_family =
      prometheus::BuildCounter()
          .Name("hibiki_cluster_peer_links_lost_total")
          .Help("Links to peers' cluster ports lost (the connection dropped).")
          .Register(reg);
  /// Created at the first report: a node that is not clustered exports neither.
  Counter* links_made = nullptr;
  Counter* links_lost = nullptr;

  Family<Gauge>& rocksdb_family =
      prometheus::BuildGauge()
          .Name("hibiki_rocksdb_memory_bytes")
          .Help("RocksDB memory: memtables, block cache, table readers (indexes and filters).")
          .Register(reg);

  Family<Gauge>& projection_lag_family =
      prometheus::BuildGauge()
          .Name("hibiki_projection_lag_events")
          .Help(
              "Read-side projection: feed offsets between its applied position and the journal's "
              "end (-1 when unknown).")
          .Register(reg);
  Family<Counter>& projection_applied_family =
      prometheus::BuildCounter()
          .Name("hibiki_projection_applied_total")
          .Help("Read-side projection: events applied (a rebuild applies them again).")
          .Register(reg);
  /// By projection name (a short fixed list: search, webhooks).
  std::map<std::string, std::pair<Gauge*, Counter*>, std::less<>> projections;
  std::map<std::string, std::uint64_t, std::less<>> projection_applied_seen;

  // ---- webhooks
  Family<Counter>& webhook_deliveries_family =
      prometheus::BuildCounter()
          .Name("hibiki_webhook_deliveries_total")
          .Help("Webhook delivery attempts by result: ok (2xx), failed (retried), given_up.")
          .Register(reg);
  std::array<Counter*, 3> webhook_deliveries = {
      &webhook_deliveries_family.Add({{"result", "ok"}}),
      &webhook_deliveries_family.Add({{"result", "failed"}}),
      &webhook_deliveries_family.Add({{"result", "given_up"}})};
  Gauge& webhook_pending = prometheus::BuildGauge()
                               .Name("hibiki_webhook_pending")
                               .Help("Webhook deliveries in this node's outbox.")
                               .Register(reg)
                               .Add({});
  Gauge& webhook_breakers_open =
      prometheus::BuildGauge()
          .Name("hibiki_webhook_breakers_open")
          .Help("Webhook endpoints whose circuit breaker is open or half-open.")
          .Register(reg)
          .Add({});

  Family<Counter>& cpu_family = prometheus::BuildCounter()
                                    .Name("process_cpu_seconds_total")
                                    .Help("User and system CPU time spent by this process.")
                                    .Register(reg);
  Counter& cpu = cpu_family.Add({});
  Family<Gauge>& rss_family = prometheus::BuildGauge()
                                  .Name("process_resident_memory_bytes")
                                  .Help("Resident memory of this process.")
                                  .Register(reg);
  Gauge& rss = rss_family.Add({});
  Family<Gauge>& fds_family = prometheus::BuildGauge()
                                  .Name("process_open_fds")
                                  .Help("Open file descriptors of this process.")
                                  .Register(reg);
  Gauge& fds = fds_family.Add({});
  Family<Gauge>& start_family = prometheus::BuildGauge()
                                    .Name("process_start_time_seconds")
                                    .Help("Start time of this process, Unix seconds.")
                                    .Register(reg);
  Gauge& start_time = start_family.Add({});

  /// Running totals turned into counter increments (a Prometheus counter only goes up).
  std::mutex totals_mutex;
  std::array<std::uint64_t, entity_kind_count> passivations_seen{};
  std::uint64_t recoveries_seen = 0;
  std::uint64_t links_made_seen = 0;
  std::uint64_t links_lost_seen = 0;
  double cpu_seen = 0;

  /// Held while collectors run and while one is added or removed.
  std::mutex collectors_mutex;
  std::map<std::uint64_t, std::function<void(registry&)>> collectors;
  std::uint64_t next_collector = 1;
};

// ---- collector_handle --------------------------------------------------------------------------

collector_handle::collector_handle(std::weak_ptr<registry> owner, std::uint64_t id)
    : owner_(std::move(owner)), id_(id) {}

collector_handle::collector_handle(collector_handle&& other) noexcept
    : owner_(std::move(other.owner_)), id_(std::exchange(other.id_, 0)) {}

collector_handle& collector_handle::operator=(collector_handle&& other) noexcept {
  if (this != &other) {
    reset();
    owner_ = std::move(other.owner_);
    id_ = std::exchange(other.id_, 0);
  }
  return *this;
}

collector_handle::~collector_handle() {
  reset();
}

void collector_handle::reset() {
  if (id_ == 0) return;
  if (auto r = owner_.lock()) r->remove_collector(id_);
  id_ = 0;
  owner_.reset();
}

// ---- registry ----------------------------------------------------------------------------------

std::shared_ptr<registry> registry::create() {
  return std::shared_ptr<registry>(new registry());
}

registry::registry() : impl_(std::make_unique<impl>()) {}
registry::~registry() = default;

void registry::websocket_opened() {
  impl_->ws_connections.Increment();
}

void registry::websocket_closed() {
  impl_->ws_connections.Decrement();
}

void registry::http_request(http_path path, unsigned status) {
  if (status >= http_status_count) status = 0;
  const auto p = static_cast<std::size_t>(path);
  impl_->http
      .at(p * http_status_count + status,
          [&] {
            return prometheus::Labels{{"path", std::string(path_label(path))},
                                      {"code", std::to_string(status)}};
          })
      .Increment();
}

void registry::rest_request(std::string_view endpoint, unsigned status) {
  auto key = std::pair{std::string(endpoint), status};
  std::lock_guard lock(impl_->rest_mutex);
  auto& cell = impl_->rest[key];
  if (cell == nullptr)
    cell = &impl_->rest_family.Add({{"endpoint", key.first}, {"code", std::to_string(status)}});
  cell->Increment();
}

void registry::slow_client_dropped() {
  impl_->slow_clients.Increment();
}

namespace {
std::size_t result_index(errc result) {
  const auto r = static_cast<std::size_t>(result);
  return r < result_count ? r : static_cast<std::size_t>(errc::internal);
}
std::string result_label(std::size_t r) {
  return r == 0 ? std::string("ok") : std::string(wire_name(static_cast<errc>(r)));
}
}  // namespace

void registry::request(std::size_t op_index, errc result) {
  if (op_index >= op_count) return invalid_request(result);
  const auto o = op_index;
  const auto r = result_index(result);
  impl_->requests
      .at(o * result_count + r,
          [&] {
            return prometheus::Labels{{"op", impl_->ops[o]}, {"result", result_label(r)}};
          })
      .Increment();
}

void registry::invalid_request(errc result) {
  const auto r = result_index(result);
  impl_->requests
      .at(invalid_op * result_count + r,
          [&] {
            return prometheus::Labels{{"op", "invalid"}, {"result", result_label(r)}};
          })
      .Increment();
}

void registry::send_ack(std::chrono::steady_clock::duration elapsed) {
  impl_->send_ack.Observe(std::chrono::duration<double>(elapsed).count());
}

void registry::journal_commit(std::chrono::steady_clock::duration elapsed, std::size_t appends) {
  impl_->commit_seconds.Observe(std::chrono::duration<double>(elapsed).count());
  impl_->commit_appends.Observe(static_cast<double>(appends));
}

void registry::set_breaker_state(std::string_view state) {
  static constexpr std::array<std::string_view, 3> names = {"closed", "open", "half_open"};
  for (std::size_t i = 0; i < names.size(); ++i) impl_->breaker[i]->Set(names[i] == state ? 1 : 0);
}

void registry::set_object_store_breaker_state(std::string_view state) {
  static constexpr std::array<std::string_view, 3> names = {"closed", "open", "half_open"};
  for (auto name : names)
    impl_->object_breaker_family.Add({{"state", std::string(name)}}).Set(name == state ? 1 : 0);
}

void registry::set_partition_lag(std::int32_t partition, std::int64_t lag) {
  impl_->lag_family.Add({{"partition", std::to_string(partition)}}).Set(static_cast<double>(lag));
}

void registry::set_live_entities(entity_kind kind, std::uint64_t n) {
  const auto k = static_cast<std::size_t>(kind);
  impl_->live.at(k,
                 [&] {
                   return prometheus::Labels{{"kind", std::string(kind_label(kind))}};
                 })
      .Set(static_cast<double>(n));
}

void registry::set_passivations_total(entity_kind kind, std::uint64_t total) {
  const auto k = static_cast<std::size_t>(kind);
  auto& counter = impl_->passivations.at(k, [&] {
    return prometheus::Labels{{"kind", std::string(kind_label(kind))}};
  });
  std::lock_guard lock(impl_->totals_mutex);
  auto& seen = impl_->passivations_seen[k];
  if (total > seen) counter.Increment(static_cast<double>(total - seen));
  seen = std::max(seen, total);
}

void registry::set_projection(std::string_view name, std::int64_t lag,
                              std::uint64_t applied_total) {
  std::lock_guard lock(impl_->totals_mutex);
  auto it = impl_->projections.find(name);
  if (it == impl_->projections.end()) {
    const prometheus::Labels labels{{"projection", std::string(name)}};
    it = impl_->projections
             .emplace(std::string(name), std::pair{&impl_->projection_lag_family.Add(labels),
                                                   &impl_->projection_applied_family.Add(labels)})
             .first;
  }
  it->second.first->Set(static_cast<double>(lag));
  auto& seen = impl_->projection_applied_seen[std::string(name)];
  if (applied_total > seen) it->second.second->Increment(static_cast<double>(applied_total - seen));
  seen = std::max(seen, applied_total);
}

void registry::set_recoveries(std::uint64_t total, std::uint64_t in_flight) {
  impl_->recovering.Set(static_cast<double>(in_flight));
  std::lock_guard lock(impl_->totals_mutex);
  if (total > impl_->recoveries_seen)
    impl_->recoveries.Increment(static_cast<double>(total - impl_->recoveries_seen));
  impl_->recoveries_seen = std::max(impl_->recoveries_seen, total);
}

void registry::set_cluster_peer_links(std::uint64_t made_total, std::uint64_t lost_total) {
  std::lock_guard lock(impl_->totals_mutex);
  if (!impl_->links_made) {
    impl_->links_made = &impl_->links_made_family.Add({});
    impl_->links_lost = &impl_->links_lost_family.Add({});
  }
  if (made_total > impl_->links_made_seen)
    impl_->links_made->Increment(static_cast<double>(made_total - impl_->links_made_seen));
  if (lost_total > impl_->links_lost_seen)
    impl_->links_lost->Increment(static_cast<double>(lost_total - impl_->links_lost_seen));
  impl_->links_made_seen = std::max(impl_->links_made_seen, made_total);
  impl_->links_lost_seen = std::max(impl_->links_lost_seen, lost_total);
}

void registry::set_rocksdb_memory(std::string_view kind, std::uint64_t bytes) {
  impl_->rocksdb_family.Add({{"kind", std::string(kind)}}).Set(static_cast<double>(bytes));
}

collector_handle registry::add_collector(std::function<void(registry&)> fn) {
  std::lock_guard lock(impl_->collectors_mutex);
  const auto id = impl_->next_collector++;
  impl_->collectors.emplace(id, std::move(fn));
  return collector_handle(weak_from_this(), id);
}

void registry::remove_collector(std::uint64_t id) {
  std::lock_guard lock(impl_->collectors_mutex);
  impl_->collectors.erase(id);
}

std::string registry::exposition() {
  {
    std::lock_guard lock(impl_->collectors_mutex);
    for (auto& [id, fn] : impl_->collectors) fn(*this);
  }
  if (auto p = read_process_stats()) {
    impl_->rss.Set(static_cast<double>(p->resident_bytes));
    impl_->fds.Set(static_cast<double>(p->open_fds));
    impl_->start_time.Set(p->start_time_seconds);
    std::lock_guard lock(impl_->totals_mutex);
    if (p->cpu_seconds > impl_->cpu_seen) impl_->cpu.Increment(p->cpu_seconds - impl_->cpu_seen);
    impl_->cpu_seen = std::max(impl_->cpu_seen, p->cpu_seconds);
  }
  return prometheus::TextSerializer().Serialize(impl_->reg.Collect());
}

}  // namespace hibiki::metrics

namespace hibiki::metrics {

// ---- webhooks -----------------------------------------------------------------------------------

void registry::webhook_delivery(std::string_view result) {
  const std::size_t i = result == "ok" ? 0 : result == "failed" ? 1 : 2;
  impl_->webhook_deliveries[i]->Increment();
}

void registry::set_webhook_pending(std::uint64_t n) {
  impl_->webhook_pending.Set(static_cast<double>(n));
}

void registry::set_webhook_breakers_open(std::uint64_t n) {
  impl_->webhook_breakers_open.Set(static_cast<double>(n));
}

}  // namespace hibiki::metrics
