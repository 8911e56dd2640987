#include "replay_feed.hpp"

namespace hibiki::bench::search {
namespace {

class replay_feed final : public persistence::event_feed {
 public:
  replay_feed(persistence::journal& journal, std::uint32_t rooms, std::uint64_t events)
      : journal_(journal), rooms_(rooms), end_(static_cast<std::int64_t>(events)) {}

  result<std::vector<std::int32_t>> partitions() override { return std::vector<std::int32_t>{0}; }

  result<std::vector<persistence::feed_record>> read(const persistence::feed_positions& from,
                                                     std::size_t max,
                                                     std::chrono::milliseconds) override {
    std::vector<persistence::feed_record> out;
    auto it = from.find(0);
    if (it == from.end()) return out;
    if (it->second != offset_) {
      if (it->second != 0) {
        return hibiki::error{errc::bad_request, "the replay feed reads on from where it ended"};
      }
      offset_ = 0;
      room_ = 1;
      next_seq_ = 1;
    }
    while (out.size() < max && room_ <= rooms_) {
      const auto before = out.size();
      auto st = journal_.replay(entity_of(room_id{room_}), next_seq_, persistence::max_seq,
                                max - out.size(), [&](const persistence::persisted_event& e) {
                                  persistence::feed_record r;
                                  r.partition = 0;
                                  r.offset = offset_++;
                                  r.event = e;
                                  next_seq_ = e.seq + 1;
                                  out.push_back(std::move(r));
                                });
      if (!st) return st.error();
      if (out.size() == before) {  // this room is done
        ++room_;
        next_seq_ = 1;
      }
    }
    return out;
  }

  result<persistence::feed_positions> end_positions() override {
    return persistence::feed_positions{{0, end_}};
  }

 private:
  persistence::journal& journal_;
  const std::uint32_t rooms_;
  const std::int64_t end_;
  std::int64_t offset_ = 0;
  std::uint64_t room_ = 1;
  seq_nr next_seq_ = 1;
};

}  // namespace

std::unique_ptr<persistence::event_feed> open_replay_feed(persistence::journal& journal,
                                                          std::uint32_t rooms,
                                                          std::uint64_t events) {
  return std::make_unique<replay_feed>(journal, rooms, events);
}

}  // namespace hibiki::bench::search
