#pragma once
/// A snapshot store wrapper that injects faults, the snapshot side of the deferred journal: saves
/// that fail (nothing written), loads that fail, loads whose bytes do not decode. Otherwise it
/// passes through to the real store and counts what the entities asked of it.

#include <cstddef>
#include <mutex>
#include <optional>

#include "hibiki/persistence/snapshot_store.hpp"

namespace hibiki::testkit {

class snapshot_faults final : public persistence::snapshot_store {
 public:
  explicit snapshot_faults(persistence::snapshot_store& inner) : inner_(&inner) {}

  /// Points at another store (after the fixture reopened storage).
  void rebind(persistence::snapshot_store& inner);

  status save(const persistence::snapshot& s) override;
  result<std::optional<persistence::snapshot>> load(
      const entity_id& entity, const persistence::snapshot_criteria& criteria) override;
  status remove(const entity_id& entity, seq_nr seq) override;
  status remove_matching(const entity_id& entity,
                         const persistence::snapshot_criteria& criteria) override;

  /// While set, every save answers `err` and writes nothing. Reset with std::nullopt.
  void fail_saves(std::optional<hibiki::error> err);
  /// While set, every load answers `err`. Reset with std::nullopt.
  void fail_loads(std::optional<hibiki::error> err);
  /// While true, a load that finds a snapshot returns it with bytes that do not decode.
  void corrupt_loads(bool on);

  std::size_t saves() const;         ///< saves asked for (failed ones included)
  std::size_t failed_saves() const;  ///< saves answered with the injected error
  std::size_t loads() const;         ///< loads asked for

 private:
  persistence::snapshot_store* inner_;
  mutable std::mutex mutex_;
  std::optional<hibiki::error> save_error_;
  std::optional<hibiki::error> load_error_;
  bool corrupt_ = false;
  std::size_t saves_ = 0;
  std::size_t failed_saves_ = 0;
  std::size_t loads_ = 0;
};

}  // namespace hibiki::testkit
