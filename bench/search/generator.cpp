#include "generator.hpp"

#include <condition_variable>
#include <mutex>
#include <optional>
#include <utility>
#include <vector>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/room.hpp"

namespace hibiki::bench::search {
namespace {

constexpr std::uint64_t message_stream = 0x4d455353414745ULL;  // "MESSAGE"

/// Bounds the appends in flight and keeps the first failure.
class in_flight_limit {
 public:
  explicit in_flight_limit(std::size_t limit) : limit_(limit) {}

  void acquire() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return count_ < limit_; });
    ++count_;
  }
  void release(const status& st) {
    std::lock_guard lock(mutex_);
    --count_;
    if (!st && !failure_) failure_ = st.error();
    changed_.notify_all();
  }
  /// Waits for every append in flight; the first failure, if any.
  std::optional<hibiki::error> drain() {
    std::unique_lock lock(mutex_);
    changed_.wait(lock, [&] { return count_ == 0; });
    return failure_;
  }
  bool failed() {
    std::lock_guard lock(mutex_);
    return failure_.has_value();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  std::size_t limit_;
  std::size_t count_ = 0;
  std::optional<hibiki::error> failure_;
};

/// One room as its entity holds it: the state and the journal's seq.
struct room_entity {
  room::state state;
  seq_nr seq = 0;
};

/// What read_model::project reads of the state before an event, without the parts that grow with
/// the room's history (as the room entity copies it).
room::state projection_base(room::state& s) {
  auto messages = std::exchange(s.messages, {});
  auto deleted = std::exchange(s.deleted, {});
  auto mentions = std::exchange(s.mentions, {});
  room::state copy = s;
  s.messages = std::move(messages);
  s.deleted = std::move(deleted);
  s.mentions = std::move(mentions);
  return copy;
}

class writer {
 public:
  writer(persistence::journal& journal, const generate_options& options, const world& w)
      : journal_(journal), options_(options), limit_(options.in_flight) {
    rooms_.resize(w.rooms());
    for (std::uint32_t i = 0; i < w.rooms(); ++i) rooms_[i].state.id = room_id{i + 1};
  }

  /// Decides `cmd` in room `r`, applies and appends its events. False when the rules refused it
  /// (the caller's bug: the generator only sends what a member may send).
  result<std::size_t> run(room_id r, const room::command& cmd) {
    auto& entity = rooms_[r.value - 1];
    auto decided = room::decide(entity.state, cmd);
    if (!decided) return decided.error();
    persistence::append_request req;
    req.entity = entity_of(r);
    for (const auto& e : decided->events) {
      if (options_.read_models) {
        room::state before = projection_base(entity.state);
        entity.state = room::apply(std::move(entity.state), e);
        auto rows = read_model::project(before, e, entity.state);
        req.rows.insert(req.rows.end(), std::make_move_iterator(rows.begin()),
                        std::make_move_iterator(rows.end()));
      } else {
        entity.state = room::apply(std::move(entity.state), e);
      }
      req.events.push_back(persistence::persisted_event{req.entity, ++entity.seq, options_.writer,
                                                        codec::encode(e)});
    }
    // Client message ids are unique here, so the retry window never answers: drop it rather than
    // keep ten thousand ids per room in memory.
    entity.state.dedupe.clear();
    entity.state.dedupe_order.clear();
    const std::size_t n = req.events.size();
    if (n == 0) return n;
    events_ += n;
    limit_.acquire();
    journal_.async_append(std::move(req), [this](status st) { limit_.release(st); });
    return n;
  }

  room::state& state(room_id r) { return rooms_[r.value - 1].state; }
  std::uint64_t events() const { return events_; }
  in_flight_limit& limit() { return limit_; }

 private:
  persistence::journal& journal_;
  const generate_options& options_;
  std::vector<room_entity> rooms_;
  in_flight_limit limit_;
  std::uint64_t events_ = 0;
};

/// A recent message of the room that is not deleted (nullopt when there is none in the last 20).
std::optional<message_id> recent_message(const room::state& s, random_stream& rng) {
  const std::uint64_t last = s.last_message().value;
  if (last == 0) return std::nullopt;
  for (int attempt = 0; attempt < 4; ++attempt) {
    const std::uint64_t id = last - rng.below(std::min<std::uint64_t>(last, 20));
    if (!s.messages[id - 1].deleted) return message_id{id};
  }
  return std::nullopt;
}

}  // namespace

result<generate_stats> generate(persistence::journal& journal, const generate_options& options) {
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const world w(options.world);
  const body_writer bodies(w);
  writer out(journal, options, w);
  generate_stats stats;
  stats.rooms = w.rooms();
  stats.accounts = w.accounts();

  const auto fail = [&](hibiki::error e) -> result<generate_stats> {
    out.limit().drain();
    return e;
  };

  // Rooms first, with their members, created a day before the first post.
  for (std::uint32_t i = 1; i <= w.rooms(); ++i) {
    const room_id r{i};
    const auto& members = w.members(r);
    room::create_room c;
    c.actor = members.front();
    c.room = r;
    c.name = w.room_name(r);
    c.members.assign(members.begin() + 1, members.end());
    c.now = options.start_time - 86'400 + i;
    if (auto n = out.run(r, c); !n) return fail(n.error());
  }

  random_stream rng(options.world.seed ^ message_stream);
  const double step = options.messages > 0 ? static_cast<double>(options.span.count()) /
                                                 static_cast<double>(options.messages)
                                           : 0.0;
  for (std::uint64_t i = 0; i < options.messages; ++i) {
    const auto now = options.start_time + static_cast<std::int64_t>(static_cast<double>(i) * step);
    const room_id r = w.pick_room(rng);
    const account_id author = w.pick_author(r, rng);
    room::send_message m;
    m.actor = author;
    m.body = bodies.body(rng, r, author, now, out.state(r).last_message().value);
    m.client_msg_id = "g" + std::to_string(i);
    m.now = now;
    m.author_name = w.name_of(author);
    stats.body_bytes += m.body.size();
    if (auto n = out.run(r, m); !n) return fail(n.error());
    if (!out.state(r).mentions.empty() &&
        out.state(r).mentions.rbegin()->first == out.state(r).last_message())
      ++stats.mentions;
    ++stats.messages;

    // Now and then the author of a recent message edits or deletes it.
    const auto roll = rng.below(1000);
    if (roll < options.edits_per_mille + options.deletes_per_mille) {
      auto& s = out.state(r);
      if (auto id = recent_message(s, rng)) {
        const account_id owner = s.messages[id->value - 1].author;
        if (roll < options.edits_per_mille) {
          room::edit_message e;
          e.actor = owner;
          e.message = *id;
          e.body = bodies.body(rng, r, owner, now, id->value);
          e.now = now;
          e.author_name = w.name_of(owner);
          if (auto n = out.run(r, e); !n) return fail(n.error());
          ++stats.edits;
        } else {
          if (auto n = out.run(r, room::delete_message{owner, *id, now}); !n)
            return fail(n.error());
          ++stats.deletes;
        }
      }
    }
    if (options.progress && options.progress_every > 0 && (i + 1) % options.progress_every == 0)
      options.progress(i + 1, elapsed());
    if ((i & 0xffff) == 0 && out.limit().failed()) break;
  }
  if (auto failure = out.limit().drain()) return *failure;
  stats.events = out.events();
  stats.seconds = elapsed();
  const bool just_reported =
      options.progress_every > 0 && stats.messages % options.progress_every == 0;
  if (options.progress && !just_reported) options.progress(stats.messages, stats.seconds);
  return stats;
}

}  // namespace hibiki::bench::search
