#include "partition_owner.hpp"

#include <algorithm>
#include <unordered_map>

#include "../journal_index.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/core/shard.hpp"
#include "hibiki/metrics/registry.hpp"

namespace hibiki::persistence::kafka {

namespace {

using clock = std::chrono::steady_clock;

/// Catch-up writes the index every this many records (and at the end of the partition).
constexpr std::uint64_t catch_up_batch = 1024;
constexpr millis first_backoff{100};
/// How long the writer waits idle after a commit before it skips the commit markers (so a busy
/// partition never pays for it), and how long one skip may take.
constexpr millis marker_idle{500};
constexpr millis marker_skip_limit{2000};
/// How often a long catch-up says how far it got.
constexpr millis progress_every{5000};
constexpr millis max_backoff{5000};

const char* state_name(int s) {
  switch (s) {
    case 0:
      return "catching_up";
    case 1:
      return "ready";
    case 2:
      return "recovering";
    case 4:
      return "following";
    case 5:
      return "acquiring";
    default:
      return "stopped";
  }
}

void run_callback(const append_callback& done, status s) {
  if (!done) return;
  try {
    done(std::move(s));
  } catch (...) {
    // A throwing callback is a bug in the caller; it must not take the owner down with it.
  }
}

}  // namespace

partition_owner::partition_owner(const owner_context& ctx, std::int32_t partition)
    : ctx_(ctx),
      partition_(partition),
      transactional_id_(
          ctx.shared ? node_transactional_id(ctx.options.transactional_id_prefix, ctx.options.topic)
                     : partition_transactional_id(ctx.options.transactional_id_prefix,
                                                  ctx.options.topic, partition)),
      index_(*ctx.db, ctx.options.topic, partition) {
  if (ctx.options.cluster) state_ = state::following;
}

partition_owner::~partition_owner() {
  stop();
}

void partition_owner::start() {
  thread_ = std::thread([this] { run(); });
}

bool partition_owner::stopping() const {
  std::lock_guard lock(mutex_);
  return stopping_ || releasing_;
}

void partition_owner::acquire() {
  std::lock_guard control(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!ctx_.options.cluster || stopping_ || state_ != state::following) return;
  }
  // A thread that handed the partition back has finished (or is about to): collect it.
  if (thread_.joinable()) thread_.join();
  {
    std::lock_guard lock(mutex_);
    state_ = state::acquiring;
    releasing_ = false;
    fenced_ = false;
    last_error_.clear();
  }
  thread_ = std::thread([this] { run(); });
}

void partition_owner::release() {
  std::lock_guard control(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    if (!ctx_.options.cluster || stopping_) return;
    if (state_ != state::following) {
      releasing_ = true;
      wake_.notify_all();
    }
  }
  // Also when following already: a fenced thread may still be handing back; wait for it.
  if (thread_.joinable() && std::this_thread::get_id() != thread_.get_id()) thread_.join();
}

bool partition_owner::ready() const {
  std::lock_guard lock(mutex_);
  return state_ == state::ready && !stopping_;
}

void partition_owner::set_state(state s, const std::string& why) {
  {
    std::lock_guard lock(mutex_);
    if (state_ == state::stopped) return;
    state_ = s;
    if (!why.empty()) last_error_ = why;
    wake_.notify_all();
  }
  ctx_.progress->poke();  // the read barrier passes a partition that became ready
}

void partition_owner::submit(job j) {
  std::string why;
  errc code = errc::unavailable;
  {
    std::lock_guard lock(mutex_);
    if (state_ == state::ready && !stopping_ && !releasing_ && !fenced_) {
      queue_.push_back(std::move(j));
      wake_.notify_all();
      return;
    }
    if (!stopping_ && ctx_.options.cluster &&
        (state_ == state::following || state_ == state::acquiring || releasing_ || fenced_)) {
      // Not this node's partition (any more, or yet): nothing was written, try the owner.
      code = errc::moved;
    }
    why = stopping_ ? std::string("journal is closed")
                    : "journal partition " + std::to_string(partition_) + " is " +
                          state_name(static_cast<int>(state_)) +
                          (last_error_.empty() ? "" : ": " + last_error_);
  }
  if (!j.is_delete && code == errc::unavailable) ++ctx_.counters->failed;
  ctx_.runner->post([done = std::move(j.done), code, why = std::move(why)] {
    run_callback(done, status{code, why});
  });
}

