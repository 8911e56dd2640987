/// hibiki_recovery_bench: how long a room takes to come back from storage, with the node's own
/// runtime (CAF actors, the room entity, its snapshots) over a real RocksDB journal and snapshot
/// store, as hibikid runs them.
///
/// 1. Builds one room of `--events` events (create_room, then send_message) through the room's
///    region, `--window` commands in flight (a room that never stops receiving messages), and
///    `--rooms` rooms of `--room-events` events each.
/// 2. Waits until every room has passivated (`--passivate-ms` without commands), then sends one
///    message to each small room in turn and times send→reply (the first message after
///    passivation: recovery from storage + decide + append), then a second one (the room live).
/// 3. Times the big room's recovery (latest snapshot + the events after it, the function the
///    entity runs) `--runs` times with RocksDB's block cache warm, then `--runs` times each just
///    after reopening the database (block cache empty, the OS page cache warm), split into
///    snapshot load, snapshot decode and tail replay.
///
/// Prints a summary and one line of JSON (the last line of stdout).

#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <iostream>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/all.hpp>
#include <nlohmann/json.hpp>

#include "entity_traits.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "io_executor.hpp"
#include "messages.hpp"
#include "runtime.hpp"

namespace {

using namespace hibiki;
using clock_type = std::chrono::steady_clock;

struct bench_options {
  std::size_t events = 100'000;
  std::size_t window = 64;
  std::size_t rooms = 200;
  std::size_t room_events = 1000;
  std::size_t runs = 10;
  std::size_t passivate_ms = 1000;
  std::uint32_t snapshot_every = actors::node_options{}.snapshot_every;
  bool sync = true;
  std::string dir;
};

void usage() {
  std::cerr << "usage: hibiki_recovery_bench [--events N] [--window W] [--rooms M] "
               "[--room-events K] [--runs R] [--passivate-ms P] [--snapshot-every S] "
               "[--no-sync] [--dir DIR]\n";
}

bool parse(int argc, char** argv, bench_options& o) {
  for (int i = 1; i < argc; ++i) {
    std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : nullptr; };
    auto number = [&](auto& out) {
      const char* v = next();
      if (!v) return false;
      char* end = nullptr;
      auto n = std::strtoull(v, &end, 10);
      if (*end != '\0') return false;
      out = static_cast<std::remove_reference_t<decltype(out)>>(n);
      return true;
    };
    bool ok = true;
    if (a == "--events")
      ok = number(o.events);
    else if (a == "--window")
      ok = number(o.window);
    else if (a == "--rooms")
      ok = number(o.rooms);
    else if (a == "--room-events")
      ok = number(o.room_events);
    else if (a == "--runs")
      ok = number(o.runs);
    else if (a == "--passivate-ms")
      ok = number(o.passivate_ms);
    else if (a == "--snapshot-every")
      ok = number(o.snapshot_every);
    else if (a == "--no-sync")
      o.sync = false;
    else if (a == "--dir") {
      const char* v = next();
      ok = v != nullptr;
      if (ok) o.dir = v;
    } else
      ok = false;
    if (!ok) return false;
  }
  return o.events >= 1 && o.window >= 1 && o.room_events >= 1 && o.runs >= 1;
}

/// Commands in flight and their outcomes; replies arrive on actor threads.
struct tracker {
  std::mutex m;
  std::condition_variable cv;
  std::size_t inflight = 0;
  std::size_t errors = 0;
  std::string first_error;

  void done(const actors::command_reply& r) {
    std::lock_guard lock(m);
    --inflight;
    if (r.err) {
      if (errors++ == 0) first_error = r.err->message;
    }
    cv.notify_all();
  }
  void wait_below(std::size_t n) {
    std::unique_lock lock(m);
    cv.wait(lock, [&] { return inflight < n; });
  }
};

