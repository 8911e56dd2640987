/// hibiki_journal_bench: a journal's JournalPerfSpec and group-commit throughput, on the embedded
/// RocksDB journal (default) or on the Kafka journal (--kafka BROKERS).
///
///   hibiki_journal_bench [--events N] [--serial N] [--entities E] [--threads T] [--sync on|off]
///                        [--payload BYTES] [--dir PATH] [--kafka HOST:PORT] [--partitions P]
///                        [--kafka-config KEY=VALUE]... [--kafka-producers node|partition]
///
/// Without --dir it uses a fresh temp directory and removes it afterwards. With --kafka each run
/// writes a fresh topic (hibiki.bench.<random>) with P partitions (default 16). --serial sets the
/// events of the one-at-a-time and pipelined scenarios (default: --events).

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <random>

#include "hibiki/persistence/kafka_backend.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "journal_scenarios.hpp"

namespace {

struct options {
  std::uint64_t events = 10'000;
  std::uint64_t serial = 0;  ///< 0: same as events
  std::uint64_t entities = 1'000;
  unsigned threads = 64;
  bool sync = true;
  std::size_t payload = 200;
  std::string dir;
  std::string kafka;
  std::uint64_t partitions = 16;
  bool producer_per_partition = false;  ///< --kafka-producers partition (default node)
  std::vector<std::pair<std::string, std::string>> kafka_config;  ///< --kafka-config K=V
};

void usage() {
  std::fprintf(stderr,
               "usage: hibiki_journal_bench [--events N] [--serial N] [--entities E]\n"
               "                            [--threads T] [--sync on|off] [--payload BYTES]\n"
               "                            [--dir PATH] [--kafka HOST:PORT] [--partitions P]\n"
               "                            [--kafka-config KEY=VALUE]...\n"
               "                            [--kafka-producers node|partition]\n");
}

bool parse_count(std::string_view text, std::uint64_t& out) {
  char* end = nullptr;
  const std::string s(text);
  const auto v = std::strtoull(s.c_str(), &end, 10);
  if (s.empty() || *end != '\0' || v == 0) return false;
  out = v;
  return true;
}

bool parse(int argc, char** argv, options& o) {
  for (int i = 1; i < argc; ++i) {
    const std::string_view arg = argv[i];
    if (i + 1 >= argc) return false;
    const std::string_view value = argv[++i];
    std::uint64_t n = 0;
    if (arg == "--events" && parse_count(value, n)) {
      o.events = n;
    } else if (arg == "--serial" && parse_count(value, n)) {
      o.serial = n;
    } else if (arg == "--kafka" && !value.empty()) {
      o.kafka = value;
    } else if (arg == "--kafka-config" && value.find('=') != std::string_view::npos) {
      const auto eq = value.find('=');
      o.kafka_config.emplace_back(std::string(value.substr(0, eq)),
                                  std::string(value.substr(eq + 1)));
    } else if (arg == "--kafka-producers" && (value == "node" || value == "partition")) {
      o.producer_per_partition = value == "partition";
    } else if (arg == "--partitions" && parse_count(value, n) && n <= 1024) {
      o.partitions = n;
    } else if (arg == "--entities" && parse_count(value, n)) {
      o.entities = n;
    } else if (arg == "--threads" && parse_count(value, n) && n <= 1024) {
      o.threads = static_cast<unsigned>(n);
    } else if (arg == "--payload" && parse_count(value, n) && n <= (1 << 20)) {
      o.payload = n;
    } else if (arg == "--sync" && (value == "on" || value == "off")) {
      o.sync = value == "on";
    } else if (arg == "--dir" && !value.empty()) {
      o.dir = value;
    } else {
      return false;
    }
  }
  return true;
}

double percentile_us(std::vector<std::chrono::nanoseconds>& v, double p) {
  if (v.empty()) return 0;
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1));
  std::nth_element(v.begin(), v.begin() + static_cast<std::ptrdiff_t>(k), v.end());
  return static_cast<double>(v[k].count()) / 1000.0;
}

