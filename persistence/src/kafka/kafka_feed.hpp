#pragma once
/// The Kafka journal's feed (event_feed.hpp): the topic itself, read by a consumer of its own
/// (isolation.level=read_committed, so only committed transactions; manual assign() of the
/// partitions asked, never a consumer group member, no offset commits: the projection keeps its
/// positions). Partitions and offsets are the topic's; end positions are the high watermarks
/// (past every acknowledged append even before its transaction's markers are written). Records are
/// decoded with kafka_record; delete_to records hold no event and are passed over. The events a
/// delete_to deleted stay in the topic, and this feed still returns them (the embedded feed
/// skips them).

#include <cstdint>
#include <memory>
#include <string>

#include "hibiki/persistence/event_feed.hpp"
#include "hibiki/persistence/position_store.hpp"
#include "rdkafka_client.hpp"

namespace hibiki::persistence::kafka {

/// A new reader of `topic` (partition_count partitions). Errors: bad_request (a property
/// librdkafka refuses), unavailable.
result<std::unique_ptr<event_feed>> open_kafka_feed(const connection& conn,
                                                    const std::string& topic,
                                                    std::int32_t partition_count);

/// Feed positions shared by the nodes (position_store.hpp) as the committed offsets of consumer
/// group `group` on `topic` (committed by a consumer that never joins the group). Errors:
/// bad_request (a property librdkafka refuses).
result<std::shared_ptr<position_store>> open_kafka_position_store(const connection& conn,
                                                                  const std::string& topic,
                                                                  const std::string& group);

}  // namespace hibiki::persistence::kafka
