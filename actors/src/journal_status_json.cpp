#include "journal_status_json.hpp"

#include <algorithm>
#include <cstdint>

namespace hibiki::actors {

nlohmann::json journal_status_json(const persistence::journal_status& st,
                                   const breaker_options& breaker) {
  auto partitions = nlohmann::json::array();
  for (const auto& p : st.partitions) {
    partitions.push_back({{"partition", p.partition},
                          {"state", p.state},
                          {"indexed_offset", p.indexed_offset},
                          {"end_offset", p.end_offset},
                          {"lag", p.lag},
                          {"last_error", p.last_error}});
  }
  // The options as the breaker applies them (0 failures counts as 1, see circuit_breaker.hpp).
  const auto max_failures = std::max<std::uint32_t>(breaker.max_failures, 1);
  const auto call_timeout = std::max<std::int64_t>(breaker.call_timeout.count(), 0);
  const auto reset_timeout = std::max<std::int64_t>(breaker.reset_timeout.count(), 0);
  return nlohmann::json{{"kind", st.kind},
                        {"brokers", st.brokers},
                        {"topic", st.topic},
                        {"partition_count", st.partition_count},
                        {"partitions", std::move(partitions)},
                        {"partitions_catching_up", st.partitions_catching_up},
                        {"offsets_to_index", st.offsets_to_index},
                        {"appends", st.appends},
                        {"rejected", st.rejected},
                        {"failed", st.failed},
                        {"breaker",
                         {{"state", st.breaker_state},
                          {"consecutive_failures", st.breaker_failures},
                          {"max_failures", max_failures},
                          {"call_timeout_ms", call_timeout},
                          {"reset_timeout_ms", reset_timeout}}}};
}

}  // namespace hibiki::actors
