#include "node_transactions.hpp"

#include <algorithm>
#include <chrono>

#include "hibiki/core/log.hpp"
#include "hibiki/metrics/registry.hpp"

namespace hibiki::persistence::kafka {

namespace {
using clock = std::chrono::steady_clock;
}  // namespace

std::string node_transactional_id(const std::string& prefix, const std::string& topic) {
  return prefix + "-" + topic;
}

std::string partition_transactional_id(const std::string& prefix, const std::string& topic,
                                       std::int32_t partition) {
  return prefix + "-" + topic + "-" + std::to_string(partition);
}

status fence_ids(const connection& conn, const std::vector<std::string>& ids, millis timeout) {
  std::vector<status> results(ids.size());
  std::vector<std::thread> threads;
  threads.reserve(ids.size());
  for (std::size_t i = 0; i < ids.size(); ++i) {
    threads.emplace_back([&, i] {
      // The smallest message size is enough: this producer only initialises.
      auto p = txn_producer::create(conn, ids[i], 1 << 20, millis{0});
      if (!p) {
        results[i] = p.error();
        return;
      }
      auto r = (*p)->init_transactions(timeout);
      if (!r.ok()) results[i] = {errc::unavailable, "fencing " + ids[i] + ": " + r.message};
    });
  }
  for (auto& t : threads) t.join();
  for (auto& r : results) {
    if (!r) return r;
  }
  return {};
}

node_transactions::node_transactions(node_transactions_options options)
    : options_(std::move(options)) {
  thread_ = std::thread([this] { run(); });
}

node_transactions::~node_transactions() {
  stop();
}

void node_transactions::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
    work_.notify_all();
  }
  if (thread_.joinable()) thread_.join();
  std::lock_guard lock(producer_mutex_);
  producer_.reset();
  broken_ = true;
}

status node_transactions::initialise_locked() {
  producer_.reset();
  broken_ = true;
  auto p = txn_producer::create(options_.conn, options_.transactional_id,
                                options_.message_max_bytes, options_.linger);
  if (!p) return p.error();
  // Fences every earlier producer of this transactional.id and aborts its open transaction.
  auto r = (*p)->init_transactions(options_.request_timeout);
  if (!r.ok()) return {errc::unavailable, "init_transactions: " + r.message};
  if (auto s = fence_ids(options_.conn, options_.fence_also, options_.request_timeout); !s) {
    return s;
  }
  producer_ = std::move(*p);
  ++generation_;
  published_generation_.store(generation_);
  broken_ = false;
  return {};
}

txn_result end_transaction(txn_producer& producer, const txn_outcome& r, millis abort_timeout) {
  using ending = txn_result::ending;
  txn_result out;
  if (r.ok()) {
    out.how = ending::committed;
  } else if (r.what == txn_outcome::kind::abortable) {
    auto a = producer.abort_transaction(abort_timeout);
    out.how = a.ok() ? ending::aborted : ending::uncertain;
    out.why = r.message + (a.ok() ? "" : "; abort failed: " + a.message);
    out.fenced = a.fenced;
  } else {
    out.how = ending::uncertain;
    out.why = r.message;
    out.fenced = r.fenced;
  }
  return out;
}

result<std::uint64_t> node_transactions::ensure_generation(std::uint64_t after) {
  std::lock_guard lock(producer_mutex_);
  if (broken_ || generation_ <= after) {
    if (auto s = initialise_locked(); !s) return s.error();
  }
  return generation_;
}

txn_result node_transactions::commit(std::int32_t partition,
                                     const std::vector<outgoing_record>& records,
                                     std::uint64_t appends, std::uint64_t generation) {
  participant me;
  me.partition = partition;
  me.records = &records;
  me.appends = appends;
  me.generation = generation;
  std::unique_lock lock(mutex_);
  if (ended_) {
    return {txn_result::ending::aborted, "journal is closed", false, -1};
  }
  pending_.push_back(&me);
  work_.notify_all();
  finished_.wait(lock, [&] { return me.done; });
  return me.result;
}

void node_transactions::run() {
  std::vector<participant*> group;
  for (;;) {
    {
      std::unique_lock lock(mutex_);
      // Stopping still commits what is queued: its owners wait for the outcome.
      work_.wait(lock, [&] { return stopping_ || !pending_.empty(); });
      if (pending_.empty()) {
        ended_ = true;
        return;
      }
      group.clear();
      group.swap(pending_);
    }
    run_transaction(group);
    {
      std::lock_guard lock(mutex_);
      for (auto* p : group) p->done = true;
    }
    finished_.notify_all();
  }
}

void node_transactions::run_transaction(std::vector<participant*>& group) {
  using ending = txn_result::ending;
  std::lock_guard lock(producer_mutex_);
  if (broken_) {
    if (auto s = initialise_locked(); !s) {
      for (auto* p : group) p->result = {ending::aborted, s.error().message, false, -1};
      return;
    }
  }
  // Owners that have not caught up after the current generation stay out of it.
  std::vector<participant*> in;
  for (auto* p : group) {
    if (p->generation == generation_) {
      in.push_back(p);
    } else {
      p->result = {ending::stale, "the node's producer was initialised again", false, -1};
    }
  }
  if (in.empty()) return;

  const auto started = clock::now();
  const auto deadline = started + options_.request_timeout;
  std::uint64_t appends = 0;
  auto r = producer_->begin_transaction();
  for (auto* p : in) {
    appends += p->appends;
    if (!r.ok()) break;
    for (const auto& rec : *p->records) {
      r = producer_->produce(options_.topic, p->partition, rec.key, rec.value);
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
  std::vector<std::int64_t> last(in.size(), -1);
  if (r.ok()) {
    // The deliveries are in produce order: each owner's records one after the other.
    const auto& reports = producer_->deliveries();
    std::size_t k = 0;
    for (std::size_t i = 0; i < in.size() && r.ok(); ++i) {
      for (std::size_t n = 0; n < in[i]->records->size(); ++n, ++k) {
        if (k >= reports.size() || !reports[k].reported || reports[k].error != 0 ||
            reports[k].offset < 0) {
          r = {txn_outcome::kind::fatal, false, "a committed message has no delivery report"};
          break;
        }
        last[i] = std::max(last[i], reports[k].offset);
      }
    }
  }
  txn_result out = end_transaction(*producer_, r, options_.request_timeout);
  if (out.how == ending::committed && options_.metrics) {
    options_.metrics->journal_commit(clock::now() - started, appends);
  }
  if (out.how == ending::uncertain) {
    // Nobody uses this producer again: the next initialisation settles the open transaction.
    broken_ = true;
    if (out.fenced) {
      log::error("journal") << "FENCED: another producer took over " << options_.topic << " ("
                            << options_.transactional_id << "): " << out.why;
    }
  }
  for (std::size_t i = 0; i < in.size(); ++i) {
    in[i]->result = out;
    in[i]->result.last_offset = last[i];
  }
}

}  // namespace hibiki::persistence::kafka
