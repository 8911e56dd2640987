#include "hibiki/persistence/open_progress.hpp"

namespace hibiki::persistence {
namespace {

std::string offset_text(std::int64_t offset) {
  return offset < 0 ? std::string("?") : std::to_string(offset);
}

/// "catching_up" -> "catching up".
std::string state_words(std::string state) {
  if (state.empty()) return "in an unknown state";
  for (auto& c : state)
    if (c == '_') c = ' ';
  return state;
}

}  // namespace

std::vector<std::string> opening_partition_lines(const journal_status& status,
                                                 std::size_t max_listed) {
  std::vector<std::string> out;
  std::size_t more = 0;
  for (const auto& p : status.partitions) {
    // Serving, or following with nothing left to index: done. A follower whose end is unknown
    // is listed: nobody can say it caught up.
    if (p.state == "ready") continue;
    if (p.state == "following" && p.lag == 0) continue;
    if (out.size() >= max_listed) {
      ++more;
      continue;
    }
    out.push_back("opening the journal: partition " + std::to_string(p.partition) + " " +
                  state_words(p.state) + " " + offset_text(p.indexed_offset) + "/" +
                  offset_text(p.end_offset));
  }
  if (more != 0) {
    out.push_back("opening the journal: " + std::to_string(more) + " more partition" +
                  (more == 1 ? "" : "s") + " not caught up");
  }
  return out;
}

std::vector<std::string> open_progress::pending() const {
  std::lock_guard lock(mutex_);
  if (source_) {
    auto lines = opening_partition_lines(source_(), max_partitions_listed);
    if (!lines.empty()) return lines;
  }
  return {step_};
}

void open_progress::cancel() {
  cancelled_.store(true);
}

bool open_progress::cancelled() const {
  return cancelled_.load();
}

void open_progress::set_step(std::string step) {
  std::lock_guard lock(mutex_);
  step_ = std::move(step);
}

void open_progress::watch(std::function<journal_status()> source) {
  std::lock_guard lock(mutex_);
  source_ = std::move(source);
}

void open_progress::unwatch() {
  std::lock_guard lock(mutex_);
  source_ = nullptr;
}

}  // namespace hibiki::persistence
