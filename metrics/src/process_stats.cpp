#include "process_stats.hpp"

#include <unistd.h>

#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace hibiki::metrics {
namespace {

std::optional<std::string> read_file(const char* path) {
  std::ifstream in(path);
  if (!in) return std::nullopt;
  std::ostringstream out;
  out << in.rdbuf();
  return out.str();
}

/// "btime N" of /proc/stat: the boot time, Unix seconds.
double boot_time() {
  auto text = read_file("/proc/stat");
  if (!text) return 0;
  std::istringstream in(*text);
  std::string key;
  while (in >> key) {
    if (key == "btime") {
      double v = 0;
      in >> v;
      return v;
    }
    std::string rest;
    std::getline(in, rest);
  }
  return 0;
}

}  // namespace

std::optional<process_stats> parse_proc_stat(const std::string& stat, long ticks_per_second,
                                             long page_size, double boot_time_seconds) {
  // Field 2 (comm) is in parentheses and may hold spaces: split after the last ')'.
  const auto close = stat.rfind(')');
  if (close == std::string::npos || ticks_per_second <= 0) return std::nullopt;
  std::istringstream in(stat.substr(close + 1));
  std::vector<std::string> fields;  // fields[0] is field 3 (state)
  for (std::string f; in >> f;) fields.push_back(f);
  // utime 14, stime 15, starttime 22, rss 24 (1-based, proc(5)).
  if (fields.size() < 22) return std::nullopt;
  try {
    process_stats out;
    const double ticks = static_cast<double>(ticks_per_second);
    out.cpu_seconds = (std::stod(fields[14 - 3]) + std::stod(fields[15 - 3])) / ticks;
    out.start_time_seconds = boot_time_seconds + std::stod(fields[22 - 3]) / ticks;
    const auto pages = std::stoll(fields[24 - 3]);
    out.resident_bytes =
        pages > 0 ? static_cast<std::uint64_t>(pages) * static_cast<std::uint64_t>(page_size) : 0;
    return out;
  } catch (...) {
    return std::nullopt;
  }
}

std::optional<process_stats> read_process_stats() {
  auto stat = read_file("/proc/self/stat");
  if (!stat) return std::nullopt;
  auto out = parse_proc_stat(*stat, ::sysconf(_SC_CLK_TCK), ::sysconf(_SC_PAGESIZE), boot_time());
  if (!out) return std::nullopt;
  std::error_code ec;
  for (auto it = std::filesystem::directory_iterator("/proc/self/fd", ec);
       !ec && it != std::filesystem::directory_iterator(); it.increment(ec)) {
    ++out->open_fds;
  }
  return out;
}

}  // namespace hibiki::metrics
