/// Shared files: who may upload what, completing (with the size the store reported), expiry,
/// hiding with the message or the room, the sweeper's two steps, and their rows, pushes, codec.

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/core/codec.hpp"
#include "hibiki/core/command_codec.hpp"
#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "room_fixture.hpp"

using namespace hibiki;
using namespace hibiki::test;
using nlohmann::json;

namespace {

constexpr std::uint64_t max_size = 1000;

room::request_upload ask(account_id who, std::string name = "report.pdf", std::uint64_t size = 10,
                         std::string type = "application/pdf", unix_time now = 100) {
  return room::request_upload{who,      std::move(name),      size, std::move(type),
                              max_size, "rooms/100/0123abcd", now};
}

room::complete_upload complete(account_id who, std::uint64_t file, std::uint64_t stored = 10,
                               unix_time now = 200) {
  return room::complete_upload{who, file_id{file}, stored, now, "Bob", ""};
}

/// alice (admin), bob and carol (members), dave (read-only).
room::state team() {
  return run(made_room(), room::add_members{alice, {dave}, role::readonly});
}

/// bob's report.pdf (file 1), uploaded as message 1.
room::state with_file() {
  return run(run(team(), ask(bob)), complete(bob, 1));
}

std::vector<read_model::row_op> rows_of(const room::state& before, const room::command& cmd) {
  auto d = room::decide(before, cmd);
  REQUIRE(d);
  std::vector<read_model::row_op> ops;
  auto s = before;
  for (const auto& e : d->events) {
    auto after = room::apply(s, e);
    auto more = read_model::project(s, e, after);
    ops.insert(ops.end(), more.begin(), more.end());
    s = std::move(after);
  }
  return ops;
}

const read_model::row_op* find_row(const std::vector<read_model::row_op>& ops,
                                   read_model::table t) {
  for (const auto& op : ops)
    if (op.tbl == t) return &op;
  return nullptr;
}

}  // namespace

TEST_CASE("request_upload records a pending upload that expires in 15 minutes", "[room][file]") {
  auto s = team();
  auto d = room::decide(s, ask(bob));
  REQUIRE(d);
  REQUIRE(d->events.size() == 1);
  const auto& e = std::get<room::upload_requested>(d->events[0]);
  CHECK(e.id == file_id{1});
  CHECK(e.account == bob);
  CHECK(e.object_key == "rooms/100/0123abcd");
  CHECK(e.expires_at == 100 + 15 * 60);
  CHECK_FALSE(room::is_visible(d->events[0]));
  s = run(s, ask(bob));
  CHECK(s.seq == team().seq);  // no room event
  CHECK(s.files.at(file_id{1}).status == room::file_status::pending);
  CHECK(room::file_num(s) == 0);
  s = run(s, ask(carol));
  CHECK(s.last_file == file_id{2});
}

TEST_CASE("request_upload refuses non-members, read-only members, bad sizes and names",
          "[room][file]") {
  auto s = team();
  CHECK(refusal(s, ask(account_id{99})) == errc::forbidden);
  CHECK(refusal(s, ask(dave)) == errc::forbidden);
  CHECK(refusal(s, ask(bob, "a.txt", 0)) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", max_size)) == errc::ok);
  CHECK(refusal(s, ask(bob, "a.txt", max_size + 1)) == errc::too_large);
  CHECK(refusal(s, ask(bob, "")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "dir/a.txt")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "..")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a..txt")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "c:\\a.txt")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a\nb.txt")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, std::string("a\0b", 3))) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a\x7f.txt")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a\xc2\x85.txt")) == errc::bad_request);         // U+0085, a C1 control
  CHECK(refusal(s, ask(bob, "\xff\xfe.txt")) == errc::bad_request);          // not UTF-8
  CHECK(refusal(s, ask(bob, "invoice\u202Efdp.exe")) == errc::bad_request);  // RTL override
  CHECK(refusal(s, ask(bob, "a\u2066b\u2069.txt")) == errc::bad_request);    // an isolate
  CHECK(refusal(s, ask(bob, "a\u200Fb.txt")) == errc::bad_request);          // RTL mark
  CHECK(refusal(s, ask(bob, "\u0645\u0644\u0641.txt")) ==
        errc::ok);  // right-to-left letters are fine
  CHECK(refusal(s, ask(bob, std::string(255, 'a'))) == errc::ok);
  CHECK(refusal(s, ask(bob, std::string(256, 'a'))) == errc::too_large);
  CHECK(refusal(s, ask(bob, std::string(10 * 1024, 'a'))) == errc::too_large);
  CHECK(refusal(s, ask(bob, "日本語の資料 (最終).pdf")) == errc::ok);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "text")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "text/")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "text/plain\r\nX-Evil: 1")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "te xt/plain")) == errc::bad_request);
  CHECK(refusal(s, ask(bob, "a.txt", 1, "text/plain; charset=utf-8")) == errc::ok);
  CHECK(refusal(s, ask(bob, "a.txt", 1, std::string(250, 'a') + "/plain")) == errc::bad_request);
  // A deleted room takes no uploads.
  auto gone = run(s, room::delete_room{alice, 50});
  CHECK(refusal(gone, ask(bob)) == errc::not_found);
}