room::command create(room_id room) {
  return room::create_room{account_id{1}, room, "bench", "", {}, 1'700'000'000};
}
room::command post(std::size_t i) {
  return room::send_message{account_id{1}, "message " + std::to_string(i) + " of the benchmark",
                            "c" + std::to_string(i), 1'700'000'000};
}

void send(const actors::node_context& ctx, const entity_id& id, room::command cmd, tracker& t) {
  {
    std::lock_guard lock(t.m);
    ++t.inflight;
  }
  caf::anon_send(ctx.rooms, actors::entity_command<room::command>{
                                id, std::move(cmd), [&t](actors::command_reply r) { t.done(r); }});
}

/// One command, timed from the send to the reply callback (where a session would get it).
double timed_send_ms(const actors::node_context& ctx, const entity_id& id, room::command cmd,
                     std::size_t& errors) {
  struct one {
    std::mutex m;
    std::condition_variable cv;
    bool done = false;
    bool failed = false;
    clock_type::time_point at;
  } o;
  auto start = clock_type::now();
  caf::anon_send(ctx.rooms, actors::entity_command<room::command>{id, std::move(cmd),
                                                                  [&o](actors::command_reply r) {
                                                                    auto at = clock_type::now();
                                                                    std::lock_guard lock(o.m);
                                                                    o.at = at;
                                                                    o.failed = r.err.has_value();
                                                                    o.done = true;
                                                                    o.cv.notify_all();
                                                                  }});
  std::unique_lock lock(o.m);
  o.cv.wait(lock, [&] { return o.done; });
  if (o.failed) ++errors;
  return std::chrono::duration<double, std::milli>(o.at - start).count();
}

/// Stops the program at once: unwinding would wait for the actors of a runtime still running.
[[noreturn]] void fail(const std::string& why) {
  std::cerr << "hibiki_recovery_bench: " << why << std::endl;
  std::_Exit(1);
}

struct summary {
  double p50 = 0, p99 = 0, max = 0;
};
summary summarize(std::vector<double> xs) {
  summary s;
  if (xs.empty()) return s;
  std::sort(xs.begin(), xs.end());
  auto at = [&](double q) {
    auto i = static_cast<std::size_t>(q * static_cast<double>(xs.size() - 1) + 0.5);
    return xs[std::min(i, xs.size() - 1)];
  };
  s.p50 = at(0.5);
  s.p99 = at(0.99);
  s.max = xs.back();
  return s;
}

nlohmann::json to_json(const summary& s) {
  return {{"p50_ms", s.p50}, {"p99_ms", s.p99}, {"max_ms", s.max}};
}

/// One recovery of `id`, split into its steps (the same calls as recover_from_storage), then the
/// whole of room_traits::recover checked against it.
struct recovery_run {
  double total_ms = 0, load_ms = 0, decode_ms = 0, replay_ms = 0;
  seq_nr snapshot_seq = 0, journal_seq = 0;
  std::size_t snapshot_bytes = 0, tail = 0;
};

recovery_run time_recovery(persistence::backend& storage, const entity_id& id) {
  actors::node_context ctx;
  ctx.deps.journal = &storage.journal();
  ctx.deps.snapshots = &storage.snapshots();
  recovery_run r;
  auto ms = [](clock_type::time_point a, clock_type::time_point b) {
    return std::chrono::duration<double, std::milli>(b - a).count();
  };
  // The steps, each timed.
  auto t0 = clock_type::now();
  auto snap = ctx.deps.snapshots->load(id, persistence::snapshot_criteria{});
  auto t1 = clock_type::now();
  if (!snap) fail("snapshot load: " + snap.error().message);
  room::state state = actors::room_traits::initial(id);
  if (snap->has_value()) {
    r.snapshot_bytes = (*snap)->data.size();
    r.snapshot_seq = (*snap)->meta.seq;
    auto decoded = actors::room_traits::decode_snapshot((*snap)->data);
    if (!decoded) fail("snapshot decode: " + decoded.error().message);
    state = std::move(*decoded);
  }
  auto t2 = clock_type::now();
  auto st = ctx.deps.journal->replay(id, r.snapshot_seq + 1, persistence::max_seq, UINT64_MAX,
                                     [&](const persistence::persisted_event& pe) {
                                       auto e = actors::room_traits::decode(pe.payload);
                                       if (!e) fail("undecodable event");
                                       state = actors::room_traits::apply(std::move(state), *e);
                                       ++r.tail;
                                     });
  auto t3 = clock_type::now();
  if (!st) fail("replay: " + st.error().message);
  r.load_ms = ms(t0, t1);
  r.decode_ms = ms(t1, t2);
  r.replay_ms = ms(t2, t3);
  // The whole, as the entity runs it.
  auto t4 = clock_type::now();
  auto whole = actors::room_traits::recover(ctx, id);
  auto t5 = clock_type::now();
  if (!whole) fail("recover: " + whole.error().message);
  if (!(whole->state == state)) fail("recover: a different state");
  r.total_ms = ms(t4, t5);
  r.journal_seq = whole->journal_seq;
  return r;
}

std::unique_ptr<persistence::rocksdb_backend> open_storage(const bench_options& o) {
  persistence::rocksdb_options ro;
  ro.path = o.dir;
  ro.sync = o.sync;
  auto b = persistence::rocksdb_backend::open(ro);
  if (!b) fail("cannot open storage: " + b.error().message);
  return std::move(*b);
}

}  // namespace

int main(int argc, char** argv) {
  bench_options o;
  if (!parse(argc, argv, o)) {
    usage();
    return 2;
  }
  bool own_dir = o.dir.empty();
  if (own_dir) {
    char tmpl[] = "/tmp/hibiki-recovery-bench-XXXXXX";
    if (!mkdtemp(tmpl)) {
      std::perror("mkdtemp");
      return 1;
    }
    o.dir = tmpl;
  }
  nlohmann::json out;
  try {
    auto storage = open_storage(o);
    caf::actor_system_config cfg;
    auto sys = std::make_unique<caf::actor_system>(cfg);
    actors::thread_pool_executor io(actors::node_options{}.io_threads);
    actors::node_options nopts;
    nopts.passivate_after = std::chrono::milliseconds(o.passivate_ms);
    nopts.snapshot_every = o.snapshot_every;
    actors::runtime_deps deps;
    deps.journal = &storage->journal();
    deps.snapshots = &storage->snapshots();
    deps.reads = &storage->reads();
    deps.io = &io;
    auto rt = actors::start_runtime(*sys, std::move(deps), nopts);
    const auto& ctx = *rt.ctx;

    // 1. The big room, under non-stop load.
    const entity_id big = entity_of(room_id{1});
    tracker t;
    auto build_start = clock_type::now();
    send(ctx, big, create(room_id{1}), t);
    t.wait_below(1);
    for (std::size_t i = 1; i < o.events; ++i) {
      t.wait_below(o.window);
      send(ctx, big, post(i), t);
    }
    t.wait_below(1);
    double build_s = std::chrono::duration<double>(clock_type::now() - build_start).count();
    std::cerr << "built " << o.events << " events in " << build_s << " s\n";
    // The small rooms, a window across them.
    std::vector<entity_id> small;
    for (std::size_t r = 0; r < o.rooms; ++r) {
      small.push_back(entity_of(room_id{2 + r}));
      send(ctx, small.back(), create(room_id{2 + r}), t);
    }
    t.wait_below(1);
    for (std::size_t i = 1; i < o.room_events; ++i)
      for (const auto& id : small) {
        t.wait_below(o.window);
        send(ctx, id, post(i), t);
      }
    t.wait_below(1);
    if (t.errors > 0) fail("building failed: " + t.first_error);

    // 2. Wait for every room to passivate, then the first message to each.
    auto expected = static_cast<std::uint64_t>(o.rooms + 1);
    while (rt.room_stats->passivations.load() < expected || rt.room_stats->live.load() > 0)
      std::this_thread::sleep_for(std::chrono::milliseconds(50));
    std::vector<double> first, second;
    std::size_t errors = 0;
    for (std::size_t r = 0; r < small.size(); ++r) {
      first.push_back(timed_send_ms(ctx, small[r], post(o.room_events + 1), errors));
      second.push_back(timed_send_ms(ctx, small[r], post(o.room_events + 2), errors));
    }
    double big_first = timed_send_ms(ctx, big, post(o.events + 1), errors);
    if (errors > 0) fail(std::to_string(errors) + " measured sends failed");
    auto first_s = summarize(first);
    auto second_s = summarize(second);

    // 3. Recovery of the big room, block cache warm.
    std::vector<recovery_run> warm, cold;
    for (std::size_t i = 0; i < o.runs; ++i) warm.push_back(time_recovery(*storage, big));

    actors::stop_runtime(rt);
    sys->await_all_actors_done();
    io.stop();
    actors::release_runtime(rt);
    sys.reset();
    storage->close();
    storage.reset();
    // Block cache empty: the database reopened before each run.
    for (std::size_t i = 0; i < o.runs; ++i) {
      auto s = open_storage(o);
      cold.push_back(time_recovery(*s, big));
      s->close();
    }

    auto pick = [](const std::vector<recovery_run>& rs, auto field) {
      std::vector<double> xs;
      for (const auto& r : rs) xs.push_back(r.*field);
      return summarize(xs);
    };
    const auto& last = warm.back();
    std::cout << "room of " << o.events << " events: snapshot at seq " << last.snapshot_seq << " ("
              << last.snapshot_bytes << " bytes), tail " << last.tail << " events\n";
    for (auto* set : {&warm, &cold}) {
      const char* name = set == &warm ? "warm" : "reopened";
      auto total = pick(*set, &recovery_run::total_ms);
      std::cout << "recovery (" << name << ", " << o.runs << " runs): p50 " << total.p50
                << " ms, max " << total.max << " ms; load p50 "
                << pick(*set, &recovery_run::load_ms).p50 << " ms, decode p50 "
                << pick(*set, &recovery_run::decode_ms).p50 << " ms, replay p50 "
                << pick(*set, &recovery_run::replay_ms).p50 << " ms\n";
      out[std::string("recovery_") + name] = {
          {"total", to_json(total)},
          {"load", to_json(pick(*set, &recovery_run::load_ms))},
          {"decode", to_json(pick(*set, &recovery_run::decode_ms))},
          {"replay", to_json(pick(*set, &recovery_run::replay_ms))}};
    }
    std::cout << "first message after passivation (" << small.size() << " rooms of "
              << o.room_events << " events): p50 " << first_s.p50 << " ms, p99 " << first_s.p99
              << " ms, max " << first_s.max << " ms\n";
    std::cout << "next message (room live): p50 " << second_s.p50 << " ms, p99 " << second_s.p99
              << " ms\n";
    std::cout << "first message to the " << o.events
              << "-event room after passivation: " << big_first << " ms\n";
    out["events"] = o.events;
    out["snapshot_seq"] = last.snapshot_seq;
    out["snapshot_bytes"] = last.snapshot_bytes;
    out["tail"] = last.tail;
    out["build_s"] = build_s;
    out["first_after_passivation"] = to_json(first_s);
    out["next_live"] = to_json(second_s);
    out["big_room_first_ms"] = big_first;
    out["rooms"] = o.rooms;
    out["room_events"] = o.room_events;
  } catch (const std::exception& ex) {
    std::cerr << "hibiki_recovery_bench: " << ex.what() << "\n";
    if (own_dir) std::filesystem::remove_all(o.dir);
    return 1;
  }
  if (own_dir) std::filesystem::remove_all(o.dir);
  std::cout << out.dump() << "\n";
  return 0;
}
