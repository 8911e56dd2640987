#pragma once
/// Reads another process's CPU time and resident memory from /proc (Linux only).

#include <optional>

namespace hibiki::bench {

struct proc_sample {
  double cpu_seconds = 0;  ///< utime + stime
  double rss_mib = 0;      ///< VmRSS
  double hwm_mib = 0;      ///< VmHWM, the peak RSS
};

/// Nothing when the process does not exist or /proc cannot be read.
std::optional<proc_sample> read_proc(long pid);

}  // namespace hibiki::bench
