#pragma once
/// A journal wrapper that holds every async_append until the test completes it (appending to the
/// real journal underneath and running the callback on the test's thread) or fails it (the
/// callback gets the error, nothing is written). Reads pass straight through. It also keeps a log
/// of the appends that succeeded, so a test can see which events an entity persisted.

#include <cstddef>
#include <deque>
#include <mutex>
#include <optional>
#include <vector>

#include "hibiki/persistence/journal.hpp"

namespace hibiki::testkit {

class deferred_journal final : public persistence::journal {
 public:
  explicit deferred_journal(persistence::journal& inner) : inner_(&inner) {}

  /// Points at another journal (after the fixture reopened storage).
  void rebind(persistence::journal& inner) { inner_ = &inner; }

  void async_append(persistence::append_request req, persistence::append_callback done) override;
  status replay(const entity_id& entity, seq_nr from, seq_nr to, std::uint64_t max,
                const std::function<void(const persistence::persisted_event&)>& fn) override;
  result<seq_nr> highest_seq(const entity_id& entity) override;
  status delete_to(const entity_id& entity, seq_nr to) override;

  std::size_t pending() const;
  /// Entities of the held appends, oldest first.
  std::vector<entity_id> pending_entities() const;
  /// Appends the oldest held request to the real journal and runs its callback with the outcome.
  bool complete_next();
  /// Runs the oldest held request's callback with `err`; nothing is written.
  bool fail_next(hibiki::error err);
  /// Completes every held append (including ones added meanwhile); returns how many.
  std::size_t complete_all();

  /// While set, replay and highest_seq answer `err` instead of reading: storage that cannot give
  /// an entity its state, so its recovery fails. Reset with std::nullopt.
  void fail_reads(std::optional<hibiki::error> err);

  /// Every append that succeeded so far, in order.
  std::vector<persistence::append_request> log() const;

 private:
  struct held {
    persistence::append_request req;
    persistence::append_callback done;
  };
  persistence::journal* inner_;
  mutable std::mutex mutex_;
  std::deque<held> held_;
  std::vector<persistence::append_request> log_;
  std::optional<hibiki::error> read_error_;
};

}  // namespace hibiki::testkit