TEST_CASE("request_upload takes the node's upload window", "[room][file]") {
  auto c = ask(bob);
  c.window = 30;
  auto s = run(team(), c);
  CHECK(s.files.at(file_id{1}).expires_at == 100 + 30);
  // Completing at the last second of the window works; at its end it has expired.
  CHECK(refusal(s, complete(bob, 1, 10, 129)) == errc::ok);
  CHECK(refusal(s, complete(bob, 1, 10, 130)) == errc::not_found);
  // The sweeper expires it by the same clock.
  auto early = room::decide(s, room::retire_file{{}, file_id{1}, 129, 0});
  REQUIRE(early);
  CHECK(early->events.empty());
  CHECK(run(s, room::retire_file{{}, file_id{1}, 130, 0}).files.at(file_id{1}).status ==
        room::file_status::expired);
  // A node that chose no window is a bug, not a never-expiring upload.
  c.window = 0;
  CHECK(refusal(team(), c) == errc::internal);
}

TEST_CASE("an account may hold at most max_pending uploads pending in a room", "[room][file]") {
  auto capped = [](account_id who, unix_time now = 100) {
    auto c = ask(who, "a.txt", 10, "text/plain", now);
    c.max_pending = 3;
    return c;
  };
  auto s = team();
  for (int i = 0; i < 3; ++i) s = run(s, capped(bob));
  auto over = room::decide(s, capped(bob));
  REQUIRE_FALSE(over);
  CHECK(over.error().code == errc::rate_limited);
  CHECK(over.error().message.find("3 uploads pending") != std::string::npos);
  // Others are not held back by bob's uploads, in this room or another.
  CHECK(refusal(s, capped(carol)) == errc::ok);
  CHECK(refusal(team(), capped(bob)) == errc::ok);
  // Completing one frees its place.
  auto done = run(s, complete(bob, 2));
  CHECK(refusal(done, capped(bob)) == errc::ok);
  // So does one expiring: by the clock already, before the sweeper records it.
  CHECK(refusal(s, capped(bob, 100 + 15 * 60)) == errc::ok);
  auto swept = run(s, room::retire_file{{}, file_id{1}, 100 + 15 * 60, 0});
  CHECK(refusal(swept, capped(bob, 100 + 15 * 60)) == errc::ok);
  // Uploaded, hidden and expired files never count.
  auto hidden = run(done, room::delete_message{bob, done.files.at(file_id{2}).message, 300});
  auto c = capped(bob, 300);
  CHECK(refusal(hidden, c) == errc::ok);
  c.max_pending = 2;
  CHECK(refusal(hidden, c) == errc::rate_limited);
}

