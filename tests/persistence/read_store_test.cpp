/// Read-model rows: written by the journal in the same batch as their events (so they appear
/// exactly when the events do, and never for a refused or failed append), read back with get and
/// bounded scans.

#include <latch>

#include <catch2/catch.hpp>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "hibiki/persistence/rocksdb_journal.hpp"
#include "journal_helpers.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using read_model::table;

namespace {

std::unique_ptr<persistence::rocksdb_backend> open_backend(const temp_dir& dir) {
  persistence::rocksdb_options options;
  options.path = dir.sub("db");
  options.sync = false;
  auto b = persistence::rocksdb_backend::open(options);
  REQUIRE(b.ok());
  return std::move(*b);
}

std::optional<std::string> get(persistence::read_store& r, table t, std::string_view key) {
  auto v = r.get(t, key);
  REQUIRE(v.ok());
  return *v;
}

read_model::row_op put(table t, std::string key, std::string value) {
  return {t, std::move(key), std::move(value)};
}

using rows = std::vector<std::pair<std::string, std::string>>;

rows scan(persistence::read_store& r, table t, std::string_view from, std::string_view to,
          std::size_t limit, bool reverse, std::size_t stop_after = SIZE_MAX) {
  rows out;
  auto s = r.scan(t, from, to, limit, reverse, [&](std::string_view k, std::string_view v) {
    out.emplace_back(std::string(k), std::string(v));
    return out.size() < stop_after;
  });
  REQUIRE(s.ok());
  return out;
}

}  // namespace

TEST_CASE("read store: rows become visible exactly when their events do", "[read_store]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = dynamic_cast<persistence::rocksdb_journal&>(backend->journal());
  auto& r = backend->reads();
  const auto entity = random_id("room");

  auto req = events(entity, 1, 2, "w");
  req.rows = {put(table::history, "h1", "message one"), put(table::room_summary, "s", "summary")};
  std::latch done(1);
  status result;
  j.hold_writer();
  j.async_append(req, [&](status s) {
    result = s;
    done.count_down();
  });
  // Queued but not written: neither the events nor the rows are there.
  CHECK_FALSE(get(r, table::history, "h1").has_value());
  CHECK(replay_all(j, entity, 1, persistence::max_seq, 10).empty());
  j.release_writer();
  done.wait();
  REQUIRE(result.ok());
  CHECK(get(r, table::history, "h1") == "message one");
  CHECK(get(r, table::room_summary, "s") == "summary");
  CHECK(replay_all(j, entity, 1, persistence::max_seq, 10).size() == 2);
  // Tables are separate: the same key in another table is another row.
  CHECK_FALSE(get(r, table::accounts, "h1").has_value());

  // A row op with no value deletes; an update overwrites.
  auto next = events(entity, 3, 3, "w");
  next.rows = {{table::history, "h1", std::nullopt}, put(table::room_summary, "s", "summary 2")};
  REQUIRE(j.append(next).ok());
  CHECK_FALSE(get(r, table::history, "h1").has_value());
  CHECK(get(r, table::room_summary, "s") == "summary 2");
}

TEST_CASE("read store: rows of a refused or failed append are never written", "[read_store]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& j = dynamic_cast<persistence::rocksdb_journal&>(backend->journal());
  auto& r = backend->reads();
  const auto entity = random_id("room");

  auto conflicting = events(entity, 2, 2, "w");
  conflicting.rows = {put(table::history, "conflict", "x")};
  CHECK(code_of(j.append(conflicting)) == errc::conflict);
  CHECK_FALSE(get(r, table::history, "conflict").has_value());

  auto bad_table = events(entity, 1, 1, "w");
  bad_table.rows = {put(static_cast<table>(42), "k", "v"), put(table::history, "bad-table", "x")};
  CHECK(code_of(j.append(bad_table)) == errc::bad_request);
  CHECK_FALSE(get(r, table::history, "bad-table").has_value());

  j.fail_next_commits(1);
  auto failing = events(entity, 1, 1, "w");
  failing.rows = {put(table::history, "failed", "x")};
  CHECK(code_of(j.append(failing)) == errc::unavailable);
  CHECK_FALSE(get(r, table::history, "failed").has_value());

  auto good = events(entity, 1, 1, "w");
  good.rows = {put(table::history, "good", "x")};
  REQUIRE(j.append(good).ok());
  CHECK(get(r, table::history, "good") == "x");
}

