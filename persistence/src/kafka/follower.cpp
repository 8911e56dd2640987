#include "follower.hpp"

#include "../storage_keys.hpp"
#include "hibiki/core/log.hpp"

namespace hibiki::persistence::kafka {

namespace {

/// How long one poll blocks: bounds how late a command (unfollow) or stop is noticed.
constexpr millis poll_wait{50};
/// Records indexed in one WriteBatch at most.
constexpr int max_batch = 1024;

}  // namespace

result<std::unique_ptr<follower>> follower::create(const owner_context& ctx) {
  // A group.id is needed for assign() in librdkafka 2.0; this consumer never joins the group
  // (no subscribe) nor commits: the offsets live in the local index.
  auto consumer =
      assigned_consumer::create(ctx.conn, {{"group.id", "hibiki-follow-" + ctx.options.topic},
                                           {"isolation.level", "read_committed"},
                                           {"enable.partition.eof", "true"},
                                           {"enable.auto.commit", "false"},
                                           {"enable.auto.offset.store", "false"},
                                           {"auto.offset.reset", "error"},
                                           {"fetch.wait.max.ms", "100"}});
  if (!consumer) return consumer.error();
  return std::unique_ptr<follower>(new follower(ctx, std::move(*consumer)));
}

follower::follower(const owner_context& ctx, std::unique_ptr<assigned_consumer> consumer)
    : ctx_(ctx),
      consumer_(std::move(consumer)),
      errors_(static_cast<std::size_t>(ctx.partition_count)),
      parts_(static_cast<std::size_t>(ctx.partition_count)) {
  for (std::int32_t p = 0; p < ctx.partition_count; ++p) {
    parts_[static_cast<std::size_t>(p)].index =
        std::make_unique<index_writer>(*ctx.db, ctx.options.topic, p);
  }
}

follower::~follower() {
  stop();
}

void follower::start() {
  thread_ = std::thread([this] { run(); });
}

void follower::stop() {
  std::lock_guard stop_lock(stop_mutex_);
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  applied_cv_.notify_all();
  if (thread_.joinable() && thread_.get_id() != std::this_thread::get_id()) thread_.join();
}

void follower::follow(std::int32_t partition) {
  std::lock_guard lock(mutex_);
  commands_.push_back({partition, true});
  ++queued_;
}

void follower::unfollow(std::int32_t partition) {
  std::unique_lock lock(mutex_);
  commands_.push_back({partition, false});
  const auto ticket = ++queued_;
  // Once stopped, nothing indexes any more: the caller may go on.
  applied_cv_.wait(lock, [&] { return applied_ >= ticket || stopping_ || !thread_.joinable(); });
}

std::string follower::last_error(std::int32_t partition) const {
  std::lock_guard lock(mutex_);
  const auto& e = errors_[static_cast<std::size_t>(partition)];
  return e.empty() ? consumer_error_ : e;
}

void follower::assign(std::int32_t partition, std::int64_t offset) {
  // Without a subscription the consumer has no rebalance protocol, so incremental assignment
  // is allowed at any time and leaves the other partitions' fetch positions alone.
  if (auto s = consumer_->assign(ctx_.options.topic, partition, offset); !s) {
    const std::string why = s.error().message;
    log::warn("journal") << "follower " << ctx_.options.topic << "/" << partition
                         << ": cannot assign: " << why;
    std::lock_guard lock(mutex_);
    errors_[static_cast<std::size_t>(partition)] = "cannot assign: " + why;
  }
}

void follower::unassign(std::int32_t partition) {
  if (auto s = consumer_->unassign(ctx_.options.topic, partition); !s) {
    // Harmless for the index: messages of an inactive partition are dropped in handle().
    log::warn("journal") << "follower " << ctx_.options.topic << "/" << partition
                         << ": cannot unassign: " << s.error().message;
  }
}

void follower::apply_commands() {
  std::deque<command> todo;
  std::uint64_t upto = 0;
  {
    std::lock_guard lock(mutex_);
    todo.swap(commands_);
    upto = queued_;
  }
  for (const auto& c : todo) {
    auto& f = parts_[static_cast<std::size_t>(c.partition)];
    if (c.follow && !f.active) {
      // The owner wrote the index up to here; its cached metas are stale for this writer.
      f.index->clear_cache();
      auto next = f.index->next_offset();
      if (!next) {
        log::warn("journal") << "follower " << ctx_.options.topic << "/" << c.partition << ": "
                             << next.error().message;
        std::lock_guard lock(mutex_);
        errors_[static_cast<std::size_t>(c.partition)] = next.error().message;
        continue;
      }
      f.active = true;
      f.position = *next;
      f.dirty = false;
      ctx_.progress->advance(c.partition, *next);
      assign(c.partition, *next);
    } else if (!c.follow && f.active) {
      f.active = false;
      unassign(c.partition);
    }
  }
  {
    std::lock_guard lock(mutex_);
    applied_ = std::max(applied_, upto);
  }
  applied_cv_.notify_all();
}

void follower::handle(message& msg, rocksdb::WriteBatch& wb) {
  const auto p = msg.partition();
  if (p < 0 || p >= ctx_.partition_count) return;
  auto& f = parts_[static_cast<std::size_t>(p)];
  if (!f.active) return;  // fetched before an unassign: the owner indexes it now
  if (msg.is_partition_eof()) {
    // The fetch position: past the control markers of the transactions read so far.
    if (msg.offset() > f.position) {
      f.position = msg.offset();
      f.dirty = true;
    }
    return;
  }
  if (msg.error() != 0) {
    std::string why = msg.error_text();
    if (msg.error() > 0) {
      log::warn("journal") << "follower " << ctx_.options.topic << "/" << p << ": " << why;
    }
    std::lock_guard lock(mutex_);
    errors_[static_cast<std::size_t>(p)] = why;
    return;
  }
  if (f.reset) return;                    // read again from the stored offset after flush
  if (msg.offset() < f.position) return;  // re-fetched after a re-follow: indexed already
  const entity_id entity(msg.key());
  auto rec = decode_record(msg.value());
  if (!rec || !storage::check_entity(entity)) {
    log::error("journal") << "follower " << ctx_.options.topic << "/" << p
                          << ": skipped unreadable record at offset " << msg.offset() << ": "
                          << (rec ? std::string("bad entity id") : rec.error().message);
  } else if (auto applied = f.index->apply(entity, *rec, wb); !applied) {
    // The index cannot take it (local db failure): stop here and read it again later.
    log::error("journal") << "follower " << ctx_.options.topic << "/" << p << ": "
                          << applied.error().message;
    f.reset = true;
    std::lock_guard lock(mutex_);
    errors_[static_cast<std::size_t>(p)] = applied.error().message;
    return;
  }
  f.position = msg.offset() + 1;
  f.dirty = true;
}

void follower::flush(rocksdb::WriteBatch& wb) {
  bool any = false;
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    auto& f = parts_[p];
    if (!f.dirty || !f.active) continue;
    f.index->put_next_offset(wb, f.position);
    any = true;
  }
  if (!any && wb.Count() == 0) {
    reset_failed();
    return;
  }
  // One db write for every partition read in this round; each index_writer::write only writes.
  auto s = parts_[0].index->write(wb);
  wb.Clear();
  if (!s) {
    log::error("journal") << "follower: " << s.error().message;
    for (auto& f : parts_) {
      if (f.dirty) f.reset = true;
      f.dirty = false;
    }
  }
  for (std::size_t p = 0; p < parts_.size(); ++p) {
    auto& f = parts_[p];
    if (!f.dirty) continue;
    f.dirty = false;
    if (f.active) {
      ctx_.progress->advance(static_cast<std::int32_t>(p), f.position);
      std::lock_guard lock(mutex_);
      errors_[p].clear();
      consumer_error_.clear();  // reading again: a broker-down report is over
    }
  }
  reset_failed();
}

