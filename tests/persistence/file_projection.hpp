#pragma once
/// A projection for tests whose output is the list of events it applied, kept with its positions
/// in one append-only file: apply() writes one line per event ("E entity seq partition offset"),
/// one write() each (so a kill lands mid-batch), then a commit line ("C p:o p:o ..."), then
/// fsyncs. Loading keeps everything up to the last commit line and cuts the rest off, so a crash
/// mid-apply leaves the previous output and positions: the projection contract (projection.hpp).

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <fstream>
#include <sstream>
#include <stdexcept>
#include <string>
#include <vector>

#include "hibiki/persistence/projection.hpp"

namespace hibiki::testkit {

struct applied_event {
  entity_id entity;
  seq_nr seq = 0;
  std::int32_t partition = 0;
  std::int64_t offset = 0;
  friend bool operator==(const applied_event&, const applied_event&) = default;
};

/// What a projection file holds up to its last commit.
struct projection_file_state {
  std::vector<applied_event> events;
  persistence::feed_positions positions;
  std::size_t committed_bytes = 0;
};

/// Reads `path` (missing = empty).
inline projection_file_state load_projection_file(const std::string& path) {
  projection_file_state st;
  std::ifstream in(path, std::ios::binary);
  std::string line;
  std::vector<applied_event> pending;
  std::size_t at = 0;
  while (std::getline(in, line)) {
    if (in.eof()) break;  // a last line without its newline was cut by a crash
    at += line.size() + 1;
    std::istringstream fields(line);
    char kind = 0;
    fields >> kind;
    if (kind == 'E') {
      applied_event e;
      fields >> e.entity >> e.seq >> e.partition >> e.offset;
      pending.push_back(e);
    } else if (kind == 'C') {
      st.positions.clear();
      std::string pos;
      while (fields >> pos) {
        const auto colon = pos.find(':');
        st.positions[std::stoi(pos.substr(0, colon))] = std::stoll(pos.substr(colon + 1));
      }
      st.events.insert(st.events.end(), pending.begin(), pending.end());
      pending.clear();
      st.committed_bytes = at;
    }
  }
  return st;
}

class file_projection final : public persistence::projection {
 public:
  explicit file_projection(std::string path, std::string name = "test")
      : path_(std::move(path)), name_(std::move(name)) {}
  ~file_projection() override {
    if (fd_ >= 0) ::close(fd_);
  }

  std::string name() const override { return name_; }

  result<persistence::feed_positions> committed() override {
    ++committed_calls;
    auto st = load_projection_file(path_);
    if (fd_ >= 0) ::close(fd_);
    fd_ = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (fd_ < 0) return error{errc::unavailable, "cannot open " + path_};
    // Whatever follows the last commit was never committed: cut it.
    if (::ftruncate(fd_, static_cast<off_t>(st.committed_bytes)) != 0)
      return error{errc::unavailable, "cannot truncate " + path_};
    return st.positions;
  }

  status apply(const std::vector<persistence::feed_record>& batch,
               const persistence::feed_positions& next) override {
    if (fail_next > 0) {
      --fail_next;
      return {errc::unavailable, "injected apply failure"};
    }
    if (throw_next > 0) {
      --throw_next;
      throw std::runtime_error("injected exception");
    }
    if (fd_ < 0) return {errc::internal, "apply before committed()"};
    for (const auto& r : batch) {
      const auto line = "E " + r.event.entity + " " + std::to_string(r.event.seq) + " " +
                        std::to_string(r.partition) + " " + std::to_string(r.offset) + "\n";
      if (!write_all(line)) return {errc::unavailable, "write failed"};
      if (event_delay_us > 0) ::usleep(event_delay_us);
    }
    std::string commit = "C";
    for (const auto& [p, o] : next) commit += " " + std::to_string(p) + ":" + std::to_string(o);
    commit += "\n";
    if (!write_all(commit) || ::fsync(fd_) != 0) return {errc::unavailable, "commit failed"};
    ++applies;
    return {};
  }

  /// Replayed events leave no line (no output), only the commit of `next`; counted in `replayed`.
  status replay(const std::vector<persistence::feed_record>& batch,
                const persistence::feed_positions& next) override {
    if (fd_ < 0) return {errc::internal, "replay before committed()"};
    std::string commit = "C";
    for (const auto& [p, o] : next) commit += " " + std::to_string(p) + ":" + std::to_string(o);
    commit += "\n";
    if (!write_all(commit) || ::fsync(fd_) != 0) return {errc::unavailable, "commit failed"};
    replayed += static_cast<int>(batch.size());
    return {};
  }

  status reset() override {
    ++resets;
    if (fd_ >= 0 && ::ftruncate(fd_, 0) != 0) return {errc::unavailable, "cannot truncate"};
    return {};
  }

  // Test controls and counters (set before the runner starts, or read after it stopped).
  std::atomic<int> fail_next{0};
  std::atomic<int> throw_next{0};
  std::atomic<int> event_delay_us{0};
  std::atomic<int> replayed{0};
  std::atomic<int> applies{0};
  std::atomic<int> resets{0};
  std::atomic<int> committed_calls{0};

 private:
  bool write_all(const std::string& s) {
    std::size_t done = 0;
    while (done < s.size()) {
      const auto n = ::write(fd_, s.data() + done, s.size() - done);
      if (n <= 0) return false;
      done += static_cast<std::size_t>(n);
    }
    return true;
  }

  std::string path_;
  std::string name_;
  int fd_ = -1;
};

}  // namespace hibiki::testkit
