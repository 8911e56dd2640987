/// kafka_backend::open and the backend that owns the pieces: the admin client, the local
/// database, one partition_owner per partition, the journal over them, and the snapshot and read
/// stores of the embedded backend over the same local database.

#include "hibiki/persistence/kafka_backend.hpp"

#include <algorithm>
#include <atomic>
#include <mutex>
#include <random>
#include <thread>

#include "../rocksdb_database.hpp"
#include "../rocksdb_read_store.hpp"
#include "../rocksdb_snapshot_store.hpp"
#include "callback_runner.hpp"
#include "follower.hpp"
#include "group_membership.hpp"
#include "hibiki/core/log.hpp"
#include "kafka_feed.hpp"
#include "kafka_journal.hpp"
#include "node_transactions.hpp"
#include "partition_owner.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence {

namespace {

using clock = std::chrono::steady_clock;
using kafka::millis;

/// status() asks the broker for every partition's end within this budget in all.
constexpr millis status_budget{1000};
/// How long the read barrier waits for the high watermark before it settles for the last stable
/// offset (see await_indexed): far longer than writing a commit's markers takes.
constexpr millis barrier_grace{500};
/// How often opening says how far the catch-up got.
constexpr millis open_progress_every{5000};
/// How often opening looks for a cancel while it waits (on the partitions, on the broker).
constexpr millis open_check_every{250};
/// Records also carry the writer id and read-model rows: room above the event size limit.
constexpr std::size_t record_slack = 1 << 20;

std::string random_writer_id() {
  std::random_device rd;
  std::mt19937_64 rng(rd());
  static constexpr char hex[] = "0123456789abcdef";
  std::string id = "kafka-";
  for (int i = 0; i < 16; ++i) id.push_back(hex[rng() % 16]);
  return id;
}

millis left_until(clock::time_point deadline) {
  return std::max(millis{1}, std::chrono::duration_cast<millis>(deadline - clock::now()));
}

class kafka_backend_impl final : public kafka_backend, public shard_control {
 public:
  kafka_backend_impl(kafka::owner_context ctx, std::unique_ptr<kafka::admin_client> admin,
                     std::unique_ptr<kafka::admin_client> barrier_admin,
                     std::unique_ptr<rocksdb_database> db)
      : ctx_(std::move(ctx)),
        admin_(std::move(admin)),
        barrier_admin_(std::move(barrier_admin)),
        db_(std::move(db)),
        journal_(ctx_, owners_),
        snapshots_(*db_),
        reads_(*db_) {
    ctx_.db = db_.get();
    ctx_.runner = &runner_;
    ctx_.counters = &counters_;
    progress_ = std::make_unique<kafka::index_progress>(ctx_.partition_count);
    ctx_.progress = progress_.get();
    ctx_.events = &events_;
    if (!ctx_.options.cluster && !ctx_.options.producer_per_partition) {
      kafka::node_transactions_options no;
      no.conn = ctx_.conn;
      no.topic = ctx_.options.topic;
      no.transactional_id =
          kafka::node_transactional_id(ctx_.options.transactional_id_prefix, ctx_.options.topic);
      for (std::int32_t p = 0; p < ctx_.partition_count; ++p) {
        no.fence_also.push_back(kafka::partition_transactional_id(
            ctx_.options.transactional_id_prefix, ctx_.options.topic, p));
      }
      no.message_max_bytes = ctx_.record_limit + kafka::message_overhead;
      no.linger = kafka::producer_linger;
      no.request_timeout = ctx_.options.request_timeout;
      no.metrics = ctx_.options.metrics;
      shared_ = std::make_unique<kafka::node_transactions>(std::move(no));
      ctx_.shared = shared_.get();
    }
    for (std::int32_t p = 0; p < ctx_.partition_count; ++p) {
      owners_.push_back(std::make_unique<kafka::partition_owner>(ctx_, p));
    }
    if (ctx_.options.cluster) {
      kafka_membership_options mo;
      mo.brokers = ctx_.options.brokers;
      mo.topic = ctx_.options.topic;
      mo.group_id = "hibiki-" + ctx_.options.topic;
      mo.member_name = ctx_.options.member_name;
      mo.session_timeout = ctx_.options.session_timeout;
      mo.extra_config = ctx_.options.extra_config;
      membership_ = std::make_unique<kafka::group_membership>(std::move(mo));
    }
  }
  ~kafka_backend_impl() override { close(); }

