#pragma once
/// The commands of hibiki_search_bench, one file each. Each returns the process exit code and
/// prints its figures for people, then one line of JSON (the last line of stdout) for scripts.

#include "args.hpp"

namespace hibiki::bench::search {

int generate_command(const args& a);
/// Prints message bodies as the generator writes them (no journal): to look at the corpus.
int sample_command(const args& a);
/// Builds the search index of DIR from its journal's feed: messages/s and the index size.
int index_command(const args& a);
/// Query latency over the index of DIR (query_set.hpp): p50/p99 per kind of query and order.
int query_command(const args& a);

}  // namespace hibiki::bench::search