TEST_CASE("complete_upload posts a message carrying the file and makes it visible",
          "[room][file]") {
  auto s = run(team(), ask(bob));
  auto d = room::decide(s, complete(bob, 1));
  REQUIRE(d);
  REQUIRE(d->events.size() == 2);
  const auto& m = std::get<room::message_posted>(d->events[0]);
  CHECK(m.body == "[download:1]report.pdf[/download]");
  CHECK(m.author == bob);
  CHECK(m.client_msg_id.empty());
  const auto& u = std::get<room::file_uploaded>(d->events[1]);
  CHECK(u.message == m.id);
  CHECK(room::is_visible(d->events[1]));
  s = run(s, complete(bob, 1));
  const auto& f = s.files.at(file_id{1});
  CHECK(f.status == room::file_status::uploaded);
  CHECK(f.upload_time == 200);
  CHECK(f.upload_seq == s.seq);
  CHECK(room::file_num(s) == 1);
  CHECK(s.dedupe.empty());  // a file's message takes no client id
  // Completing again (a retry after a lost reply) answers the first result and records nothing.
  auto again = room::decide(s, complete(bob, 1));
  REQUIRE(again);
  CHECK(again->events.empty());
  REQUIRE(again->duplicate_of);
  CHECK(again->duplicate_of->id == f.message);
  CHECK(again->duplicate_of->seq == f.upload_seq);
}

TEST_CASE("complete_upload with a message puts the message first", "[room][file]") {
  auto s = run(team(), ask(bob));
  auto c = complete(bob, 1);
  c.message = "the minutes [To:3]";
  auto d = room::decide(s, c);
  REQUIRE(d);
  const auto& m = std::get<room::message_posted>(d->events[0]);
  CHECK(m.body == "the minutes [To:3]\n[download:1]report.pdf[/download]");
  CHECK(m.mentions == std::vector<account_id>{carol});
  c.message = std::string(65535, 'x');
  CHECK(refusal(s, c) == errc::too_large);
}

TEST_CASE("complete_upload refuses what it must", "[room][file]") {
  auto s = run(team(), ask(bob));
  CHECK(refusal(s, complete(bob, 2)) == errc::not_found);             // unknown
  CHECK(refusal(s, complete(carol, 1)) == errc::forbidden);           // another member's upload
  CHECK(refusal(s, complete(account_id{99}, 1)) == errc::forbidden);  // not a member
  CHECK(refusal(s, complete(bob, 1, 9)) == errc::bad_request);        // wrong size
  CHECK(refusal(s, complete(bob, 1, 0)) == errc::bad_request);        // nothing stored
  CHECK(refusal(s, complete(bob, 1, 10, 100 + 15 * 60)) == errc::not_found);  // expired
  CHECK(refusal(s, complete(bob, 1, 10, 100 + 15 * 60 - 1)) == errc::ok);
  CHECK(refusal(s, room::check_upload{bob, file_id{1}, 150}) == errc::ok);
  CHECK(refusal(s, room::check_upload{carol, file_id{1}, 150}) == errc::forbidden);
  CHECK(refusal(s, room::check_upload{bob, file_id{7}, 150}) == errc::not_found);
  // Made read-only after asking: no completing either.
  auto ro = run(s, room::add_members{alice, {bob}, role::readonly});
  CHECK(refusal(ro, complete(bob, 1)) == errc::forbidden);
  // Left the room.
  auto left = run(s, room::leave_room{bob});
  CHECK(refusal(left, complete(bob, 1)) == errc::forbidden);
}

TEST_CASE("deleting the message or the room hides the file", "[room][file]") {
  auto s = with_file();
  const auto message = s.files.at(file_id{1}).message;
  auto hidden = run(s, room::delete_message{bob, message, 300});
  CHECK(hidden.files.at(file_id{1}).status == room::file_status::hidden);
  CHECK(hidden.files.at(file_id{1}).hidden_at == 300);
  CHECK(room::file_num(hidden) == 0);
  auto ops = rows_of(s, room::delete_message{bob, message, 300});
  const auto* file_row = find_row(ops, read_model::table::room_files);
  REQUIRE(file_row);
  CHECK_FALSE(file_row->value);  // gone from the list
  const auto* chore = find_row(ops, read_model::table::file_chores);
  REQUIRE(chore);
  REQUIRE(chore->value);
  CHECK(json::parse(*chore->value)["status"] == "hidden");
  CHECK(json::parse(*chore->value)["due"] == 300);

  auto pending = run(s, ask(carol, "b.txt"));
  auto gone = run(pending, room::delete_room{alice, 400});
  CHECK(gone.files.at(file_id{1}).status == room::file_status::hidden);
  CHECK(gone.files.at(file_id{2}).status == room::file_status::hidden);
  auto room_ops = rows_of(pending, room::delete_room{alice, 400});
  std::size_t chores = 0;
  for (const auto& op : room_ops)
    if (op.tbl == read_model::table::file_chores && op.value) ++chores;
  CHECK(chores == 2);
}

