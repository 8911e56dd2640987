#pragma once
/// The embedded backend: journal, snapshot store and read models in one RocksDB database under
/// `--data-dir`, one column family each. Appends from many entities are group-committed: one
/// writer thread gathers every waiting append into one synced WriteBatch, so each acknowledged
/// append is on disk and throughput is not one fsync per message.

#include <cstddef>
#include <memory>
#include <string>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/backend.hpp"

namespace hibiki::metrics {
class registry;
}

namespace hibiki::persistence {

struct rocksdb_options {
  /// Directory of the database; created when missing.
  std::string path;
  /// fsync each group commit. Default: true. Only tests and benchmarks of the CPU path turn it off.
  bool sync = true;
  /// Largest encoded event accepted. Default: 1 MiB.
  std::size_t max_event_bytes = 1 << 20;
  /// Most appends gathered into one group commit. Default: 4096.
  std::size_t max_batch_appends = 4096;
  /// Block cache size. Default: 64 MiB.
  std::size_t block_cache_bytes = 64 << 20;
  /// Memtable budget shared by every column family: past it RocksDB flushes the largest one.
  /// Without it each of the ~10 column families could hold 64 MiB. Default: 64 MiB.
  std::size_t write_buffer_bytes = 64 << 20;
  /// Where group commits and RocksDB memory are reported (metrics/README.md). Default: null = not
  /// recorded.
  std::shared_ptr<metrics::registry> metrics;
};

class rocksdb_backend : public backend {
 public:
  static result<std::unique_ptr<rocksdb_backend>> open(const rocksdb_options& options);

  /// Finishes every append already queued (their callbacks run), then stops the writer thread.
  /// Appends after close fail with `unavailable`. Idempotent; the destructor calls it.
  void close() override = 0;
};

}  // namespace hibiki::persistence
