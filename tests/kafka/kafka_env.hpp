#pragma once
/// What the Kafka tests share: the broker of the `kafka` CTest fixture and a factory that opens a
/// Kafka backend on a fresh topic with a fresh local directory.

#include <cstdlib>
#include <fstream>
#include <memory>
#include <stdexcept>
#include <string>

#include "../persistence/journal_helpers.hpp"
#include "../persistence/temp_dir.hpp"
#include "hibiki/persistence/kafka_backend.hpp"

namespace hibiki::testkit {

/// "127.0.0.1:PORT" of the fixture's broker. Throws (so the test FAILS, never skips) when the file
/// named by HIBIKI_TEST_KAFKA_FILE cannot be read.
inline std::string test_brokers() {
  const char* file = std::getenv("HIBIKI_TEST_KAFKA_FILE");
  if (!file || !*file) {
    throw std::runtime_error("HIBIKI_TEST_KAFKA_FILE is not set: run through ctest -L kafka");
  }
  std::ifstream in(file);
  std::string brokers;
  if (!in || !std::getline(in, brokers) || brokers.empty()) {
    throw std::runtime_error(std::string("cannot read the broker address from ") + file);
  }
  return brokers;
}

/// Options for a fresh topic (random name, 3 partitions) and a local db under `dir`.
inline persistence::kafka_options kafka_test_options(const temp_dir& dir,
                                                     const std::string& local = "db") {
  persistence::kafka_options o;
  o.brokers = test_brokers();
  o.topic = random_id("hibiki-test");
  o.partitions = 3;
  o.replication_factor = 1;
  o.transactional_id_prefix = random_id("txn");
  o.local.path = dir.sub(local);
  o.local.sync = false;
  o.open_timeout = std::chrono::seconds(60);
  return o;
}

inline std::unique_ptr<persistence::kafka_backend> open_kafka(
    const persistence::kafka_options& options) {
  auto opened = persistence::kafka_backend::open(options);
  if (!opened) throw std::runtime_error("cannot open kafka backend: " + opened.error().message);
  return std::move(*opened);
}

/// The conformance suites' factory (see tests/persistence/backend_factories.hpp).
struct kafka_factory {
  static constexpr std::size_t max_event_bytes = 64 * 1024;

  kafka_factory() : options(kafka_test_options(dir)) {
    options.max_event_bytes = max_event_bytes;
    backend = open_kafka(options);
  }
  ~kafka_factory() {
    if (backend) backend->close();
  }

  persistence::journal& journal() { return backend->journal(); }
  persistence::snapshot_store& snapshots() { return backend->snapshots(); }

  temp_dir dir{"hibiki-kafka"};
  persistence::kafka_options options;
  std::unique_ptr<persistence::kafka_backend> backend;
};

}  // namespace hibiki::testkit