void follower::reset_failed() {
  for (std::size_t i = 0; i < parts_.size(); ++i) {
    auto& f = parts_[i];
    if (!f.reset) continue;
    f.reset = false;
    f.dirty = false;
    // The cached metas may be ahead of the db: start again from what the db holds.
    f.index->clear_cache();
    auto next = f.index->next_offset();
    if (!next || !f.active) continue;
    f.position = *next;
    const auto p = static_cast<std::int32_t>(i);
    unassign(p);
    assign(p, *next);
  }
}

void follower::run() {
  rocksdb::WriteBatch wb;
  for (;;) {
    {
      std::lock_guard lock(mutex_);
      if (stopping_) break;
    }
    apply_commands();
    for (int n = 0; n < max_batch; ++n) {
      auto polled = consumer_->poll(n == 0 ? poll_wait : millis{0});
      if (!polled) break;
      message& msg = *polled;
      if (msg.partition() < 0 && msg.error() != 0) {
        // A consumer-wide report (broker down, ...): librdkafka retries by itself.
        std::lock_guard lock(mutex_);
        consumer_error_ = msg.error_text();
      } else {
        handle(msg, wb);
      }
    }
    flush(wb);
  }
  std::lock_guard lock(mutex_);
  applied_ = queued_;
  applied_cv_.notify_all();
}

}  // namespace hibiki::persistence::kafka