status partition_owner::wait_ready(clock::time_point deadline) {
  std::unique_lock lock(mutex_);
  wake_.wait_until(lock, deadline, [&] { return state_ == state::ready || stopping_; });
  if (state_ == state::ready && !stopping_) return {};
  return {errc::unavailable, "journal partition " + std::to_string(partition_) + " not ready" +
                                 (last_error_.empty() ? "" : ": " + last_error_)};
}

partition_status partition_owner::snapshot() const {
  partition_status out;
  out.partition = partition_;
  {
    std::lock_guard lock(mutex_);
    out.state = state_name(static_cast<int>(state_));
    out.last_error = last_error_;
  }
  out.indexed_offset = ctx_.progress->next(partition_);
  return out;
}

void partition_owner::request_stop() {
  std::lock_guard lock(mutex_);
  stopping_ = true;
  wake_.notify_all();
}

void partition_owner::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  request_stop();
  if (!thread_.joinable()) return;
  if (std::this_thread::get_id() == thread_.get_id()) return;  // from a callback: it ends soon
  thread_.join();
}

void partition_owner::fail_queued(errc code, const std::string& why) {
  std::deque<job> failed;
  {
    std::lock_guard lock(mutex_);
    failed.swap(queue_);
  }
  for (auto& j : failed) {
    if (!j.is_delete && code == errc::unavailable) ++ctx_.counters->failed;
    ctx_.runner->post([done = std::move(j.done), code, why] {
      run_callback(done, status{code, why});
    });
  }
}

void partition_owner::run() {
  // The follower must be done with the partition before this thread indexes it.
  if (ctx_.follower) ctx_.follower->unfollow(partition_);
  bring_up();
  if (ctx_.events) {
    bool serving = false;
    {
      std::lock_guard lock(mutex_);
      serving = state_ == state::ready && !stopping_ && !releasing_;
    }
    if (serving) ctx_.events->notify(partition_, shard_change::serving);
  }
  const std::size_t max_batch = std::max<std::size_t>(1, ctx_.options.max_batch_appends);
  std::vector<job> batch;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      auto work = [&] {
        return stopping_ || releasing_ || fenced_ || state_ == state::recovering || !queue_.empty();
      };
      if (!markers_behind_) {
        wake_.wait(lock, work);
      } else if (!wake_.wait_for(lock, marker_idle, work)) {
        lock.unlock();
        skip_markers();
        continue;
      }
      if (stopping_ || releasing_ || fenced_) break;
      if (state_ == state::recovering) {
        lock.unlock();
        bring_up();
        continue;
      }
      if (ctx_.shared && ctx_.shared->generation() != generation_) {
        // The node's producer was initialised again after another partition's failure: catch up
        // first, keeping the queued appends, instead of having them refused as stale. If that
        // fails the partition stays recovering and the branch above answers them.
        lock.unlock();
        set_state(state::recovering, "the node's producer was initialised again");
        if (try_bring_up()) set_state(state::ready, "");
        continue;
      }
      const std::size_t n = std::min(max_batch, queue_.size());
      batch.clear();
      for (std::size_t i = 0; i < n; ++i) {
        batch.push_back(std::move(queue_.front()));
        queue_.pop_front();
      }
    }
    commit(batch);
  }
  if (ctx_.options.cluster && !closing()) {
    hand_back();
    return;
  }
  fail_queued(errc::unavailable, "journal is closed");
  producer_.reset();
  std::lock_guard lock(mutex_);
  state_ = state::stopped;
  wake_.notify_all();
}

bool partition_owner::closing() const {
  std::lock_guard lock(mutex_);
  return stopping_;
}

void partition_owner::hand_back() {
  bool fenced = false;
  {
    std::lock_guard lock(mutex_);
    fenced = fenced_;
  }
  const std::string why = "journal partition " + std::to_string(partition_) +
                          (fenced ? " was taken over by another node" : " was released");
  // Queued appends never reached a transaction: the next owner may take them.
  fail_queued(errc::moved, why);
  producer_.reset();
  index_.clear_cache();
  {
    std::lock_guard lock(mutex_);
    state_ = state::following;
    releasing_ = false;
    fenced_ = false;
    if (fenced) last_error_ = why;
    wake_.notify_all();
  }
  // After the state change: appends from now on are answered moved at once.
  fail_queued(errc::moved, why);
  ctx_.follower->follow(partition_);
  ctx_.events->notify(partition_, fenced ? shard_change::fenced : shard_change::released);
}

