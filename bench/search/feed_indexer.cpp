#include "feed_indexer.hpp"

#include <algorithm>
#include <chrono>

namespace hibiki::bench::search {
namespace {

/// The feed's read_to() where the interface has it (offsets that hold no event), else nothing.
template <class Feed>
persistence::feed_positions read_to(Feed& feed) {
  if constexpr (requires { feed.read_to(); }) {
    return feed.read_to();
  } else {
    return {};
  }
}

}  // namespace

result<std::uint64_t> apply_feed(persistence::event_feed& feed, persistence::projection& p,
                                 const persistence::feed_positions& end, std::size_t batch,
                                 std::chrono::steady_clock::time_point deadline,
                                 const std::function<void(std::uint64_t)>& progress) {
  auto from = p.committed();
  if (!from) return from.error();
  auto partitions = feed.partitions();
  if (!partitions) return partitions.error();
  for (auto part : *partitions) from->try_emplace(part, 0);
  const auto reached = [&] {
    for (const auto& [part, offset] : end) {
      if ((*from)[part] < offset) return false;
    }
    return true;
  };
  std::uint64_t applied = 0;
  while (!reached() && std::chrono::steady_clock::now() < deadline) {
    auto records = feed.read(*from, batch, std::chrono::milliseconds(100));
    if (!records) return records.error();
    auto next = *from;
    for (const auto& r : *records) next[r.partition] = r.offset + 1;
    // Offsets that hold no event (read_to) are passed too, as the runner does.
    for (const auto& [part, offset] : read_to(feed)) next[part] = std::max(next[part], offset);
    if (records->empty() && next == *from) continue;
    if (auto st = p.apply(*records, next); !st) return st.error();
    applied += records->size();
    *from = std::move(next);
    if (progress) progress(applied);
  }
  return applied;
}

}  // namespace hibiki::bench::search