void print(hibiki::bench::scenario_result& r) {
  std::printf("%-44s %8llu events %8.3f s %10.0f events/s", r.name.c_str(),
              static_cast<unsigned long long>(r.events), r.seconds,
              r.seconds > 0 ? static_cast<double>(r.events) / r.seconds : 0.0);
  if (!r.latencies.empty()) {
    std::printf("  commits %6llu  appends/commit %7.1f  p50 %8.1f us  p99 %8.1f us",
                static_cast<unsigned long long>(r.commits),
                r.commits ? static_cast<double>(r.appends) / static_cast<double>(r.commits) : 0.0,
                percentile_us(r.latencies, 0.50), percentile_us(r.latencies, 0.99));
  }
  if (r.failures) std::printf("  FAILURES %llu", static_cast<unsigned long long>(r.failures));
  std::printf("\n");
}

}  // namespace

int main(int argc, char** argv) {
  options o;
  if (!parse(argc, argv, o)) {
    usage();
    return 2;
  }
  bool remove_dir = false;
  if (o.dir.empty()) {
    auto pattern =
        (std::filesystem::temp_directory_path() / "hibiki-journal-bench-XXXXXX").string();
    if (!::mkdtemp(pattern.data())) {
      std::perror("mkdtemp");
      return 1;
    }
    o.dir = pattern;
    remove_dir = true;
  }

  hibiki::persistence::rocksdb_options ro;
  ro.path = o.dir + "/db";
  ro.sync = o.sync;
  hibiki::result<std::unique_ptr<hibiki::persistence::backend>> backend =
      hibiki::error{hibiki::errc::internal, "not opened"};
  std::string topic;
  if (o.kafka.empty()) {
    auto opened = hibiki::persistence::rocksdb_backend::open(ro);
    if (opened)
      backend = std::unique_ptr<hibiki::persistence::backend>(std::move(*opened));
    else
      backend = opened.error();
  } else {
    hibiki::persistence::kafka_options ko;
    ko.brokers = o.kafka;
    topic = "hibiki.bench." + std::to_string(std::random_device{}());
    ko.topic = topic;
    ko.partitions = static_cast<std::int32_t>(o.partitions);
    ko.local = ro;
    ko.extra_config = o.kafka_config;
    ko.producer_per_partition = o.producer_per_partition;
    auto opened = hibiki::persistence::kafka_backend::open(ko);
    if (opened)
      backend = std::unique_ptr<hibiki::persistence::backend>(std::move(*opened));
    else
      backend = opened.error();
  }
  if (!backend) {
    std::fprintf(stderr, "cannot open the journal: %s\n", backend.error().message.c_str());
    return 1;
  }
  auto& b = **backend;
  const std::uint64_t serial = o.serial ? o.serial : o.events;

  std::printf(
      "hibiki_journal_bench: journal=%s%s events=%llu serial=%llu entities=%llu threads=%u "
      "sync=%s payload=%zu B dir=%s%s\n",
      o.kafka.empty() ? "rocksdb" : "kafka topic ", topic.c_str(),
      static_cast<unsigned long long>(o.events), static_cast<unsigned long long>(serial),
      static_cast<unsigned long long>(o.entities), o.threads, o.sync ? "on" : "off", o.payload,
      o.dir.c_str(),
      o.kafka.empty() ? ""
                      : (o.producer_per_partition ? " producers=partition" : " producers=node"));
  int failed = 0;
  for (auto r :
       {hibiki::bench::persist_one_at_a_time(b, serial, o.payload),
        hibiki::bench::persist_pipelined(b, serial, o.payload), hibiki::bench::recover(b, serial),
        hibiki::bench::group_commit(b, o.events, o.entities, o.threads, o.payload)}) {
    print(r);
    failed |= r.failures != 0;
  }
  b.close();
  backend->reset();
  if (remove_dir) {
    std::error_code ec;
    std::filesystem::remove_all(o.dir, ec);
  }
  return failed ? 1 : 0;
}
