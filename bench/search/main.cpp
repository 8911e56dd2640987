/// hibiki_search_bench: the search and projection benchmark (bench/README.md, "Search").
///
///   hibiki_search_bench generate --dir DIR [--messages N] [--rooms R] [--seed S] ...
///
/// `generate` writes a chat corpus into a fresh RocksDB journal under DIR/data (see generator.hpp).
#include <cstdio>
#include <cstring>
#include <stdexcept>

#include "commands.hpp"

namespace {

void usage() {
  std::fprintf(stderr,
               "usage: hibiki_search_bench generate --dir DIR [--messages N] [--rooms R]\n"
               "                                    [--rooms-per-account K] [--seed S]\n"
               "                                    [--edits-per-mille E] [--deletes-per-mille D]\n"
               "                                    [--read-models on|off] [--sync on|off]\n"
               "                                    [--in-flight N]\n"
               "       hibiki_search_bench index --dir DIR [--batch B] [--via runner|loop]\n"
               "                                 [--language english|none|...] [--shards N]\n"
               "       hibiki_search_bench query --dir DIR [--queries PER_KIND] [--searchers N]\n"
               "                                 [--limit L] [--warmup N] [--seed S]\n"
               "                                 [--language english|none|...] [--shards N]\n"
               "       hibiki_search_bench sample [--count N] [--rooms R] [--seed S]\n");
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hibiki::bench::search;
  if (argc < 2) {
    usage();
    return 2;
  }
  try {
    const args a(argc, argv, 2);
    if (std::strcmp(argv[1], "generate") == 0) return generate_command(a);
    if (std::strcmp(argv[1], "sample") == 0) return sample_command(a);
    if (std::strcmp(argv[1], "index") == 0) return index_command(a);
    if (std::strcmp(argv[1], "query") == 0) return query_command(a);
    usage();
    return 2;
  } catch (const std::invalid_argument& e) {
    std::fprintf(stderr, "%s\n", e.what());
    usage();
    return 2;
  }
}
