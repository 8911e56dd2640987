/// Reading this process's figures from /proc/self/stat.

#include <catch2/catch.hpp>

#include "process_stats.hpp"

using hibiki::metrics::parse_proc_stat;

TEST_CASE("proc stat: CPU, start time and resident memory from their fields", "[metrics]") {
  // pid (comm with ') ' inside) state ... utime=250 stime=50 ... starttime=1000 vsize rss=300
  const std::string stat =
      "4242 (hib ki) x) S 1 4242 4242 0 -1 4194560 100 0 0 0 250 50 0 0 20 0 9 0 1000 123456 "
      "300 18446744073709551615 1 1 0 0 0 0 0 0 0 0 0 0 17 1 0 0 0 0 0\n";
  auto p = parse_proc_stat(stat, 100, 4096, 1.7e9);
  REQUIRE(p);
  CHECK(p->cpu_seconds == Approx(3.0));
  CHECK(p->start_time_seconds == Approx(1.7e9 + 10));
  CHECK(p->resident_bytes == 300u * 4096u);
}

TEST_CASE("proc stat: malformed text gives nothing", "[metrics]") {
  CHECK_FALSE(parse_proc_stat("", 100, 4096, 0));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 2 3", 100, 4096, 0));
  CHECK_FALSE(parse_proc_stat("1 no-parens S 1 2 3 4 5 6 7 8 9 10 11 12 13 14 15 16 17 18 19 20 21",
                              100, 4096, 0));
  CHECK_FALSE(parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 u s 0 0 20 0 1 0 st 1 r 1 1 0\n", 100,
                              4096, 0));
  CHECK_FALSE(
      parse_proc_stat("1 (x) S 1 1 1 0 -1 0 0 0 0 0 1 1 0 0 20 0 1 0 1 1 1 1 1 0\n", 0, 4096, 0));
}