  /// Starts every owner (they fence and catch up in parallel) and waits for all of them.
  /// Clustered: starts the follower on every partition and waits until it has caught up.
  hibiki::status start(clock::time_point deadline) {
    auto next_report = clock::now() + open_progress_every;
    // Between waits: a cancel ends the open; a long catch-up says how far it got.
    auto check = [&]() -> hibiki::status {
      if (ctx_.options.progress && ctx_.options.progress->cancelled())
        return {errc::unavailable, "opening cancelled"};
      if (clock::now() >= next_report) {
        report_open_progress();
        next_report = clock::now() + open_progress_every;
      }
      return {};
    };
    if (ctx_.options.cluster) {
      auto f = kafka::follower::create(ctx_);
      if (!f) return f.error();
      follower_ = std::move(*f);
      ctx_.follower = follower_.get();
      for (std::int32_t p = 0; p < ctx_.partition_count; ++p) follower_->follow(p);
      follower_->start();
      // Right after the topic was created or the broker started, its partitions may have no
      // leader yet ("Not leader for partition"): try again until the open deadline. In slices,
      // so a long catch-up reports its progress and a cancel is seen.
      for (;;) {
        const auto slice = std::min(deadline, clock::now() + millis{1000});
        auto s = await_indexed({}, left_until(slice));
        if (s || s.error().code != errc::unavailable || clock::now() >= deadline) return s;
        if (auto c = check(); !c) return c;
        std::this_thread::sleep_for(std::min(millis{200}, left_until(deadline)));
      }
    }
    for (auto& o : owners_) o->start();
    for (auto& o : owners_) {
      for (;;) {
        auto s = o->wait_ready(std::min(deadline, clock::now() + open_check_every));
        if (s) break;
        if (clock::now() >= deadline) return s;
        if (auto c = check(); !c) return c;
      }
    }
    return {};
  }

  /// One line on how far opening got: partitions not caught up yet, records left to index.
  void report_open_progress() {
    auto st = status();
    std::int32_t caught_up = 0;
    for (const auto& p : st.partitions)
      if (p.lag == 0) ++caught_up;
    log::info("journal") << "opening " << ctx_.options.topic << ": " << caught_up << " of "
                         << ctx_.partition_count << " partitions caught up, " << st.offsets_to_index
                         << " records left to index";
  }

  persistence::journal& journal() override { return journal_; }
  persistence::snapshot_store& snapshots() override { return snapshots_; }
  persistence::read_store& reads() override { return reads_; }
  shard_control* shards() override { return ctx_.options.cluster ? this : nullptr; }
  persistence::membership* membership() override { return membership_.get(); }
  std::string writer_id() const override { return ctx_.options.writer_id; }

  /// A reader of every partition of the topic with its own consumer (kafka_feed.hpp); null (and
  /// logged) when librdkafka refuses to make one.
  std::unique_ptr<event_feed> open_feed() override {
    auto feed = kafka::open_kafka_feed(ctx_.conn, ctx_.options.topic, ctx_.partition_count);
    if (feed) return std::move(*feed);
    log::error("journal") << "cannot open a reader of " << ctx_.options.topic << ": "
                          << feed.error().message;
    return nullptr;
  }

  std::shared_ptr<position_store> open_position_store(const std::string& name) override {
    if (!ctx_.options.cluster) return nullptr;  // one node owns every partition for good
    const std::string group = "hibiki-projection-" + name + "-" + ctx_.options.topic;
    auto store = kafka::open_kafka_position_store(ctx_.conn, ctx_.options.topic, group);
    if (store) return std::move(*store);
    log::error("journal") << "cannot open the shared positions of " << name << ": "
                          << store.error().message;
    return nullptr;
  }

  journal_status identity() const override {
    journal_status out;
    out.kind = "kafka";
    out.brokers = ctx_.options.brokers;
    out.topic = ctx_.options.topic;
    out.partition_count = ctx_.partition_count;
    return out;
  }

  // ---- shard_control ----