TEST_CASE("the sweeper expires pending uploads and forgets removed objects", "[room][file]") {
  auto s = run(team(), ask(bob));
  // Not expired yet: nothing happens and the object stays.
  auto early = room::decide(s, room::retire_file{{}, file_id{1}, 100 + 15 * 60 - 1, 60});
  REQUIRE(early);
  CHECK(early->events.empty());
  CHECK_FALSE(room::removable(s.files.at(file_id{1}), 1000, 60));
  // Expired: upload_expired, after which it may be removed at once.
  auto expired = run(s, room::retire_file{{}, file_id{1}, 100 + 15 * 60, 60});
  CHECK(expired.files.at(file_id{1}).status == room::file_status::expired);
  CHECK(room::removable(expired.files.at(file_id{1}), 100 + 15 * 60, 60));
  CHECK(refusal(expired, complete(bob, 1, 10, 100)) == errc::not_found);
  // Forgotten once its object is gone; forgetting again is no event.
  auto forgotten = run(expired, room::forget_file{{}, file_id{1}});
  CHECK(forgotten.files.empty());
  auto ops = rows_of(expired, room::forget_file{{}, file_id{1}});
  const auto* chore = find_row(ops, read_model::table::file_chores);
  REQUIRE(chore);
  CHECK_FALSE(chore->value);
  auto twice = room::decide(forgotten, room::forget_file{{}, file_id{1}});
  REQUIRE(twice);
  CHECK(twice->events.empty());
  auto retired_again = room::decide(forgotten, room::retire_file{{}, file_id{1}, 5000, 0});
  REQUIRE(retired_again);
  CHECK(retired_again->events.empty());
  // A visible file is not forgotten.
  CHECK(refusal(with_file(), room::forget_file{{}, file_id{1}}) == errc::conflict);
  // A hidden file waits out its grace period.
  auto w = with_file();
  auto hidden = run(w, room::delete_message{bob, w.files.at(file_id{1}).message, 300});
  CHECK_FALSE(room::removable(hidden.files.at(file_id{1}), 359, 60));
  CHECK(room::removable(hidden.files.at(file_id{1}), 360, 60));
  // The sweeper works in a deleted room too.
  auto deleted = run(hidden, room::delete_room{alice, 400});
  CHECK(refusal(deleted, room::forget_file{{}, file_id{1}}) == errc::ok);
}

