#pragma once
/// What `hibiki_search_bench generate` wrote into a benchmark directory, saved next to the data
/// (`DIR/search-bench.json`) so that `index` and `query` use the same world and report against the
/// same counts.
///
/// A benchmark directory holds: `data/` (the RocksDB database: journal and, with --read-models,
/// read models; a hibikid can open it with --data-dir), the search index (under `index/`) and the
/// manifest.

#include <cstdint>
#include <filesystem>
#include <string>

#include "corpus.hpp"
#include "generator.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::bench::search {

struct manifest {
  world_options world;
  generate_stats generated;
  bool sync = false;
  bool read_models = false;
};

std::filesystem::path data_dir(const std::filesystem::path& dir);
std::filesystem::path index_dir(const std::filesystem::path& dir);

status save_manifest(const std::filesystem::path& dir, const manifest& m);
result<manifest> load_manifest(const std::filesystem::path& dir);

/// Bytes of the regular files under `path` (0 when it does not exist).
std::uint64_t disk_bytes(const std::filesystem::path& path);

}  // namespace hibiki::bench::search