  std::int32_t partition_count() const override { return ctx_.partition_count; }

  void set_listener(std::function<void(std::int32_t, shard_change)> fn) override {
    events_.set(std::move(fn));
  }

  void acquire(std::int32_t partition) override {
    if (!in_range(partition, "acquire")) return;
    owners_[static_cast<std::size_t>(partition)]->acquire();
  }

  void release(std::int32_t partition) override {
    if (!in_range(partition, "release")) return;
    owners_[static_cast<std::size_t>(partition)]->release();
  }

  hibiki::status await_indexed(const std::vector<std::int32_t>& partitions,
                               millis timeout) override {
    if (timeout <= millis{0}) return {errc::bad_request, "await_indexed: timeout must be positive"};
    std::vector<std::int32_t> wanted = partitions;
    if (wanted.empty()) {
      for (std::int32_t p = 0; p < ctx_.partition_count; ++p) wanted.push_back(p);
    }
    for (auto p : wanted) {
      if (p < 0 || p >= ctx_.partition_count) {
        return {errc::bad_request, "await_indexed: no partition " + std::to_string(p) + " (of " +
                                       std::to_string(ctx_.partition_count) + ")"};
      }
    }
    if (closed_.load()) return {errc::unavailable, "journal is closed"};
    const auto deadline = clock::now() + timeout;
    // Serving partitions index their own commits before acknowledging them: nothing to wait for.
    std::vector<std::int32_t> behind;
    for (auto p : wanted) {
      if (!owners_[static_cast<std::size_t>(p)]->ready()) behind.push_back(p);
    }
    std::sort(behind.begin(), behind.end());
    behind.erase(std::unique(behind.begin(), behind.end()), behind.end());
    if (behind.empty()) return {};
    // The high watermarks as of now: past every record written before the call. Not the last
    // stable offset: a transaction acknowledged to its writer may not have its commit markers
    // written yet, and the LSO stays below its records until they are. A read_committed
    // consumer reaches the high watermark once every transaction below it has ended, and its
    // position passes control markers (follower.hpp), so it never hangs on a marker.
    auto ends = barrier_admin_->end_offsets(ctx_.options.topic, behind, left_until(deadline));
    if (!ends) return {errc::unavailable, "read barrier: " + ends.error().message};
    for (std::size_t i = 0; i < behind.size(); ++i) {
      if ((*ends)[i] < 0) {
        return {errc::unavailable, "read barrier: cannot read the end of " + ctx_.options.topic +
                                       "/" + std::to_string(behind[i])};
      }
    }
    std::vector<std::int64_t> target = *ends;
    auto reached = [&] {
      for (std::size_t i = 0; i < behind.size(); ++i) {
        if (progress_->next_locked(behind[i]) >= target[i]) continue;
        if (owners_[static_cast<std::size_t>(behind[i])]->ready()) continue;
        return false;
      }
      return true;
    };
    // A writer that stalls in the middle of a transaction (a frozen node) keeps the LSO below
    // the high watermark until its successor's init_transactions or the transaction timeout
    // aborts it: nothing above the LSO can be read by anyone meanwhile. After a grace long
    // enough for the markers of every transaction committed before the call to be written, the
    // barrier settles for the LSO as of then where that is lower.
    const auto grace = std::min(deadline, clock::now() + std::min(timeout / 2, barrier_grace));
    bool done = progress_->wait_until(grace, reached);
    if (!done) {
      if (auto lso = admin_->end_offsets(ctx_.options.topic, behind, left_until(deadline))) {
        for (std::size_t i = 0; i < behind.size(); ++i) {
          if ((*lso)[i] >= 0) target[i] = std::min(target[i], (*lso)[i]);
        }
      }
      done = progress_->wait_until(deadline, reached);
    }
    if (done) return {};
    std::string lagging;
    for (std::size_t i = 0; i < behind.size(); ++i) {
      const auto at = progress_->next(behind[i]);
      if (at >= target[i]) continue;
      if (!lagging.empty()) lagging += ", ";
      lagging += std::to_string(behind[i]) + " at " + std::to_string(at) + " of " +
                 std::to_string(target[i]);
      if (follower_) {
        if (auto e = follower_->last_error(behind[i]); !e.empty()) lagging += " (" + e + ")";
      }
    }
    return {errc::unavailable, "read barrier timed out: partition " + lagging};
  }

