#pragma once
/// Extra librdkafka properties an operator passes to every Kafka client of a node
/// (hibikid --kafka-config KEY=VALUE: TLS, SASL, timeouts). Some properties carry hibiki's own
/// guarantees (transactions, fencing, read_committed indexing, group membership, where the
/// brokers are): those are hibiki's to set and are refused here, before anything connects.

#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

/// librdkafka properties as KEY, VALUE pairs, applied in order after hibiki's own settings.
using kafka_settings = std::vector<std::pair<std::string, std::string>>;

/// bad_request when `key` is one hibiki sets itself (the message says which option to use
/// instead, if any); success otherwise (an unknown key is librdkafka's to refuse, see
/// check_kafka_settings).
status check_kafka_setting_key(std::string_view key);

/// Every key allowed (check_kafka_setting_key) and accepted by librdkafka with its value (a conf
/// object is built and dropped; nothing connects). bad_request naming the key otherwise.
status check_kafka_settings(const kafka_settings& settings);

}  // namespace hibiki::persistence
