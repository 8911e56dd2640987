#pragma once
/// FUZZ_CHECK: an invariant of a fuzz target. When it does not hold the target prints the
/// condition and aborts; libFuzzer reports that as a crash and saves the input, like a sanitizer
/// finding.

#include <cstdio>
#include <cstdlib>

namespace hibiki::fuzz {

[[noreturn]] inline void invariant_failed(const char* condition, const char* file, int line) {
  std::fprintf(stderr, "%s:%d: invariant does not hold: %s\n", file, line, condition);
  std::abort();
}

}  // namespace hibiki::fuzz

#define FUZZ_CHECK(condition) \
  ((condition) ? (void)0 : ::hibiki::fuzz::invariant_failed(#condition, __FILE__, __LINE__))