void partition_owner::bring_up() {
  millis backoff = first_backoff;
  for (;;) {
    // Whatever was queued before the partition left `ready` cannot be committed by this producer.
    fail_queued(errc::unavailable,
                "journal partition " + std::to_string(partition_) + " is recovering");
    if (stopping()) return;
    auto s = try_bring_up();
    if (s) {
      set_state(state::ready, "");
      return;
    }
    if (stopping()) return;  // released or closed while fencing or catching up
    log::warn("journal") << ctx_.options.topic << "/" << partition_
                         << " not ready: " << s.error().message << " (retrying in "
                         << backoff.count() << " ms)";
    {
      std::unique_lock lock(mutex_);
      last_error_ = s.error().message;
      wake_.notify_all();  // wait_ready callers see the error
      wake_.wait_for(lock, backoff, [&] { return stopping_ || releasing_; });
    }
    backoff = std::min(backoff * 2, max_backoff);
  }
}

status partition_owner::try_bring_up() {
  if (ctx_.shared) {
    // The shared producer's initialisation fenced every earlier writer; what they committed
    // before it is below the end the catch-up reads to.
    auto g = ctx_.shared->ensure_generation(generation_);
    if (!g) return g.error();
    generation_ = *g;
    index_.clear_cache();
    return catch_up(std::max(ctx_.options.open_timeout, ctx_.options.request_timeout),
                    catch_up_until::end);
  }
  producer_.reset();
  {
    // A single node with the shared producer may hold the node-wide id: fence it too, as taking
    // the partition over fenced its per-partition producer before there was one id for all.
    if (auto s = fence_ids(
            ctx_.conn,
            {node_transactional_id(ctx_.options.transactional_id_prefix, ctx_.options.topic)},
            ctx_.options.request_timeout);
        !s) {
      return s;
    }
  }
  auto p = txn_producer::create(ctx_.conn, transactional_id_, ctx_.record_limit + message_overhead,
                                producer_linger);
  if (!p) return p.error();
  // Fences every earlier producer of this transactional.id and aborts its open transaction.
  auto r = (*p)->init_transactions(ctx_.options.request_timeout);
  if (!r.ok()) return {errc::unavailable, "init_transactions: " + r.message};
  producer_ = std::move(*p);
  index_.clear_cache();
  return catch_up(std::max(ctx_.options.open_timeout, ctx_.options.request_timeout),
                  catch_up_until::end);
}

void partition_owner::skip_markers() {
  markers_behind_ = false;
  // catch_up from the stored next offset: this node is the partition's only writer, so there is
  // no data record to index there, only the markers of its own transactions; the consumer's
  // end-of-partition position is past them, and it becomes the index's next offset. Any data
  // record found (there should be none) is indexed as in a catch-up, never skipped.
  auto s = catch_up(marker_skip_limit, catch_up_until::first_eof);
  if (!s && !stopping() && s.error().message != last_skip_error_) {
    // Not the journal's failure: the status shows the markers as lag until the next idle moment.
    log::warn("journal") << ctx_.options.topic << "/" << partition_
                         << ": cannot move the index past the commit markers: "
                         << s.error().message;
  }
  last_skip_error_ = s ? std::string() : s.error().message;
}

