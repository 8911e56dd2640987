#include "proc_stats.hpp"

#include <unistd.h>

#include <fstream>
#include <sstream>
#include <string>

namespace hibiki::bench {
namespace {

/// Kibibytes of a "VmRSS:   1234 kB" line of /proc/PID/status.
double status_kib(const std::string& status, const std::string& key) {
  auto at = status.find(key);
  if (at == std::string::npos) return 0;
  std::istringstream in(status.substr(at + key.size()));
  double kib = 0;
  in >> kib;
  return kib;
}

}  // namespace

std::optional<proc_sample> read_proc(long pid) {
  const std::string dir = "/proc/" + std::to_string(pid);
  std::ifstream stat_file(dir + "/stat");
  std::string stat((std::istreambuf_iterator<char>(stat_file)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces and parentheses: fields resume after the last ')'.
  auto close = stat.rfind(')');
  if (close == std::string::npos) return std::nullopt;
  std::istringstream fields(stat.substr(close + 1));
  std::string skip;
  // After ')' come fields 3..; utime is field 14 and stime field 15.
  for (int field = 3; field < 14; ++field) fields >> skip;
  unsigned long long utime = 0, stime = 0;
  if (!(fields >> utime >> stime)) return std::nullopt;

  std::ifstream status_file(dir + "/status");
  std::string status((std::istreambuf_iterator<char>(status_file)),
                     std::istreambuf_iterator<char>());
  proc_sample s;
  s.cpu_seconds = static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
  s.rss_mib = status_kib(status, "VmRSS:") / 1024.0;
  s.hwm_mib = status_kib(status, "VmHWM:") / 1024.0;
  return s;
}

}  // namespace hibiki::bench
