#include "kafka_feed.hpp"

#include <algorithm>
#include <chrono>
#include <map>
#include <string>
#include <vector>

#include "../storage_keys.hpp"
#include "hibiki/core/log.hpp"
#include "kafka_record.hpp"

namespace hibiki::persistence::kafka {

namespace {

using clock = std::chrono::steady_clock;

/// How long end_positions() may take (one ListOffsets request).
constexpr millis end_budget{1000};

class kafka_event_feed final : public event_feed {
 public:
  kafka_event_feed(std::string topic, std::int32_t partition_count,
                   std::unique_ptr<assigned_consumer> consumer, std::unique_ptr<admin_client> admin)
      : topic_(std::move(topic)),
        partition_count_(partition_count),
        consumer_(std::move(consumer)),
        admin_(std::move(admin)) {}

  result<std::vector<std::int32_t>> partitions() override {
    std::vector<std::int32_t> out;
    for (std::int32_t p = 0; p < partition_count_; ++p) out.push_back(p);
    return out;
  }

  result<feed_positions> end_positions() override {
    auto ends = admin_->end_offsets(topic_, partition_count_, end_budget);
    if (!ends) return ends.error();
    feed_positions out;
    for (std::int32_t p = 0; p < partition_count_; ++p) {
      const auto e = (*ends)[static_cast<std::size_t>(p)];
      if (e < 0)
        return error{errc::unavailable,
                     "cannot read the end of " + topic_ + "/" + std::to_string(p)};
      out[p] = e;
    }
    return out;
  }

  feed_positions read_to() override { return read_to_; }

  result<std::vector<feed_record>> read(const feed_positions& from, std::size_t max,
                                        std::chrono::milliseconds wait) override {
    for (const auto& [p, offset] : from) {
      if (p < 0 || p >= partition_count_)
        return error{errc::bad_request, "the topic " + topic_ + " has no partition " +
                                            std::to_string(p) + " (it has " +
                                            std::to_string(partition_count_) + ")"};
      if (offset < 0) return error{errc::bad_request, "negative feed offset"};
    }
    read_to_ = from;
    std::vector<feed_record> out;
    if (from.empty() || max == 0) return out;
    if (auto s = assign(from); !s) return s.error();

    const auto deadline = clock::now() + wait;
    while (out.size() < max) {
      // Block only while nothing was read yet; then take what is already fetched.
      const auto left = std::chrono::duration_cast<millis>(deadline - clock::now());
      auto msg = consumer_->poll(out.empty() ? std::max(left, millis{0}) : millis{0});
      if (!msg) {
        if (!out.empty() || clock::now() >= deadline) break;
        continue;
      }
      const auto p = msg->partition();
      auto at = positions_.find(p);
      if (at == positions_.end()) continue;  // fetched for a partition no longer asked for
      if (msg->is_partition_eof()) {
        // Past the transaction markers read so far.
        at->second = std::max(at->second, msg->offset());
        read_to_[p] = at->second;
        continue;
      }
      if (msg->error() != 0) {
        const std::string why = msg->error_text();
        log::warn("projection") << "feed " << topic_ << "/" << p << ": " << why;
        if (out.empty()) return error{errc::unavailable, "reading " + topic_ + ": " + why};
        break;
      }
      if (msg->offset() < at->second) continue;  // read already
      at->second = msg->offset() + 1;
      read_to_[p] = at->second;
      const entity_id entity(msg->key());
      auto rec = decode_record(msg->value());
      if (!rec || !storage::check_entity(entity)) {
        log::error("projection") << "feed " << topic_ << "/" << p
                                 << ": skipped unreadable record at offset " << msg->offset()
                                 << ": "
                                 << (rec ? std::string("bad entity id") : rec.error().message);
        continue;
      }
      if (rec->kind != record_kind::event) continue;
      out.push_back(feed_record{
          p, msg->offset(),
          persisted_event{entity, rec->seq, std::move(rec->writer), std::move(rec->payload)}});
    }
    return out;
  }

 private:
  /// Makes the consumer fetch exactly the partitions of `from`, each from its offset there. A
  /// partition already fetched from the same place keeps its fetch (and what it prefetched).
  status assign(const feed_positions& from) {
    for (auto it = positions_.begin(); it != positions_.end();) {
      auto wanted = from.find(it->first);
      if (wanted != from.end() && wanted->second == it->second) {
        ++it;
        continue;
      }
      if (auto s = consumer_->unassign(topic_, it->first); !s) return s;
      it = positions_.erase(it);
    }
    for (const auto& [p, offset] : from) {
      if (positions_.contains(p)) continue;
      if (auto s = consumer_->assign(topic_, p, offset); !s) return s;
      positions_[p] = offset;
    }
    return {};
  }

  const std::string topic_;
  const std::int32_t partition_count_;
  std::unique_ptr<assigned_consumer> consumer_;
  std::unique_ptr<admin_client> admin_;
  /// The partitions the consumer fetches and the next offset it gives each.
  std::map<std::int32_t, std::int64_t> positions_;
  feed_positions read_to_;
};

class kafka_position_store final : public position_store {
 public:
  kafka_position_store(std::string topic, std::unique_ptr<offset_committer> committer)
      : topic_(std::move(topic)), committer_(std::move(committer)) {}

  result<feed_positions> load(const std::vector<std::int32_t>& partitions) override {
    if (partitions.empty()) return feed_positions{};
    auto got = committer_->committed(topic_, partitions, group_budget);
    if (!got) return got.error();
    return feed_positions(got->begin(), got->end());
  }

  status store(const feed_positions& positions) override {
    return committer_->commit(topic_, {positions.begin(), positions.end()});
  }

 private:
  /// How long reading the group's offsets may take (finding the coordinator included).
  static constexpr millis group_budget{5000};
  const std::string topic_;
  std::unique_ptr<offset_committer> committer_;
};

}  // namespace

result<std::shared_ptr<position_store>> open_kafka_position_store(const connection& conn,
                                                                  const std::string& topic,
                                                                  const std::string& group) {
  auto committer = offset_committer::create(conn, {{"group.id", group},
                                                   {"enable.auto.commit", "false"},
                                                   {"enable.auto.offset.store", "false"}});
  if (!committer) return committer.error();
  return std::shared_ptr<position_store>(
      std::make_shared<kafka_position_store>(topic, std::move(*committer)));
}

result<std::unique_ptr<event_feed>> open_kafka_feed(const connection& conn,
                                                    const std::string& topic,
                                                    std::int32_t partition_count) {
  // A group.id is needed for assign() in librdkafka 2.0; this consumer never joins the group
  // (no subscribe) nor commits: each projection keeps its own positions.
  auto consumer = assigned_consumer::create(conn, {{"group.id", "hibiki-feed-" + topic},
                                                   {"isolation.level", "read_committed"},
                                                   {"enable.partition.eof", "true"},
                                                   {"enable.auto.commit", "false"},
                                                   {"enable.auto.offset.store", "false"},
                                                   {"auto.offset.reset", "earliest"},
                                                   {"fetch.wait.max.ms", "100"}});
  if (!consumer) return consumer.error();
  // High watermarks, not last stable offsets: an append is acknowledged once its transaction
  // committed, which may be before its markers are written and the last stable offset moves
  // past it; the high watermark is past it already, so every acknowledged event is below the end.
  auto admin = admin_client::create_high_watermark(conn);
  if (!admin) return admin.error();
  return std::unique_ptr<event_feed>(std::make_unique<kafka_event_feed>(
      topic, partition_count, std::move(*consumer), std::move(*admin)));
}

}  // namespace hibiki::persistence::kafka
