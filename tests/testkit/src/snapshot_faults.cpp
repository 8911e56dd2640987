#include "hibiki/testkit/snapshot_faults.hpp"

namespace hibiki::testkit {

void snapshot_faults::rebind(persistence::snapshot_store& inner) {
  std::lock_guard lock(mutex_);
  inner_ = &inner;
}

status snapshot_faults::save(const persistence::snapshot& s) {
  persistence::snapshot_store* inner = nullptr;
  {
    std::lock_guard lock(mutex_);
    ++saves_;
    if (save_error_) {
      ++failed_saves_;
      return *save_error_;
    }
    inner = inner_;
  }
  return inner->save(s);
}

result<std::optional<persistence::snapshot>> snapshot_faults::load(
    const entity_id& entity, const persistence::snapshot_criteria& criteria) {
  persistence::snapshot_store* inner = nullptr;
  bool corrupt = false;
  {
    std::lock_guard lock(mutex_);
    ++loads_;
    if (load_error_) return *load_error_;
    inner = inner_;
    corrupt = corrupt_;
  }
  auto got = inner->load(entity, criteria);
  // Bytes no snapshot codec accepts: a version byte no codec has ever written.
  if (corrupt && got && got->has_value()) (*got)->data.assign({0xff, 0xfe, 0x00});
  return got;
}

status snapshot_faults::remove(const entity_id& entity, seq_nr seq) {
  return inner_->remove(entity, seq);
}

status snapshot_faults::remove_matching(const entity_id& entity,
                                        const persistence::snapshot_criteria& criteria) {
  return inner_->remove_matching(entity, criteria);
}

void snapshot_faults::fail_saves(std::optional<hibiki::error> err) {
  std::lock_guard lock(mutex_);
  save_error_ = std::move(err);
}

void snapshot_faults::fail_loads(std::optional<hibiki::error> err) {
  std::lock_guard lock(mutex_);
  load_error_ = std::move(err);
}

void snapshot_faults::corrupt_loads(bool on) {
  std::lock_guard lock(mutex_);
  corrupt_ = on;
}

std::size_t snapshot_faults::saves() const {
  std::lock_guard lock(mutex_);
  return saves_;
}

std::size_t snapshot_faults::failed_saves() const {
  std::lock_guard lock(mutex_);
  return failed_saves_;
}

std::size_t snapshot_faults::loads() const {
  std::lock_guard lock(mutex_);
  return loads_;
}

}  // namespace hibiki::testkit