TEST_CASE("file rows and the file_uploaded push", "[room][file][read_model]") {
  auto s = run(team(), ask(bob));
  auto req_ops = rows_of(team(), ask(bob));
  const auto* chore = find_row(req_ops, read_model::table::file_chores);
  REQUIRE(chore);
  REQUIRE(chore->value);
  CHECK(chore->key == read_model::file_chore_key(room1, file_id{1}));
  CHECK(json::parse(*chore->value) ==
        json{{"room_id", 100}, {"file_id", 1}, {"status", "pending"}, {"due", 100 + 15 * 60}});
  CHECK(find_row(req_ops, read_model::table::room_events) == nullptr);  // not a room event

  auto ops = rows_of(s, complete(bob, 1));
  const auto* row = find_row(ops, read_model::table::room_files);
  REQUIRE(row);
  REQUIRE(row->value);
  CHECK(row->key == read_model::room_file_key(room1, file_id{1}));
  auto j = json::parse(*row->value);
  CHECK(j["filename"] == "report.pdf");
  CHECK(j["size"] == 10);
  CHECK(j["account_id"] == bob.value);
  CHECK(j["message_id"] == "1");
  CHECK(j["object_key"] == "rooms/100/0123abcd");
  CHECK(j["content_type"] == "application/pdf");
  std::size_t events = 0;
  for (const auto& op : ops)
    if (op.tbl == read_model::table::room_events) ++events;
  CHECK(events == 2);  // message_created, file_uploaded

  auto d = room::decide(s, complete(bob, 1));
  REQUIRE(d);
  auto mid = room::apply(s, d->events[0]);
  auto after = room::apply(mid, d->events[1]);
  auto frame = read_model::push_frame(mid, d->events[1], after);
  REQUIRE(frame);
  CHECK((*frame)["ev"] == "file_uploaded");
  CHECK((*frame)["seq"] == after.seq);
  CHECK((*frame)["file"] == json{{"file_id", 1},
                                 {"account_id", bob.value},
                                 {"message_id", "1"},
                                 {"filename", "report.pdf"},
                                 {"size", 10},
                                 {"upload_time", 200}});
  CHECK(read_model::room_info(after, bob)["file_num"] == 1);

  // The room's summary row counts it too (list_rooms's file_num), the last one written wins.
  std::optional<std::string> summary_row;
  for (const auto& op : ops)
    if (op.tbl == read_model::table::room_summary) summary_row = op.value;
  REQUIRE(summary_row);
  auto summary = read_model::decode_room_summary(*summary_row);
  REQUIRE(summary.ok());
  CHECK(summary->file_num == 1);
  read_model::member_row bobs{room1, role::member, message_id{0}, {}};
  CHECK(read_model::to_json(read_model::listing(bobs, *summary), true)["file_num"] == 1);
  CHECK_FALSE(read_model::to_json(read_model::listing(bobs, *summary)).contains("file_num"));
}

TEST_CASE("a room summary row without files reads as none and a bad count is corrupt",
          "[room][file]") {
  auto old = read_model::decode_room_summary(
      R"({"room_id":1,"name":"n","last_seq":3,"last_message":2,"deleted":[]})");
  REQUIRE(old.ok());
  CHECK(old->file_num == 0);
  read_model::room_summary s{room_id{1}, "n", 3, message_id{2}, {}};
  CHECK_FALSE(json::parse(read_model::encode(s)).contains("files"));  // short rows stay short
  s.file_num = 4;
  CHECK(read_model::decode_room_summary(read_model::encode(s))->file_num == 4);
  CHECK_FALSE(
      read_model::decode_room_summary(
          R"({"room_id":1,"name":"n","last_seq":3,"last_message":2,"deleted":[],"files":"x"})")
          .ok());
}

TEST_CASE("file events and snapshots round-trip the codec; v2 snapshots have no files",
          "[room][file][codec]") {
  for (const room::event& e :
       {room::event{room::upload_requested{file_id{3}, bob, "名前.txt", 12, "text/plain",
                                           "rooms/1/ab", 5, 905}},
        room::event{room::file_uploaded{file_id{3}, message_id{8}, 6}},
        room::event{room::upload_expired{file_id{3}, 7}},
        room::event{room::file_removed{file_id{3}}}}) {
    auto bytes = codec::encode(e);
    auto back = codec::decode_room_event(bytes);
    REQUIRE(back);
    CHECK(back->index() == e.index());
    CHECK(codec::encode(*back) == bytes);
  }
  auto s = run(run(with_file(), ask(carol, "b.txt")), room::retire_file{{}, file_id{2}, 5000, 0});
  REQUIRE(s.files.size() == 2);
  auto back = codec::decode_room_snapshot(codec::encode_snapshot(s));
  REQUIRE(back);
  CHECK(*back == s);
  // A version 2 snapshot (before files) reads with none.
  auto j = json::from_cbor(codec::encode_snapshot(made_room()));
  j["v"] = 2;
  j.erase("files");
  j.erase("last_file");
  auto old = codec::decode_room_snapshot(json::to_cbor(j));
  REQUIRE(old);
  CHECK(old->files.empty());
  CHECK(*old == made_room());
  // A malformed file entry is refused.
  auto bad = json::from_cbor(codec::encode_snapshot(s));
  bad["files"][0][3] = "ten";
  CHECK_FALSE(codec::decode_room_snapshot(json::to_cbor(bad)).ok());
}

