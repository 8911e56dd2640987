#include "rest_phase.hpp"

#include <algorithm>
#include <chrono>
#include <fstream>
#include <iostream>
#include <mutex>
#include <sstream>
#include <thread>

#include <unistd.h>

namespace hibiki::bench {

using clock_type = std::chrono::steady_clock;

double phase_result::percentile_ms(double p) {
  if (latencies_ms.empty()) return 0;
  std::sort(latencies_ms.begin(), latencies_ms.end());
  auto i = static_cast<std::size_t>(p * static_cast<double>(latencies_ms.size() - 1));
  return latencies_ms[i];
}

namespace {

clock_type::duration seconds(double s) {
  return std::chrono::duration_cast<clock_type::duration>(std::chrono::duration<double>(s));
}

/// utime+stime of `pid` in seconds (/proc/PID/stat fields 14 and 15), 0 when unreadable.
double cpu_seconds(int pid) {
  if (pid <= 0) return 0;
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  // The command name (field 2) may hold spaces: count fields after its closing parenthesis.
  const auto paren = text.rfind(')');
  if (paren == std::string::npos) return 0;
  std::istringstream rest(text.substr(paren + 2));
  std::string field;
  unsigned long long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stoull(field);
    if (i == 15) stime = std::stoull(field);
  }
  return static_cast<double>(utime + stime) / static_cast<double>(sysconf(_SC_CLK_TCK));
}

}  // namespace

phase_result run_phase(const server_address& server, const std::vector<bench_request>& requests,
                       const phase_timing& timing, double rate_per_connection) {
  std::mutex mutex;
  phase_result total;
  total.duration_s = timing.duration_s;
  const auto start = clock_type::now();
  const auto from = start + seconds(timing.warmup_s);
  const auto until = from + seconds(timing.duration_s);
  const auto interval =
      rate_per_connection > 0 ? seconds(1.0 / rate_per_connection) : clock_type::duration::zero();
  std::vector<std::thread> threads;
  for (std::size_t i = 0; i < requests.size(); ++i) {
    threads.emplace_back([&, i] {
      const auto& r = requests[i];
      phase_result mine;
      try {
        boost::asio::io_context ioc;
        rest_conn c(ioc, server);
        // Spread the connections' schedules over one interval so they do not fire together.
        auto next = start + interval * static_cast<long>(i) / static_cast<long>(requests.size());
        while (true) {
          auto scheduled = clock_type::now();
          if (rate_per_connection > 0) {
            next += interval;
            scheduled = next;
            if (scheduled >= until) break;
            std::this_thread::sleep_until(scheduled);
          } else if (scheduled >= until) {
            break;
          }
          auto [status, body] = c.call(r.method, r.target, r.token, r.body,
                                       r.body.empty() ? "" : "application/x-www-form-urlencoded");
          const auto done = clock_type::now();
          if (scheduled < from) continue;
          if (status == r.expected) {
            ++mine.ok;
            mine.latencies_ms.push_back(
                std::chrono::duration<double, std::milli>(done - scheduled).count());
          } else {
            ++mine.failed;
            if (mine.failed == 1)
              std::cerr << "unexpected answer: HTTP " << status << " " << body.substr(0, 200)
                        << "\n";
          }
        }
      } catch (const std::exception& ex) {
        std::cerr << "connection failed: " << ex.what() << "\n";
        ++mine.failed;
      }
      std::lock_guard lock(mutex);
      total.ok += mine.ok;
      total.failed += mine.failed;
      total.latencies_ms.insert(total.latencies_ms.end(), mine.latencies_ms.begin(),
                                mine.latencies_ms.end());
    });
  }
  const auto wall_us = [] {
    return std::chrono::duration_cast<std::chrono::microseconds>(
               std::chrono::system_clock::now().time_since_epoch())
        .count();
  };
  std::this_thread::sleep_until(from);
  const double cpu_from = cpu_seconds(timing.server_pid);
  total.window_from_us = wall_us();
  std::this_thread::sleep_until(until);
  const double cpu_until = cpu_seconds(timing.server_pid);
  total.window_until_us = wall_us();
  for (auto& t : threads) t.join();
  total.server_cpu_s = cpu_until - cpu_from;
  return total;
}

}  // namespace hibiki::bench
