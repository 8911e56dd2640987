#pragma once
/// The follower of a clustered backend: ONE read_committed consumer (no group, assign-based)
/// that tails every partition this node does not own into the local index and read models,
/// through each partition's index_writer (the replay filter included). Ownership changes add and
/// remove partitions with incremental assign/unassign, so a node following 16 partitions runs one
/// librdkafka client, not 16.
///
/// Position: after each poll the follower records, per partition, the offset after the last
/// record it indexed, or the offset a partition-EOF event reports. The EOF offset is the
/// consumer's fetch position, which is past transaction control markers (commit/abort markers
/// occupy offsets but are never delivered), so a followed partition that is caught up reaches
/// the end offset (the last stable offset) that ListOffsets reports. The read barrier relies on
/// this (tests/kafka/cluster_test.cpp checks it after commits and after an aborted transaction).

#include <atomic>
#include <condition_variable>
#include <cstdint>
#include <deque>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "index_progress.hpp"
#include "index_writer.hpp"
#include "partition_owner.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence::kafka {

class follower final : public follow_control {
 public:
  /// A consumer with nothing assigned yet. bad_request for properties librdkafka refuses.
  static result<std::unique_ptr<follower>> create(const owner_context& ctx);
  ~follower() override;

  void start();
  /// Stops the thread (what was read is written first). Idempotent.
  void stop();

  void follow(std::int32_t partition) override;
  void unfollow(std::int32_t partition) override;
  /// The last consumer error of `partition` (or of the whole consumer); empty when none.
  std::string last_error(std::int32_t partition) const;

 private:
  follower(const owner_context& ctx, std::unique_ptr<assigned_consumer> consumer);
  struct command {
    std::int32_t partition;
    bool follow;
  };
  struct followed {
    bool active = false;
    std::int64_t position = -1;  ///< next offset to index
    bool dirty = false;          ///< position not yet written to the index
    bool reset = false;          ///< the index refused a write: re-read from the stored offset
    std::unique_ptr<index_writer> index;
    std::string last_error;
  };

  void run();
  void apply_commands();
  void assign(std::int32_t partition, std::int64_t offset);
  void unassign(std::int32_t partition);
  void handle(message& msg, rocksdb::WriteBatch& wb);
  void flush(rocksdb::WriteBatch& wb);
  void reset_failed();

  const owner_context& ctx_;
  std::unique_ptr<assigned_consumer> consumer_;

  mutable std::mutex mutex_;  // guards commands_, applied_, stopping_, errors_
  std::condition_variable applied_cv_;
  std::deque<command> commands_;
  std::uint64_t queued_ = 0;   ///< commands queued so far
  std::uint64_t applied_ = 0;  ///< commands the thread has carried out
  bool stopping_ = false;
  std::vector<std::string> errors_;
  std::string consumer_error_;

  std::thread thread_;
  std::mutex stop_mutex_;

  // Follower thread only.
  std::vector<followed> parts_;
};

}  // namespace hibiki::persistence::kafka
