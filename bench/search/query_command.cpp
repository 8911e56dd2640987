#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "manifest.hpp"
#include "query_set.hpp"

namespace hibiki::bench::search {
namespace {

struct cell {
  std::vector<double> ms;
  std::uint64_t totals = 0;
  std::uint64_t zero_hits = 0;
};

double percentile(std::vector<double> v, double p) {
  if (v.empty()) return 0;
  std::sort(v.begin(), v.end());
  const auto k = static_cast<std::size_t>(p * static_cast<double>(v.size() - 1) + 0.5);
  return v[std::min(k, v.size() - 1)];
}

const char* order_name(persistence::search_order o) {
  return o == persistence::search_order::newest ? "newest" : "relevance";
}

nlohmann::json print_row(const std::string& label, const char* order, const cell& c) {
  const double p50 = percentile(c.ms, 0.50), p99 = percentile(c.ms, 0.99);
  const double max = c.ms.empty() ? 0 : *std::max_element(c.ms.begin(), c.ms.end());
  const double n = static_cast<double>(c.ms.size());
  const double avg_total = n > 0 ? static_cast<double>(c.totals) / n : 0;
  std::printf("%-26s %-9s %5zu %8.2f %8.2f %8.2f %10.0f %8.1f%%\n", label.c_str(), order,
              c.ms.size(), p50, p99, max, avg_total,
              n > 0 ? 100.0 * static_cast<double>(c.zero_hits) / n : 0.0);
  return {{"class", label},         {"order", order},
          {"n", c.ms.size()},       {"p50_ms", p50},
          {"p99_ms", p99},          {"max_ms", max},
          {"avg_total", avg_total}, {"zero_hit_share", n > 0 ? c.zero_hits / n : 0.0}};
}

}  // namespace

int query_command(const args& a) {
  a.allow({"dir", "searchers", "queries", "limit", "seed", "warmup", "language", "shards"});
  if (!a.has("dir")) throw std::invalid_argument("query needs --dir DIR");
  const std::filesystem::path dir = a.text("dir", "");
  query_set_options qo;
  qo.searchers = a.count("searchers", qo.searchers);
  qo.per_cell = a.count("queries", qo.per_cell);
  qo.limit = a.count("limit", qo.limit);
  qo.seed = a.count("seed", qo.seed);
  const auto warmup = a.count("warmup", 100);
  if (qo.searchers == 0 || qo.per_cell == 0)
    throw std::invalid_argument("--searchers and --queries must be at least 1");
  if (qo.limit == 0 || qo.limit > persistence::max_search_limit)
    throw std::invalid_argument("--limit must be 1 to 100");

  auto m = load_manifest(dir);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  // As the index was built (another language or number of shards would empty it).
  persistence::search_options so;
  so.language = a.text("language", so.language);
  so.shards = a.count("shards", so.shards);
  auto index = persistence::search_index::open(index_dir(dir), so);
  if (!index) {
    std::fprintf(stderr, "%s\n", index.error().message.c_str());
    return 1;
  }
  auto docs = (*index)->document_count();
  const world w(m->world);
  const auto queries = make_queries(w, qo);
  double rooms = 0;
  for (const auto& q : queries) rooms += static_cast<double>(q.query.rooms.size());
  rooms /= static_cast<double>(queries.size());

  // Warm-up (not measured): the first queries once, so the figures are of a warm page cache.
  for (std::size_t i = 0; i < std::min<std::size_t>(warmup, queries.size()); ++i)
    (void)(*index)->search(queries[i].query);

  std::map<std::pair<int, int>, cell> cells;  // (class, order) → samples
  std::uint64_t failures = 0;
  const auto started = std::chrono::steady_clock::now();
  for (const auto& q : queries) {
    const auto t0 = std::chrono::steady_clock::now();
    auto answer = (*index)->search(q.query);
    const auto t1 = std::chrono::steady_clock::now();
    if (!answer) {
      if (++failures <= 3)
        std::fprintf(stderr, "query \"%s\" failed: %s\n", q.query.text.c_str(),
                     answer.error().message.c_str());
      continue;
    }
    auto& c = cells[{static_cast<int>(q.kind), static_cast<int>(q.query.order)}];
    c.ms.push_back(std::chrono::duration<double, std::milli>(t1 - t0).count());
    c.totals += answer->total;
    if (answer->total == 0) ++c.zero_hits;
  }
  const double seconds =
      std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();

  const auto index_bytes = disk_bytes(index_dir(dir));
  std::printf(
      "search latency: %llu messages indexed (%llu documents, index %.1f MB), %zu queries,"
      " %zu searchers in %.0f rooms each on average, limit %zu, one thread, warm\n",
      static_cast<unsigned long long>(m->generated.messages),
      static_cast<unsigned long long>(docs ? *docs : 0), static_cast<double>(index_bytes) / 1e6,
      queries.size(), qo.searchers, rooms, qo.limit);
  std::printf("%-26s %-9s %5s %8s %8s %8s %10s %9s\n", "query", "order", "n", "p50 ms", "p99 ms",
              "max ms", "avg total", "no hits");
  nlohmann::json rows = nlohmann::json::array();
  for (const auto order :
       {persistence::search_order::newest, persistence::search_order::relevance}) {
    cell one, two;
    for (int k = 0; k < query_class_count; ++k) {
      auto it = cells.find({k, static_cast<int>(order)});
      if (it == cells.end()) continue;
      auto& into = is_two_term(static_cast<query_class>(k)) ? two : one;
      into.ms.insert(into.ms.end(), it->second.ms.begin(), it->second.ms.end());
      into.totals += it->second.totals;
      into.zero_hits += it->second.zero_hits;
    }
    rows.push_back(print_row("1 word (all)", order_name(order), one));
    rows.push_back(print_row("2 words (all)", order_name(order), two));
    for (int k = 0; k < query_class_count; ++k) {
      auto it = cells.find({k, static_cast<int>(order)});
      if (it != cells.end())
        rows.push_back(
            print_row(to_string(static_cast<query_class>(k)), order_name(order), it->second));
    }
  }
  std::printf("%zu queries in %.1f s (%.0f/s one after another)%s\n", queries.size(), seconds,
              seconds > 0 ? static_cast<double>(queries.size()) / seconds : 0.0,
              failures ? ", SOME FAILED" : "");
  const nlohmann::json j = {{"command", "query"},
                            {"messages", m->generated.messages},
                            {"documents", docs ? *docs : 0},
                            {"index_bytes", index_bytes},
                            {"searchers", qo.searchers},
                            {"avg_rooms", rooms},
                            {"limit", qo.limit},
                            {"failures", failures},
                            {"rows", rows}};
  std::printf("%s\n", j.dump().c_str());
  return failures == 0 ? 0 : 1;
}

}  // namespace hibiki::bench::search
