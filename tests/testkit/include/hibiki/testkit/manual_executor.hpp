#pragma once
/// An io_executor whose tasks run only when the test runs them, on the test's thread. With it,
/// recoveries and read queries complete at points the test chooses.

#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>

#include "io_executor.hpp"

namespace hibiki::testkit {

class manual_executor final : public actors::io_executor {
 public:
  void post(std::function<void()> fn) override;

  std::size_t pending() const;
  /// Runs the oldest task; false when there was none.
  bool run_one();
  /// Runs tasks until none is left (including tasks posted meanwhile); returns how many ran.
  std::size_t run_all();

 private:
  mutable std::mutex mutex_;
  std::deque<std::function<void()>> queue_;
};

}  // namespace hibiki::testkit
