#pragma once
/// One measured phase of the REST benchmark: one thread and one keep-alive connection per
/// request slot, each sending its request again and again, either as fast as answers come
/// (closed loop) or on a fixed schedule (open loop; a request's latency counts from its scheduled
/// time, so a server that falls behind shows it: no coordinated omission).

#include <cstdint>
#include <string>
#include <vector>

#include <boost/beast/http/verb.hpp>

#include "rest_client.hpp"

namespace hibiki::bench {

/// The request one connection repeats.
struct bench_request {
  boost::beast::http::verb method = boost::beast::http::verb::get;
  std::string target;
  std::string token;
  std::string body;         ///< form-encoded; empty for GET
  unsigned expected = 200;  ///< the status that counts as answered
};

struct phase_timing {
  double warmup_s = 2;     ///< not counted. Default: 2
  double duration_s = 10;  ///< the measured window. Default: 10
  int server_pid = 0;      ///< when set, the server's CPU time over the window. Default: 0 (off)
};

struct phase_result {
  std::uint64_t ok = 0;      ///< answers with the expected status inside the window
  std::uint64_t failed = 0;  ///< other statuses and broken connections
  double duration_s = 0;
  std::vector<double> latencies_ms;  ///< of the ok answers
  double server_cpu_s = 0;           ///< utime+stime of timing.server_pid over the window
  /// The measured window in microseconds since the Unix epoch, to match with the server's logs
  /// (bench/rest_bench.sh counts the RocksDB flushes and compactions that ran inside it).
  std::int64_t window_from_us = 0;
  std::int64_t window_until_us = 0;

  /// Server CPU milliseconds per answered request (0 without a pid): what a request costs,
  /// whatever else the machine runs.
  double cpu_ms_per_request() const {
    return ok > 0 ? server_cpu_s * 1000.0 / static_cast<double>(ok) : 0;
  }

  double per_second() const { return duration_s > 0 ? static_cast<double>(ok) / duration_s : 0; }
  /// The p-quantile (0..1) of the latencies; sorts them.
  double percentile_ms(double p);
};

/// Runs one phase; `rate_per_connection` 0 is the closed loop.
phase_result run_phase(const server_address& server, const std::vector<bench_request>& requests,
                       const phase_timing& timing, double rate_per_connection);

}  // namespace hibiki::bench
