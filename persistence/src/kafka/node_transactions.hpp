#pragma once

#include <atomic>
/// The single node's one transactional producer (kafka_options::cluster false, and
/// producer_per_partition false): every partition owner hands it the records of its batch, and
/// one thread produces what all of them have waiting in ONE transaction and commits it. While a
/// transaction commits, the next owners' batches gather for the following one, so a node pays
/// one EndTxn round per round of commits instead of one per partition, and runs one librdkafka
/// producer instead of one per partition.
///
/// Fencing: `transactional.id` = `<prefix>-<topic>` (node_transactional_id). A single node owns
/// every partition, so one id for the whole topic fences exactly what the per-partition ids did:
/// the next node's init_transactions fences this producer and aborts its open transaction.
/// Each initialisation also fences the per-partition ids (`<prefix>-<topic>-<p>`) of the other
/// scheme, so a writer of an older version, or one started with the per-partition producers,
/// can never commit next to this one.
///
/// Generations: every successful initialisation is a new generation. A partition owner catches
/// its index up after the producer's generation it knows; a transaction never carries the
/// records of an owner whose generation is older than the producer's (the producer was
/// re-initialised after a fencing or an uncertain commit, so another writer may have written its
/// partition): that owner gets `stale` and catches up first.

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <thread>
#include <vector>

#include "hibiki/core/result.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::metrics {
class registry;
}

namespace hibiki::persistence::kafka {

/// `<prefix>-<topic>`: the single node's transactional.id.
std::string node_transactional_id(const std::string& prefix, const std::string& topic);
/// `<prefix>-<topic>-<partition>`: a partition producer's transactional.id.
std::string partition_transactional_id(const std::string& prefix, const std::string& topic,
                                       std::int32_t partition);

/// Initialises a throwaway producer of each id, fencing whoever held it (and aborting its open
/// transaction), in parallel. The first failure, or ok.
status fence_ids(const connection& conn, const std::vector<std::string>& ids, millis timeout);

/// One record of an owner's batch: views into the owner's buffers, valid during commit().
struct outgoing_record {
  std::string_view key;
  std::string_view value;
};

/// How a shared transaction ended for one owner.
struct txn_result {
  enum class ending {
    committed,  ///< in Kafka; last_offset is the highest offset of the owner's records
    aborted,    ///< known not committed (aborted, or nothing was produced)
    uncertain,  ///< outcome unknown (fatal, fenced, timed out): catch up after a new generation
    stale,      ///< not attempted: the producer was re-initialised since the owner caught up
  };
  ending how = ending::committed;
  std::string why;
  bool fenced = false;
  std::int64_t last_offset = -1;
};

/// How a transaction that went as `r` ended: committed when `r` is ok, aborted when it was
/// abortable and the abort went through, otherwise uncertain. Shared by both producer schemes.
txn_result end_transaction(txn_producer& producer, const txn_outcome& r, millis abort_timeout);

struct node_transactions_options {
  connection conn;
  std::string topic;
  std::string transactional_id;
  /// The per-partition ids every initialisation fences as well.
  std::vector<std::string> fence_also;
  std::size_t message_max_bytes = 0;
  millis linger{2};
  millis request_timeout{10'000};
  std::shared_ptr<metrics::registry> metrics;
};

class node_transactions {
 public:
  explicit node_transactions(node_transactions_options options);
  /// stop().
  ~node_transactions();
  node_transactions(const node_transactions&) = delete;
  node_transactions& operator=(const node_transactions&) = delete;

  /// Makes sure the producer is initialised at a generation after `after` (initialising it when
  /// it is not, or when the last transaction left it uncertain) and returns that generation.
  /// unavailable when the broker refuses or does not answer within the request timeout.
  result<std::uint64_t> ensure_generation(std::uint64_t after);

  /// The producer's current generation, without waiting for a transaction in flight. An owner
  /// behind it catches up before it writes, so its queued appends are not refused as stale.
  std::uint64_t generation() const { return published_generation_.load(); }

  /// Blocks until `records` (all of `partition`, `appends` appends) were part of a transaction
  /// that ended, and says how. `generation`: the one the owner caught up after.
  txn_result commit(std::int32_t partition, const std::vector<outgoing_record>& records,
                    std::uint64_t appends, std::uint64_t generation);

  /// Commits what is queued, then ends the thread and destroys the producer. Later commits are
  /// answered `aborted`. Idempotent.
  void stop();

 private:
  struct participant {
    std::int32_t partition = 0;
    const std::vector<outgoing_record>* records = nullptr;
    std::uint64_t appends = 0;
    std::uint64_t generation = 0;
    txn_result result;
    bool done = false;
  };

  void run();
  void run_transaction(std::vector<participant*>& group);
  /// A new producer, init_transactions, the other ids fenced. producer_mutex_ held.
  status initialise_locked();

  const node_transactions_options options_;

  std::mutex mutex_;  // guards pending_, stopping_, ended_, participant::done
  std::condition_variable work_;
  std::condition_variable finished_;
  std::vector<participant*> pending_;
  bool stopping_ = false;
  bool ended_ = false;  ///< the thread has returned: nobody answers a commit any more
  std::thread thread_;

  std::mutex producer_mutex_;  // guards everything below
  std::unique_ptr<txn_producer> producer_;
  std::uint64_t generation_ = 0;
  std::atomic<std::uint64_t> published_generation_{0};  ///< generation_, readable without the lock
  /// No producer yet, or the last transaction's outcome is unknown: initialise before using it.
  bool broken_ = true;
};

}  // namespace hibiki::persistence::kafka