  journal_status status() override {
    journal_status out = identity();
    out.appends = counters_.appends.load();
    out.rejected = counters_.rejected.load();
    out.failed = counters_.failed.load();
    auto ends = admin_->end_offsets(ctx_.options.topic, ctx_.partition_count, status_budget);
    for (auto& o : owners_) {
      auto ps = o->snapshot();
      if (ps.last_error.empty() && follower_ && ps.state == "following") {
        ps.last_error = follower_->last_error(ps.partition);
      }
      if (ends) ps.end_offset = (*ends)[static_cast<std::size_t>(ps.partition)];
      if (ps.end_offset >= 0 && ps.indexed_offset >= 0) {
        ps.lag = std::max<std::int64_t>(0, ps.end_offset - ps.indexed_offset);
        out.offsets_to_index += ps.lag;
      }
      if (ps.state != "ready" && ps.state != "following") ++out.partitions_catching_up;
      out.partitions.push_back(std::move(ps));
    }
    return out;
  }

  void close() override {
    std::lock_guard lock(close_mutex_);
    // Leave the group first (a node that did not stop its cluster glue): nobody acquires now.
    if (membership_) membership_->leave();
    // All owners stop together: each finishes its current transaction, then they are joined.
    for (auto& o : owners_) o->request_stop();
    closed_ = true;
    for (auto& o : owners_) o->stop();
    if (shared_) shared_->stop();
    if (follower_) follower_->stop();
    runner_.stop();
  }

 private:
  bool in_range(std::int32_t partition, const char* what) const {
    if (partition >= 0 && partition < ctx_.partition_count) return true;
    log::warn("journal") << what << " of partition " << partition << " ignored: the topic has "
                         << ctx_.partition_count << " partitions";
    return false;
  }

  kafka::owner_context ctx_;
  std::unique_ptr<kafka::admin_client> admin_;
  std::unique_ptr<kafka::admin_client> barrier_admin_;  ///< high watermarks; clustered only
  std::unique_ptr<rocksdb_database> db_;
  kafka::callback_runner runner_;
  kafka::journal_counters counters_;
  std::unique_ptr<kafka::index_progress> progress_;
  kafka::shard_events events_;
  std::atomic<bool> closed_{false};
  // Declared before the owners: they tell it to follow again while they stop.
  std::unique_ptr<kafka::follower> follower_;
  /// Clustered: the group membership handed to the node (joined by it, after its actors run).
  std::unique_ptr<kafka::group_membership> membership_;
  /// Single node: the one producer the owners share (null: one per owner).
  std::unique_ptr<kafka::node_transactions> shared_;
  // Declared after what they borrow, so they are destroyed (joined) first.
  std::vector<std::unique_ptr<kafka::partition_owner>> owners_;
  kafka::kafka_journal journal_;
  rocksdb_snapshot_store snapshots_;
  rocksdb_read_store reads_;
  std::mutex close_mutex_;
};

status check_options(const kafka_options& o) {
  if (o.brokers.empty()) return {errc::bad_request, "kafka brokers are empty"};
  if (o.topic.empty()) return {errc::bad_request, "kafka topic is empty"};
  if (o.partitions < 1) return {errc::bad_request, "kafka partitions must be at least 1"};
  if (o.transactional_id_prefix.empty()) {
    return {errc::bad_request, "kafka transactional id prefix is empty"};
  }
  if (o.request_timeout <= millis{0} || o.open_timeout <= millis{0}) {
    return {errc::bad_request, "kafka timeouts must be positive"};
  }
  if (o.max_event_bytes == 0) return {errc::bad_request, "max event size is 0"};
  if (o.cluster && o.session_timeout <= millis{0}) {
    return {errc::bad_request, "the cluster session timeout must be positive"};
  }
  if (o.local.path.empty()) return {errc::bad_request, "local database path is empty"};
  return {};
}

}  // namespace

