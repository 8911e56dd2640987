#pragma once
/// The backends the conformance suites (journal_conformance.hpp, snapshot_conformance.hpp) run
/// against. Every case is a Catch2 TEMPLATE_LIST_TEST_CASE over `conformance_backends`, so a new
/// backend runs the very same cases.
///
/// To add a backend (e.g. Kafka):
///   1. Write a factory struct like `rocksdb_factory` below. It is default-constructible, opens a
///      fresh backend in its constructor (the suites use a fresh entity id per test, so sharing one
///      cluster/topic between tests is fine) and cleans up in its destructor. It exposes
///        persistence::journal& journal();
///        persistence::snapshot_store& snapshots();
///        static constexpr std::size_t max_event_bytes;  // the event size limit it configured
///   2. Add it to `conformance_backends`. Backends that need outside services (a Kafka broker) go
///      in their own test binary with its own label ("kafka"), including the suite headers there
///      with their own list.

#include <memory>
#include <stdexcept>
#include <tuple>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "temp_dir.hpp"

namespace hibiki::testkit {

/// The embedded backend in a fresh temp directory, unsynced (the suite checks behaviour, not fsync;
/// crash durability has its own test with sync on).
struct rocksdb_factory {
  static constexpr std::size_t max_event_bytes = 64 * 1024;

  rocksdb_factory() {
    persistence::rocksdb_options options;
    options.path = dir.sub("db");
    options.sync = false;
    options.max_event_bytes = max_event_bytes;
    auto opened = persistence::rocksdb_backend::open(options);
    if (!opened) throw std::runtime_error("cannot open backend: " + opened.error().message);
    backend = std::move(*opened);
  }

  persistence::journal& journal() { return backend->journal(); }
  persistence::snapshot_store& snapshots() { return backend->snapshots(); }

  temp_dir dir;
  std::unique_ptr<persistence::rocksdb_backend> backend;
};

using conformance_backends = std::tuple<rocksdb_factory>;

}  // namespace hibiki::testkit