TEST_CASE("file commands round-trip the command codec", "[room][file][command_codec]") {
  for (const room::command& c :
       {room::command{ask(bob)}, room::command{room::check_upload{bob, file_id{2}, 9}},
        room::command{complete(bob, 2)}, room::command{room::retire_file{{}, file_id{2}, 9, 60}},
        room::command{room::forget_file{{}, file_id{2}}}}) {
    auto text = codec::encode_command(c);
    auto back = codec::decode_room_command(text);
    INFO(text);
    REQUIRE(back);
    CHECK(codec::encode_command(*back) == text);
  }
  CHECK_FALSE(codec::decode_room_command(R"({"t":"room.forget_file","file":"x"})").ok());
  // The node's window and cap travel with a forwarded request_upload.
  auto c = ask(bob);
  c.window = 42;
  c.max_pending = 7;
  auto back = codec::decode_room_command(codec::encode_command(c));
  REQUIRE(back);
  const auto& up = std::get<room::request_upload>(*back);
  CHECK(up.window == 42);
  CHECK(up.max_pending == 7);
  auto j = json::parse(codec::encode_command(c));
  j.erase("window");
  CHECK_FALSE(codec::decode_room_command(j.dump()).ok());
  j = json::parse(codec::encode_command(c));
  j["max_pending"] = 1ull << 40;
  CHECK_FALSE(codec::decode_room_command(j.dump()).ok());
}

TEST_CASE("file ops parse strictly", "[protocol][file]") {
  auto parse = [](std::string text) { return protocol::parse_request(text); };
  auto ok = [&](std::string text) {
    auto r = parse(std::move(text));
    REQUIRE(std::holds_alternative<protocol::request>(r));
    return std::get<protocol::request>(r).body;
  };
  auto failed = [&](std::string text) {
    return std::holds_alternative<protocol::parse_failure>(parse(std::move(text)));
  };
  auto up = std::get<protocol::request_upload_req>(
      ok(R"({"id":1,"op":"request_upload","room_id":4,"filename":"a.txt","size":3,)"
         R"("content_type":"text/plain"})"));
  CHECK(up.room == room_id{4});
  CHECK(up.size == 3);
  CHECK(failed(R"({"id":1,"op":"request_upload","room_id":4,"filename":"a.txt","size":"3",)"
               R"("content_type":"text/plain"})"));
  CHECK(failed(R"({"id":1,"op":"request_upload","room_id":4,"filename":"a.txt","size":-1,)"
               R"("content_type":"text/plain"})"));
  CHECK(failed(R"({"id":1,"op":"request_upload","room_id":4,"size":3,"content_type":"a/b"})"));
  auto done = std::get<protocol::complete_upload_req>(
      ok(R"({"id":1,"op":"complete_upload","room_id":4,"file_id":2})"));
  CHECK(done.file == file_id{2});
  CHECK(done.message.empty());
  CHECK(std::get<protocol::complete_upload_req>(
            ok(R"({"id":1,"op":"complete_upload","room_id":4,"file_id":2,"message":"see this"})"))
            .message == "see this");
  CHECK(failed(R"({"id":1,"op":"complete_upload","room_id":4,"file_id":2,"message":5})"));
  CHECK(failed(R"({"id":1,"op":"complete_upload","room_id":4,"file_id":"2"})"));
  auto get = std::get<protocol::get_file_req>(
      ok(R"({"id":1,"op":"get_file","room_id":4,"file_id":2,"download_url":true})"));
  CHECK(get.download_url);
  CHECK_FALSE(
      std::get<protocol::get_file_req>(ok(R"({"id":1,"op":"get_file","room_id":4,"file_id":2})"))
          .download_url);
  CHECK(failed(R"({"id":1,"op":"get_file","room_id":4,"file_id":2,"download_url":1})"));
  auto list = std::get<protocol::list_files_req>(ok(R"({"id":1,"op":"list_files","room_id":4})"));
  CHECK_FALSE(list.account);
  CHECK(std::get<protocol::list_files_req>(
            ok(R"({"id":1,"op":"list_files","room_id":4,"account_id":2})"))
            .account == account_id{2});
  CHECK(failed(R"({"id":1,"op":"list_files","room_id":4,"account_id":0})"));
  CHECK(protocol::op_name(protocol::list_files_req{}) == "list_files");
}
