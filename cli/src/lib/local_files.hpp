#pragma once
/// The local side of `hibiki upload` and `hibiki download`: a descriptor closed once, the
/// progress line a terminal gets, and the temporary file a download is written to before it takes
/// its name.

#include <chrono>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>

#include "hibiki/core/result.hpp"

namespace hibiki::cli {

/// Closes a descriptor when its owner goes.
class fd_guard {
 public:
  explicit fd_guard(int fd) : fd_(fd) {}
  ~fd_guard() { close(); }
  fd_guard(const fd_guard&) = delete;
  fd_guard& operator=(const fd_guard&) = delete;
  int get() const { return fd_; }
  /// Closes now; -1 with errno set when close fails (a write-back error shows up here).
  int close();

 private:
  int fd_;
};

/// "12.3 MiB".
std::string human_size(std::uint64_t bytes);

/// One line on stderr, redrawn as bytes move, only when stderr is a terminal (a script or a log
/// gets no carriage returns). Redrawn at most every 100 ms, and always at the last byte.
class progress_line {
 public:
  progress_line(std::string what, std::uint64_t total);
  ~progress_line() { finish(); }
  progress_line(const progress_line&) = delete;
  progress_line& operator=(const progress_line&) = delete;

  void operator()(std::uint64_t done);
  /// Ends the line (once something was drawn).
  void finish();

 private:
  std::string what_;
  std::uint64_t total_;
  bool on_;
  bool shown_ = false;
  std::chrono::steady_clock::time_point last_{};
};

/// A download's `.hibiki-download-XXXXXX` in the destination's directory: removed when it goes
/// without being placed, and by SIGINT, SIGTERM or SIGHUP meanwhile (no partial download is left
/// under a name the user does not know).
class temp_file {
 public:
  /// Created with the mode a new file gets under the umask. Errors: internal (cannot create).
  static result<std::unique_ptr<temp_file>> create(const std::filesystem::path& dir);
  ~temp_file();
  temp_file(const temp_file&) = delete;
  temp_file& operator=(const temp_file&) = delete;

  int fd() const { return fd_.get(); }

  /// Flushes to disk and moves the file to `dest`; without `replace`, an existing `dest` (even
  /// one that appeared meanwhile) is kept and refused. Errors: internal.
  status place(const std::filesystem::path& dest, bool replace);

 private:
  temp_file(int fd, std::string path) : fd_(fd), path_(std::move(path)) {}
  fd_guard fd_;
  std::string path_;
  bool kept_ = false;
};

}  // namespace hibiki::cli
