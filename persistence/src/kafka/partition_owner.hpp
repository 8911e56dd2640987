#pragma once
/// The owner of one journal partition: its transactional producer, its writer thread and its part
/// of the local index. States (partition_status::state):
///
///   catching_up --(fenced + caught up)--> ready --(uncertain commit, fenced)--> recovering
///        ^                                                                          |
///        +----------------------- (backoff, new producer) -------------------------+
///
/// Single node: the owners share one producer (node_transactions.hpp, owner_context::shared);
/// bring-up waits for its generation instead of fencing a producer of its own.
///
/// Only `ready` accepts writes and serves reads of its entities; otherwise they fail fast with
/// `unavailable` (the index may lack a commit whose outcome is unknown).
///
/// Clustered (kafka_options::cluster, shard_control.hpp): the owner starts in `following` with no
/// thread (the follower indexes the partition); acquire() starts the thread in `acquiring`
/// (unfollow, fence, catch up, then `ready`); release() or a fenced commit end the thread and
/// hand the partition back to the follower. Appends while following or acquiring, and those
/// still queued when the writer stops, fail with `moved`.

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "../rocksdb_database.hpp"
#include "callback_runner.hpp"
#include "hibiki/persistence/backend.hpp"
#include "hibiki/persistence/kafka_backend.hpp"
#include "index_progress.hpp"
#include "index_writer.hpp"
#include "node_transactions.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence::kafka {

/// librdkafka's wait for batching: short, since an append waits for it.
constexpr millis producer_linger{2};
/// Room in message.max.bytes for the record's framing beyond record_limit.
constexpr std::size_t message_overhead = 64 * 1024;

/// Counters shared by every owner of one backend.
struct journal_counters {
  std::atomic<std::uint64_t> appends{0};
  std::atomic<std::uint64_t> rejected{0};
  std::atomic<std::uint64_t> failed{0};
};

/// What every owner of one backend shares. Outlives the owners.
struct owner_context {
  kafka_options options;
  connection conn;
  std::int32_t partition_count = 0;
  std::size_t record_limit = 0;  ///< largest encoded record (message.max.bytes)
  rocksdb_database* db = nullptr;
  callback_runner* runner = nullptr;
  journal_counters* counters = nullptr;
  index_progress* progress = nullptr;
  /// The single node's shared producer (node_transactions.hpp); null: each owner has its own
  /// producer (clustered, or kafka_options::producer_per_partition).
  node_transactions* shared = nullptr;
  /// Clustered only (null otherwise).
  follow_control* follower = nullptr;
  shard_events* events = nullptr;
};

class partition_owner {
 public:
  /// One queued write: an append, or a delete_to.
  struct job {
    append_request req;
    bool is_delete = false;
    seq_nr delete_to = 0;
    append_callback done;
  };

  partition_owner(const owner_context& ctx, std::int32_t partition);
  ~partition_owner();
  partition_owner(const partition_owner&) = delete;
  partition_owner& operator=(const partition_owner&) = delete;

  /// Starts the thread: fence, catch up, serve (single node).
  void start();
  /// Clustered: from following, starts taking over (a new thread). Otherwise does nothing.
  void acquire();
  /// Clustered: stops writing and returns once the thread has handed the partition back to the
  /// follower. Does nothing when only following.
  void release();
  /// Queues `j` when ready; otherwise answers it `unavailable` on the runner.
  void submit(job j);
  bool ready() const;
  /// Waits until ready, stopped or `deadline`; the last error when not ready.
  status wait_ready(std::chrono::steady_clock::time_point deadline);
  /// State, indexed offset and last error (end_offset and lag are the backend's to fill).
  partition_status snapshot() const;

  /// Asks the thread to stop (it finishes its current transaction). Does not wait.
  void request_stop();
  /// request_stop, then answers what is queued `unavailable` and joins. Idempotent.
  void stop();

 private:
  enum class state { catching_up, ready, recovering, stopped, following, acquiring };

  void run();
  /// Fences and catches up until ready or stopping, with backoff between attempts.
  void bring_up();
  status try_bring_up();
  /// Reads the partition from the index's next offset into the index, within `limit`: up to
  /// the end as of the start (bring-up), or only to the first end-of-partition (skip_markers).
  enum class catch_up_until { end, first_eof };
  status catch_up(millis limit, catch_up_until until);
  /// After commits, once idle: moves the index's next offset past the transaction markers that
  /// follow this node's own commits, so the partition shows no lag when everything is indexed.
  void skip_markers();
  void commit(std::vector<job>& batch);
  /// Produces `records` in one transaction of this owner's producer and commits it.
  txn_result commit_own(const std::vector<outgoing_record>& records, std::uint64_t appends);
  void set_state(state s, const std::string& why);
  /// Answers every queued job with `code` (on the runner).
  void fail_queued(errc code, const std::string& why);
  /// Clustered: the end of a release or of a fenced producer.
  void hand_back();
  /// Closing or releasing: the thread should wind down.
  bool stopping() const;
  /// Closing only.
  bool closing() const;

  const owner_context& ctx_;
  const std::int32_t partition_;
  const std::string transactional_id_;

  mutable std::mutex mutex_;  // guards everything below up to thread_
  std::condition_variable wake_;
  std::deque<job> queue_;
  state state_ = state::catching_up;
  bool stopping_ = false;
  bool releasing_ = false;  ///< release() asked the thread to hand the partition back
  bool fenced_ = false;     ///< a commit found the producer fenced
  std::string last_error_;

  std::mutex stop_mutex_;  // serialises stop(), acquire() and release() callers
  std::thread thread_;

  // Owner thread only.
  std::unique_ptr<txn_producer> producer_;
  /// With the shared producer: the producer generation this owner caught up after.
  std::uint64_t generation_ = 0;
  /// A commit since the last skip_markers(): its marker is past the index's next offset.
  bool markers_behind_ = false;
  std::string last_skip_error_;
  index_writer index_;
};

}  // namespace hibiki::persistence::kafka