status partition_owner::catch_up(millis limit, catch_up_until until) {
  auto next = index_.next_offset();
  if (!next) return next.error();
  ctx_.progress->advance(partition_, *next);
  auto reader = partition_reader::create(ctx_.conn, ctx_.options.topic, partition_, *next);
  if (!reader) return reader.error();
  auto end = (*reader)->end_offset(ctx_.options.request_timeout);
  if (!end) return end.error();
  if (*next >= *end) return {};

  const auto started = clock::now();
  const auto deadline = started + limit;
  const std::int64_t first = *next;
  auto next_report = started + progress_every;
  rocksdb::WriteBatch wb;
  std::uint64_t pending = 0;
  auto flush = [&](std::int64_t next_offset) -> status {
    index_.put_next_offset(wb, next_offset);
    auto s = index_.write(wb);
    wb.Clear();
    pending = 0;
    if (s) ctx_.progress->advance(partition_, next_offset);
    return s;
  };
  std::int64_t position = *next;
  for (;;) {
    if (stopping()) {
      return {errc::unavailable, closing() ? "journal is closed" : "partition released"};
    }
    if (clock::now() > deadline) {
      return {errc::unavailable, "catching up timed out at offset " + std::to_string(position) +
                                     " of " + std::to_string(*end)};
    }
    if (until == catch_up_until::end && clock::now() >= next_report) {
      // A long catch-up (a big topic, a slow broker) says how far it got.
      next_report = clock::now() + progress_every;
      log::info("journal") << ctx_.options.topic << "/" << partition_ << " catching up: offset "
                           << position << " of " << *end << " (" << (position - first) << " of "
                           << (*end - first) << " read)";
    }
    auto msg = (*reader)->poll(millis{100});
    if (!msg) continue;
    if (msg->is_partition_eof()) {
      // read_committed: the end is the last stable offset; everything before it is consumed,
      // and the position is past the transaction markers.
      position = std::max(position, msg->offset());
      if (auto s = flush(position); !s) return s;
      if (position >= *end || until == catch_up_until::first_eof) return {};
      continue;
    }
    if (msg->error() > 0) return {errc::unavailable, "catching up: " + msg->error_text()};
    if (msg->error() != 0) continue;  // librdkafka's own transient reports; it retries itself
    const entity_id entity(msg->key());
    auto rec = decode_record(msg->value());
    if (!rec || !storage::check_entity(entity)) {
      // Nothing can be indexed from it; stopping here for good would stop the partition forever.
      log::error("journal") << ctx_.options.topic << "/" << partition_
                            << ": skipped unreadable record at offset " << msg->offset() << ": "
                            << (rec ? std::string("bad entity id") : rec.error().message);
    } else if (auto applied = index_.apply(entity, *rec, wb); !applied) {
      return applied.error();
    }
    position = msg->offset() + 1;
    if (++pending >= catch_up_batch) {
      if (auto s = flush(position); !s) return s;
    }
  }
}

