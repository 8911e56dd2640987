#pragma once
/// The frames waiting to be written to one connection, in order: the subset of std::deque's
/// interface ws_session uses, on a vector that allocates nothing while the connection is idle.
/// (libstdc++'s std::deque allocates about 600 bytes as soon as it is constructed, on every
/// connection, idle or not.)
///
/// Frames are taken from the front by moving a head index; once the last one is taken the
/// vector is emptied (its capacity kept for the next burst, unless the burst was large: then it
/// is released, so a connection that once received a long history page does not keep the room
/// for it).

#include <cstddef>
#include <memory>
#include <string>
#include <vector>

namespace hibiki::gateway {

class frame_queue {
 public:
  using frame = std::shared_ptr<const std::string>;

  bool empty() const { return head_ == frames_.size(); }
  std::size_t size() const { return frames_.size() - head_; }
  frame& front() { return frames_[head_]; }
  frame& back() { return frames_.back(); }

  void push_back(frame f) { frames_.push_back(std::move(f)); }
  void pop_front() {
    frames_[head_].reset();
    if (++head_ == frames_.size()) clear();
  }
  void pop_back() {
    frames_.pop_back();
    if (head_ == frames_.size()) clear();
  }
  void clear() {
    frames_.clear();
    head_ = 0;
    if (frames_.capacity() > kept_capacity) frames_.shrink_to_fit();
  }

 private:
  /// Capacity kept across bursts (frames, 16 bytes each).
  static constexpr std::size_t kept_capacity = 64;

  std::vector<frame> frames_;
  std::size_t head_ = 0;  ///< frames_[0, head_) were taken (their pointers reset)
};

}  // namespace hibiki::gateway