TEST_CASE("read store: scans are bounded, ordered, limited and stoppable", "[read_store]") {
  temp_dir dir;
  auto backend = open_backend(dir);
  auto& r = backend->reads();
  auto req = events(random_id("acct"), 1, 1, "w");
  for (std::string k : {"a1", "a2", "a3", "a4", "b1"})
    req.rows.push_back(put(table::member_rooms, k, "v" + k));
  req.rows.push_back(put(table::tokens, "a2", "other table"));
  REQUIRE(backend->journal().append(req).ok());

  const rows a_rows = {{"a1", "va1"}, {"a2", "va2"}, {"a3", "va3"}, {"a4", "va4"}};
  CHECK(scan(r, table::member_rooms, "a", "b", 100, false) == a_rows);
  CHECK(scan(r, table::member_rooms, "a", "b", 100, true) == rows(a_rows.rbegin(), a_rows.rend()));
  // `to` is exclusive, `from` inclusive.
  CHECK(scan(r, table::member_rooms, "a2", "a4", 100, false) == rows{{"a2", "va2"}, {"a3", "va3"}});
  CHECK(scan(r, table::member_rooms, "a2", "a4", 100, true) == rows{{"a3", "va3"}, {"a2", "va2"}});
  CHECK(scan(r, table::member_rooms, "a", "b", 2, false) == rows{{"a1", "va1"}, {"a2", "va2"}});
  CHECK(scan(r, table::member_rooms, "a", "b", 2, true) == rows{{"a4", "va4"}, {"a3", "va3"}});
  CHECK(scan(r, table::member_rooms, "a", "b", 100, false, 1) == rows{{"a1", "va1"}});
  CHECK(scan(r, table::member_rooms, "a", "c", 100, false).size() == 5);
  CHECK(scan(r, table::member_rooms, "a", "b", 0, false).empty());
  CHECK(scan(r, table::member_rooms, "b", "a", 100, false).empty());
  CHECK(scan(r, table::member_rooms, "x", "z", 100, true).empty());
  CHECK(scan(r, table::tokens, "a", "b", 100, false) == rows{{"a2", "other table"}});

  auto bad_get = r.get(static_cast<table>(42), "a1");
  REQUIRE_FALSE(bad_get.ok());
  CHECK(bad_get.error().code == errc::bad_request);
  CHECK(code_of(r.scan(static_cast<table>(42), "a", "b", 1, false,
                       [](std::string_view, std::string_view) { return true; })) ==
        errc::bad_request);
}

TEST_CASE("read store: rows and snapshots survive a reopen", "[read_store]") {
  temp_dir dir;
  const auto entity = random_id("room");
  {
    auto backend = open_backend(dir);
    auto req = events(entity, 1, 1, "w");
    req.rows = {put(table::room_events, "k", "frame")};
    REQUIRE(backend->journal().append(req).ok());
    REQUIRE(backend->snapshots().save({{entity, 1, 42}, payload_of("state")}).ok());
  }
  auto backend = open_backend(dir);
  CHECK(get(backend->reads(), table::room_events, "k") == "frame");
  auto snap = backend->snapshots().load(entity, {});
  REQUIRE(snap.ok());
  REQUIRE(snap->has_value());
  CHECK((*snap)->data == payload_of("state"));
  CHECK(*backend->journal().highest_seq(entity) == 1);
}