void partition_owner::commit(std::vector<job>& batch) {
  struct planned {
    entity_id entity;
    journal_record rec;
    std::string value;
  };
  const auto& opts = ctx_.options;
  std::vector<status> results(batch.size());
  std::vector<bool> accepted(batch.size(), false);
  std::vector<planned> records;
  std::unordered_map<entity_id, storage::entity_meta> tentative;
  std::uint64_t appends = 0, rejected = 0, unavailable = 0;

  for (std::size_t i = 0; i < batch.size(); ++i) {
    auto& j = batch[i];
    const auto& entity = j.req.entity;
    if (auto s = storage::check_entity(entity); !s) {
      results[i] = s;
      if (!j.is_delete) ++rejected;
      continue;
    }
    if (shard_of(entity, ctx_.partition_count) != partition_) {
      results[i] = {errc::internal, "entity " + entity + " routed to the wrong partition"};
      continue;
    }
    auto it = tentative.find(entity);
    if (it == tentative.end()) {
      auto m = index_.meta(entity);
      if (!m) {
        results[i] = m.error();
        if (!j.is_delete) ++unavailable;
        continue;
      }
      it = tentative.emplace(entity, *m).first;
    }
    auto& m = it->second;
    if (j.is_delete) {
      const seq_nr upto = std::min(j.delete_to, m.highest);
      if (upto > m.deleted_to) {
        m.deleted_to = upto;
        records.push_back({entity, {record_kind::delete_to, opts.writer_id, upto, {}, {}}, {}});
        records.back().value = encode_record(records.back().rec);
      }
      accepted[i] = true;
      continue;
    }
    if (auto s = index::validate_append(j.req, m.highest, opts.max_event_bytes); !s) {
      results[i] = s;
      ++rejected;
      continue;
    }
    std::vector<planned> mine;
    bool too_large = false;
    for (std::size_t k = 0; k < j.req.events.size(); ++k) {
      auto& ev = j.req.events[k];
      planned p{entity,
                {record_kind::event,
                 ev.writer.empty() ? opts.writer_id : ev.writer,
                 ev.seq,
                 std::move(ev.payload),
                 {}},
                {}};
      // The rows ride on the append's last event, so they are indexed with all of its events.
      if (k + 1 == j.req.events.size()) p.rec.rows = std::move(j.req.rows);
      p.value = encode_record(p.rec);
      if (p.value.size() > ctx_.record_limit) too_large = true;
      mine.push_back(std::move(p));
    }
    if (too_large) {
      results[i] = {errc::too_large, "journal record over the limit of " +
                                         std::to_string(ctx_.record_limit) + " bytes"};
      ++rejected;
      continue;
    }
    for (auto& p : mine) records.push_back(std::move(p));
    m.highest = j.req.events.back().seq;
    accepted[i] = true;
    ++appends;
  }

  using ending = txn_result::ending;
  txn_result done;
  if (!records.empty()) {
    std::vector<outgoing_record> out;
    out.reserve(records.size());
    for (const auto& p : records) out.push_back({p.entity, p.value});
    done = ctx_.shared ? ctx_.shared->commit(partition_, out, appends, generation_)
                       : commit_own(out, appends);
  }
  const ending how = done.how;
  std::string why = done.why;
  const bool fenced = done.fenced;
  const std::int64_t last_offset = done.last_offset;

  status failure;
  if (how == ending::committed && !records.empty()) {
    rocksdb::WriteBatch wb;
    status ws;
    for (const auto& p : records) {
      if (auto applied = index_.apply(p.entity, p.rec, wb); !applied) {
        ws = applied.error();
        break;
      }
    }
    if (ws) {
      index_.put_next_offset(wb, last_offset + 1);
      ws = index_.write(wb);
    }
    if (ws) {
      ctx_.progress->advance(partition_, last_offset + 1);
      markers_behind_ = true;
    } else {
      // Committed in Kafka (so acknowledged), but the index lacks it: catch up before serving.
      index_.clear_cache();
      set_state(state::recovering, ws.error().message);
    }
  } else if (how == ending::aborted) {
    failure = status{errc::unavailable, "journal transaction aborted: " + why};
    std::lock_guard lock(mutex_);
    last_error_ = why;
  } else if (how == ending::uncertain || how == ending::stale) {
    if (fenced) {
      log::error("journal") << "FENCED: another producer took over " << opts.topic << "/"
                            << partition_ << " (" << transactional_id_ << "): " << why;
      why = "fenced: " + why;
    }
    failure = status{errc::unavailable, "journal commit failed: " + why};
    // Before the callbacks: a caller that reads right after its failure must not see a stale index.
    index_.clear_cache();
    if (fenced && opts.cluster) {
      // Another node owns the partition now: never take it back by ourselves (no re-fencing).
      std::lock_guard lock(mutex_);
      fenced_ = true;
      last_error_ = why;
    } else {
      set_state(state::recovering, why);
    }
  }

  if (failure.ok()) {
    ctx_.counters->appends += appends;
  } else {
    unavailable += appends;
  }
  ctx_.counters->rejected += rejected;
  ctx_.counters->failed += unavailable;
  for (std::size_t i = 0; i < batch.size(); ++i) {
    run_callback(batch[i].done, accepted[i] ? failure : results[i]);
  }
  batch.clear();
}

txn_result partition_owner::commit_own(const std::vector<outgoing_record>& records,
                                       std::uint64_t appends) {
  using ending = txn_result::ending;
  const auto& opts = ctx_.options;
  txn_result out;
  const auto deadline = clock::now() + opts.request_timeout;
  const auto started = clock::now();
  auto r = producer_->begin_transaction();
  if (r.ok()) {
    for (const auto& p : records) {
      r = producer_->produce(opts.topic, partition_, p.key, p.value);
      if (!r.ok()) break;
    }
  }
  // A retriable commit error (e.g. the coordinator moving) is retried within request_timeout.
  if (r.ok()) {
    for (;;) {
      const auto left = std::chrono::duration_cast<millis>(deadline - clock::now());
      r = producer_->commit_transaction(std::max(left, millis{1}));
      if (r.ok() || r.what != txn_outcome::kind::retriable) break;
      if (clock::now() >= deadline) break;
    }
  }
  if (r.ok()) {
    for (const auto& d : producer_->deliveries()) {
      if (!d.reported || d.error != 0 || d.offset < 0) {
        r = {txn_outcome::kind::fatal, false, "a committed message has no delivery report"};
        break;
      }
      out.last_offset = std::max(out.last_offset, d.offset);
    }
  }
  const auto last_offset = out.last_offset;
  out = end_transaction(*producer_, r, opts.request_timeout);
  out.last_offset = last_offset;
  if (out.how == ending::committed && opts.metrics) {
    opts.metrics->journal_commit(clock::now() - started, appends);
  }
  return out;
}

}  // namespace hibiki::persistence::kafka