result<std::unique_ptr<kafka_backend>> kafka_backend::open(const kafka_options& options) {
  if (auto s = check_options(options); !s) return s.error();
  const auto deadline = clock::now() + options.open_timeout;

  kafka::owner_context ctx;
  ctx.options = options;
  if (ctx.options.writer_id.empty()) ctx.options.writer_id = random_writer_id();
  ctx.conn = {options.brokers, options.extra_config};
  ctx.record_limit = options.max_event_bytes + record_slack;

  const auto& progress = options.progress;
  auto step = [&](std::string text) {
    if (progress) progress->set_step("opening the journal: " + std::move(text));
  };
  auto cancelled = [&] { return progress && progress->cancelled(); };
  const error cancel_error{errc::unavailable, "opening cancelled"};
  step("connecting to kafka topic " + options.topic + " at " + options.brokers);

  auto admin = kafka::admin_client::create(ctx.conn);
  if (!admin) return admin.error();
  // The topic is the journal: it keeps every record forever and takes our largest record.
  const kafka::settings topic_config = {
      {"retention.ms", "-1"},
      {"retention.bytes", "-1"},
      {"max.message.bytes", std::to_string(ctx.record_limit + (64 << 10))}};
  // The topic's metadata, asked in short slices within one request timeout, so a cancel is seen
  // while the broker does not answer.
  auto read_partition_count = [&]() -> result<std::int32_t> {
    const auto until = std::min(deadline, clock::now() + options.request_timeout);
    for (;;) {
      const auto slice = std::min(until, clock::now() + millis{1000});
      auto n = (*admin)->partition_count(options.topic, left_until(slice));
      if (n || n.error().code != errc::unavailable || clock::now() >= until) return n;
      if (cancelled()) return cancel_error;
      // librdkafka may fail at once (every broker refused): no busy loop.
      std::this_thread::sleep_for(std::min(millis{100}, left_until(until)));
    }
  };
  // An existing topic keeps its partition count and is not created again (so a cluster where
  // CreateTopics is not allowed, or librdkafka's mock cluster, which does not serve it, works).
  auto existing = read_partition_count();
  if (existing) {
    ctx.partition_count = *existing;
  } else if (existing.error().code != errc::not_found) {
    return existing.error();
  } else {
    step("creating topic " + options.topic + " at " + options.brokers);
    if (auto s = (*admin)->create_topic(options.topic, options.partitions,
                                        options.replication_factor, topic_config,
                                        std::min(options.request_timeout, left_until(deadline)));
        !s) {
      return s.error();
    }
    // A topic just created may take a moment to show up in the metadata.
    for (;;) {
      auto n = (*admin)->partition_count(options.topic,
                                         std::min(options.request_timeout, left_until(deadline)));
      if (n) {
        ctx.partition_count = *n;
        break;
      }
      if (clock::now() >= deadline) {
        return error{
            errc::unavailable,
            "topic " + options.topic + " created but not in the metadata: " + n.error().message};
      }
      if (cancelled()) return cancel_error;
      std::this_thread::sleep_for(millis{100});
    }
  }
  if (cancelled()) return cancel_error;

  step("opening the local index in " + options.local.path);
  rocksdb_options local = options.local;
  local.max_event_bytes = options.max_event_bytes;
  local.max_batch_appends = options.max_batch_appends;
  if (!local.metrics) local.metrics = options.metrics;
  auto db = rocksdb_database::open(local);
  if (!db) return db.error();

  std::unique_ptr<kafka::admin_client> barrier_admin;
  if (options.cluster) {
    auto hw = kafka::admin_client::create_high_watermark(ctx.conn);
    if (!hw) return hw.error();
    barrier_admin = std::move(*hw);
  }
  step((options.cluster ? "indexing " : "fencing and catching up ") +
       std::to_string(ctx.partition_count) + " partitions of " + options.topic);
  auto backend = std::make_unique<kafka_backend_impl>(std::move(ctx), std::move(*admin),
                                                      std::move(barrier_admin), std::move(*db));
  // While it catches up, whoever watches sees each partition (its status() asks the broker for
  // the ends); unwatched before the backend may close.
  if (progress) progress->watch([b = backend.get()] { return b->status(); });
  auto started = backend->start(deadline);
  if (progress) progress->unwatch();
  if (!started) {
    backend->close();
    return started.error();
  }
  return std::unique_ptr<kafka_backend>(std::move(backend));
}

}  // namespace hibiki::persistence
