#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <fstream>
#include <thread>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "feed_indexer.hpp"
#if __has_include("hibiki/persistence/projection_runner.hpp")
#include "hibiki/persistence/projection_runner.hpp"
#define HIBIKI_BENCH_HAVE_RUNNER 1
#endif
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "manifest.hpp"
#include "replay_feed.hpp"

namespace hibiki::bench::search {
namespace {

double cpu_seconds() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return static_cast<double>(u.ru_utime.tv_sec + u.ru_stime.tv_sec) +
         static_cast<double>(u.ru_utime.tv_usec + u.ru_stime.tv_usec) / 1e6;
}

std::string load_average() {
  std::ifstream in("/proc/loadavg");
  std::string a, b, c;
  in >> a >> b >> c;
  return a + " " + b + " " + c;
}

std::int64_t sum(const persistence::feed_positions& p) {
  std::int64_t total = 0;
  for (const auto& [partition, offset] : p) total += offset;
  return total;
}

}  // namespace

int index_command(const args& a) {
  a.allow({"dir", "batch", "via", "language", "shards", "max-seconds"});
  if (!a.has("dir")) throw std::invalid_argument("index needs --dir DIR");
  const std::filesystem::path dir = a.text("dir", "");
#ifdef HIBIKI_BENCH_HAVE_RUNNER
  const std::size_t default_batch = persistence::projection_runner_options{}.batch_size;
  const std::string default_via = "runner";
#else
  const std::size_t default_batch = 1000;
  const std::string default_via = "loop";
#endif
  const std::size_t batch = a.count("batch", default_batch);
  const auto via = a.text("via", default_via);
  if (via != "runner" && via != "loop") throw std::invalid_argument("--via must be runner or loop");
#ifndef HIBIKI_BENCH_HAVE_RUNNER
  if (via == "runner") throw std::invalid_argument("this build has no projection runner");
#endif
  if (batch == 0) throw std::invalid_argument("--batch must be at least 1");
  // 0: to the end. Otherwise the build stops after about this long, and the figures are of the
  // part it built (a partial index still answers queries: `query` reports its document count).
  const auto max_seconds = a.count("max-seconds", 0);
  persistence::search_options so;
  so.language = a.text("language", so.language);
  so.shards = a.count("shards", so.shards);

  auto m = load_manifest(dir);
  if (!m) {
    std::fprintf(stderr, "%s\n", m.error().message.c_str());
    return 1;
  }
  persistence::rocksdb_options bo;
  bo.path = data_dir(dir).string();
  bo.sync = false;
  auto backend = persistence::rocksdb_backend::open(bo);
  if (!backend) {
    std::fprintf(stderr, "cannot open %s: %s\n", bo.path.c_str(), backend.error().message.c_str());
    return 1;
  }
  auto feed = (*backend)->open_feed();
  const bool replayed = feed == nullptr;
  if (replayed) {
    feed = open_replay_feed((*backend)->journal(), m->world.rooms, m->generated.events);
  }
  auto end = feed->end_positions();
  if (!end) {
    std::fprintf(stderr, "feed: %s\n", end.error().message.c_str());
    return 1;
  }
  auto index = persistence::search_index::open(index_dir(dir), so);
  if (!index) {
    std::fprintf(stderr, "%s\n", index.error().message.c_str());
    return 1;
  }
  // Always from the beginning: the figure is a whole build (`hibiki admin rebuild search`).
  if (auto st = (*index)->reset(); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  const std::int64_t total = sum(*end);
  const auto load_before = load_average();
  std::printf(
      "indexing %lld feed events (%llu messages) of %s with the search projection, batches"
      " of %zu, via %s; load average before: %s\n",
      static_cast<long long>(total), static_cast<unsigned long long>(m->generated.messages),
      bo.path.c_str(), batch, via.c_str(), load_before.c_str());
  if (replayed) {
    std::printf(
        "NOTE: this backend has no event feed; the rooms are replayed from the journal one"
        " after another instead (replay_feed.hpp)\n");
  }
  std::fflush(stdout);

  const double cpu_before = cpu_seconds();
  const auto started = std::chrono::steady_clock::now();
  const auto elapsed = [&] {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - started).count();
  };
  const auto deadline = max_seconds > 0 ? started + std::chrono::seconds(max_seconds)
                                        : std::chrono::steady_clock::time_point::max();
  double last_report = 0;
  const auto report = [&](std::int64_t at, const std::string& error) {
    if (elapsed() - last_report < 10) return;
    last_report = elapsed();
    std::fprintf(stderr, "  %lld / %lld events in %.0f s (%.0f/s)%s%s\n",
                 static_cast<long long>(at), static_cast<long long>(total), last_report,
                 static_cast<double>(at) / last_report,
                 error.empty() ? "" : "; error: ", error.c_str());
  };
  std::uint64_t applied = 0;
  if (via == "loop") {
    auto n = apply_feed(*feed, **index, *end, batch, deadline,
                        [&](std::uint64_t done) { report(static_cast<std::int64_t>(done), ""); });
    if (!n) {
      std::fprintf(stderr, "indexing failed: %s\n", n.error().message.c_str());
      return 1;
    }
    applied = *n;
    index->reset();  // closes the index (the unique_ptr, not the projection's reset)
  } else {
#ifdef HIBIKI_BENCH_HAVE_RUNNER
    persistence::projection_runner_options ro;
    ro.batch_size = batch;
    ro.wait = std::chrono::milliseconds(50);
    persistence::projection_runner runner(std::move(*index), std::move(feed), ro);
    runner.start();
    for (;;) {
      std::this_thread::sleep_for(std::chrono::milliseconds(20));
      const auto s = runner.status();
      const auto at = sum(s.positions);
      applied = s.applied;
      if ((!s.positions.empty() && at >= total) || std::chrono::steady_clock::now() >= deadline)
        break;
      report(at, s.last_error);
    }
    runner.stop();
    applied = runner.status().applied;
#endif
  }
  const double seconds = elapsed();
  const double cpu = cpu_seconds() - cpu_before;
  (*backend)->close();

  // Reopened to count what the build left on disk.
  auto reopened = persistence::search_index::open(index_dir(dir), so);
  std::uint64_t documents = 0;
  if (reopened) {
    if (auto n = (*reopened)->document_count()) documents = *n;
    reopened->reset();  // closes it
  }
  const auto bytes = disk_bytes(index_dir(dir));
  // Posts are most of the events (the rest: rooms, edits, deletes); a partial build is credited
  // with the posts in proportion.
  const bool partial = applied < static_cast<std::uint64_t>(total);
  const double msgs =
      partial ? static_cast<double>(applied) * static_cast<double>(m->generated.messages) /
                    static_cast<double>(std::max<std::uint64_t>(m->generated.events, 1))
              : static_cast<double>(m->generated.messages);
  if (partial) {
    std::printf("PARTIAL: stopped after --max-seconds %llu with %llu of %lld events applied\n",
                static_cast<unsigned long long>(max_seconds),
                static_cast<unsigned long long>(applied), static_cast<long long>(total));
  }
  std::printf(
      "indexed %llu events in %.1f s: %.0f events/s, %.0f messages/s (%.0f%% of a core:"
      " %.1f us CPU per message)\n",
      static_cast<unsigned long long>(applied), seconds, static_cast<double>(applied) / seconds,
      msgs / seconds, 100.0 * cpu / seconds, msgs > 0 ? 1e6 * cpu / msgs : 0.0);
  std::printf(
      "index: %llu documents, %.1f MB on disk (%.0f bytes per document); load average"
      " after: %s\n",
      static_cast<unsigned long long>(documents), static_cast<double>(bytes) / 1e6,
      documents ? static_cast<double>(bytes) / static_cast<double>(documents) : 0.0,
      load_average().c_str());
  const nlohmann::json j = {{"command", "index"},
                            {"via", via},
                            {"batch", batch},
                            {"replayed_feed", replayed},
                            {"partial", partial},
                            {"events", applied},
                            {"messages", m->generated.messages},
                            {"seconds", seconds},
                            {"events_per_s", static_cast<double>(applied) / seconds},
                            {"messages_per_s", msgs / seconds},
                            {"cpu_seconds", cpu},
                            {"documents", documents},
                            {"index_bytes", bytes},
                            {"load_before", load_before}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace hibiki::bench::search
