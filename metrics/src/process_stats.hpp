#pragma once
/// This process's CPU time, resident memory, open file descriptors and start time, read from
/// /proc (Linux). prometheus-cpp 1.0.1 has no process collector, and the reads are cheap: two
/// small files and one directory listing per scrape.

#include <cstdint>
#include <optional>
#include <string>

namespace hibiki::metrics {

struct process_stats {
  double cpu_seconds = 0;  ///< user + system
  std::uint64_t resident_bytes = 0;
  std::uint64_t open_fds = 0;
  double start_time_seconds = 0;  ///< Unix time
};

/// Empty when /proc cannot be read (not Linux, or a sandbox without it).
std::optional<process_stats> read_process_stats();

/// Parses the text of /proc/self/stat. Exposed for tests. Empty when malformed.
std::optional<process_stats> parse_proc_stat(const std::string& stat, long ticks_per_second,
                                             long page_size, double boot_time_seconds);

}  // namespace hibiki::metrics
