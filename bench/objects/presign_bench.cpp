// How fast hibikid signs upload URLs (the target: >= 5,000/s with p99 <= 10 ms, so signing
// is never the bottleneck) and how fast the directory store checks them. Single thread; prints
// rate and latency percentiles. Usage: hibiki_presign_bench [COUNT]
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <vector>

#include "hibiki/persistence/directory_store.hpp"
#include "hibiki/persistence/s3_store.hpp"

using namespace hibiki::persistence;
using clock_type = std::chrono::steady_clock;

namespace {

void report(const char* what, std::vector<double>& micros, double seconds) {
  std::sort(micros.begin(), micros.end());
  auto at = [&](double q) { return micros[static_cast<std::size_t>(q * (micros.size() - 1))]; };
  std::printf("%-28s %9.0f/s  p50 %6.1f us  p99 %6.1f us  max %7.1f us\n", what,
              static_cast<double>(micros.size()) / seconds, at(0.5), at(0.99), micros.back());
}

template <class F>
void run(const char* what, int count, F call) {
  std::vector<double> micros;
  micros.reserve(count);
  const auto start = clock_type::now();
  for (int i = 0; i < count; ++i) {
    const auto t0 = clock_type::now();
    if (!call(i)) {
      std::fprintf(stderr, "%s failed at %d\n", what, i);
      std::exit(1);
    }
    micros.push_back(std::chrono::duration<double, std::micro>(clock_type::now() - t0).count());
  }
  report(what, micros, std::chrono::duration<double>(clock_type::now() - start).count());
}

}  // namespace

int main(int argc, char** argv) {
  const int count = argc > 1 ? std::atoi(argv[1]) : 100'000;
  s3_store_options s3;
  s3.endpoint = "http://127.0.0.1:9000";
  s3.credentials = {"hibiki-bench", "bench-secret-0123456789"};
  auto store = open_s3_store(s3);
  if (!store) return 1;
  const auto now = std::chrono::system_clock::now();
  run("S3 presign_put", count, [&](int i) {
    return (*store)
        ->presign_put("rooms/" + std::to_string(i % 1000) + "/f" + std::to_string(i), 52'428'800,
                      "application/pdf", std::chrono::seconds(900), now)
        .ok();
  });
  run("S3 presign_get", count, [&](int i) {
    return (*store)
        ->presign_get("rooms/1/f" + std::to_string(i), "\xe5\xa0\xb1\xe5\x91\x8a.pdf",
                      std::chrono::seconds(30), now)
        .ok();
  });

  const auto dir = std::filesystem::temp_directory_path() / "hibiki-presign-bench";
  auto files = directory_store::open({dir.string(), "http://127.0.0.1:8080"});
  if (!files) return 1;
  std::vector<std::string> targets;
  for (int i = 0; i < 1000; ++i) {
    auto url = (*files)->presign_put("k" + std::to_string(i), 11, "text/plain",
                                     std::chrono::seconds(900), now);
    targets.push_back(url->url.substr(url->url.find("/files/")));
  }
  const std::vector<sigv4::name_value> headers{
      {"host", "127.0.0.1:8080"}, {"content-length", "11"}, {"content-type", "text/plain"}};
  run("directory store authorize", count, [&](int i) {
    return (*files)->authorize("PUT", targets[i % targets.size()], headers, now).ok();
  });
  std::filesystem::remove_all(dir);
}
