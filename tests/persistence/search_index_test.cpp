/// The search index as a projection: events in (encoded as the journal holds them), queries out.
#include <catch2/catch.hpp>

#include <atomic>
#include <fstream>
#include <string>
#include <thread>
#include <vector>

#include "hibiki/core/codec.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::persistence;

namespace {

/// Builds feed records for one partition with consecutive offsets.
class feed_builder {
 public:
  feed_record next(room_id room, const room::event& e) {
    feed_record r;
    r.partition = 0;
    r.offset = offset_++;
    r.event.entity = entity_of(room);
    r.event.seq = ++seq_[room.value];
    r.event.writer = "test";
    r.event.payload = codec::encode(e);
    return r;
  }
  feed_positions end() const { return {{0, offset_}}; }

 private:
  std::int64_t offset_ = 0;
  std::map<std::uint64_t, seq_nr> seq_;
};

room::message_posted post(std::uint64_t id, std::uint64_t author, std::string body,
                          unix_time time) {
  room::message_posted p;
  p.id = message_id{id};
  p.author = account_id{author};
  p.body = std::move(body);
  p.time = time;
  return p;
}

struct fixture {
  testkit::temp_dir dir{"hibiki-search"};
  feed_builder feed;
  std::unique_ptr<search_index> index;

  explicit fixture(search_options options = {}) {
    auto opened = search_index::open(dir.path() / "search", options);
    REQUIRE(opened.ok());
    index = std::move(*opened);
  }

  void apply(std::vector<std::pair<room_id, room::event>> events) {
    std::vector<feed_record> batch;
    for (auto& [room, e] : events) batch.push_back(feed.next(room, e));
    auto st = index->apply(batch, feed.end());
    INFO((st.ok() ? std::string() : st.error().message));
    REQUIRE(st.ok());
  }

  search_answer find(std::string text, std::vector<room_id> rooms,
                     search_order order = search_order::newest) {
    search_query q;
    q.text = std::move(text);
    q.rooms = std::move(rooms);
    q.order = order;
    auto a = index->search(q);
    REQUIRE(a.ok());
    return *a;
  }

  search_answer find(search_query q) {
    auto a = index->search(q);
    INFO((a.ok() ? std::string() : a.error().message));
    REQUIRE(a.ok());
    return *a;
  }

  errc refused(search_query q) {
    auto a = index->search(q);
    REQUIRE_FALSE(a.ok());
    return a.error().code;
  }
};

std::vector<std::uint64_t> message_ids(const search_answer& a) {
  std::vector<std::uint64_t> out;
  for (const auto& h : a.hits) out.push_back(h.message.value);
  return out;
}

const room_id r1{1};
const room_id r2{2};

}  // namespace

TEST_CASE("Japanese without spaces is found by any of its words", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "明日は東京都庁で会議があります", 100)},
           {r1, post(2, 10, "大阪城の見学は来週です", 101)}});
  CHECK(message_ids(f.find("東京", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(message_ids(f.find("都庁", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(message_ids(f.find("東京都庁", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(message_ids(f.find("会議", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(message_ids(f.find("大阪", {r1})) == std::vector<std::uint64_t>{2});
  CHECK(f.find("名古屋", {r1}).hits.empty());
  // Japanese and English in one body, found by either.
  f.apply({{r1, post(3, 10, "release の準備 done", 102)}});
  CHECK(message_ids(f.find("準備", {r1})) == std::vector<std::uint64_t>{3});
  CHECK(message_ids(f.find("release", {r1})) == std::vector<std::uint64_t>{3});
}

TEST_CASE("Latin words are stemmed when a language is set, and only then", "[search]") {
  SECTION("english") {
    fixture f;
    f.apply({{r1, post(1, 10, "The runners were running quickly", 100)}});
    CHECK(message_ids(f.find("run", {r1})) == std::vector<std::uint64_t>{1});
    CHECK(message_ids(f.find("RUNS", {r1})) == std::vector<std::uint64_t>{1});
    f.apply({{r1, post(2, 10, "Meetings Cancelled", 101)}});
    CHECK(message_ids(f.find("meeting cancel", {r1})) == std::vector<std::uint64_t>{2});
  }
  SECTION("none") {
    fixture f(search_options{.language = "none"});
    f.apply({{r1, post(1, 10, "The runners were running quickly", 100)}});
    CHECK(f.find("run", {r1}).hits.empty());
    CHECK(message_ids(f.find("running", {r1})) == std::vector<std::uint64_t>{1});
  }
  SECTION("an unknown language is refused") {
    testkit::temp_dir dir{"hibiki-search"};
    auto opened = search_index::open(dir.path() / "s", search_options{.language = "klingon"});
    REQUIRE_FALSE(opened.ok());
    CHECK(opened.error().code == errc::bad_request);
  }
}

TEST_CASE("Chatwork notation is not indexed; the text between tags is", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10,
                     "[To:2]Bob [rp aid=3 to=1-5][info][title]Plan[/title]deploy tonight[/info]"
                     "[qt][qtmeta aid=4 time=99]quoted words[/qt][download:7]report.pdf[/download]"
                     "[piconname:8][hr][code]x[/code]",
                     100)}});
  for (const char* tag : {"info", "title", "qt", "qtmeta", "aid", "rp", "download", "piconname",
                          "hr", "code", "To"}) {
    INFO(tag);
    CHECK(f.find(tag, {r1}).hits.empty());
  }
  for (const char* word : {"Bob", "Plan", "deploy", "quoted", "report.pdf", "report"}) {
    INFO(word);
    CHECK(message_ids(f.find(word, {r1})) == std::vector<std::uint64_t>{1});
  }
  const auto hit = f.find("deploy", {r1}).hits.at(0);
  CHECK(hit.snippet.find('[') == std::string::npos);
  CHECK(hit.snippet.find("<mark>deploy</mark>") != std::string::npos);
  // A bracket that is not a tag is text.
  f.apply({{r1, post(2, 10, "[draft] budget", 101)}});
  CHECK(message_ids(f.find("draft", {r1})) == std::vector<std::uint64_t>{2});
}

TEST_CASE("edits re-index, deletes remove, a deleted room disappears", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "apple pie", 100)},
           {r1, post(2, 11, "apple juice", 101)},
           {r2, post(1, 10, "apple tart", 102)}});
  REQUIRE(f.find("apple", {r1, r2}).total == 3);

  room::message_edited edit;
  edit.id = message_id{1};
  edit.body = "banana bread";
  edit.time = 200;
  f.apply({{r1, edit}});
  CHECK(message_ids(f.find("apple", {r1})) == std::vector<std::uint64_t>{2});
  const auto edited = f.find("banana", {r1});
  REQUIRE(edited.hits.size() == 1);
  CHECK(edited.hits[0].author == account_id{10});
  CHECK(edited.hits[0].time == 100);  // still ordered by when it was sent

  room::message_deleted del;
  del.id = message_id{2};
  del.time = 201;
  f.apply({{r1, del}});
  CHECK(f.find("apple", {r1}).hits.empty());
  // An edit of a deleted message does not bring it back.
  room::message_edited late;
  late.id = message_id{2};
  late.body = "apple again";
  f.apply({{r1, late}});
  CHECK(f.find("apple", {r1}).hits.empty());

  room::room_deleted gone;
  gone.time = 300;
  f.apply({{r2, gone}});
  CHECK(f.find("apple", {r1, r2}).hits.empty());
  CHECK(f.find("tart", {r2}).hits.empty());
  CHECK(message_ids(f.find("banana", {r1, r2})) == std::vector<std::uint64_t>{1});
  CHECK(*f.index->document_count() == 1);
}

TEST_CASE("only the rooms a query names are searched", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "secret plan", 100)}, {r2, post(1, 11, "public plan", 101)}});
  CHECK(f.find("secret", {r2}).hits.empty());
  CHECK(f.find("plan", {}).hits.empty());
  const auto both = f.find("plan", {r1, r2});
  CHECK(both.total == 2);
  search_query q;
  q.text = "secret";
  q.rooms = {r2};
  q.room = r1;  // a room filter outside the searcher's rooms finds nothing
  CHECK(f.find(q).hits.empty());
}

TEST_CASE("filters: room, author, time (strict bounds)", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "report one", 100)},
           {r1, post(2, 11, "report two", 200)},
           {r2, post(1, 10, "report three", 300)}});
  search_query q;
  q.text = "report";
  q.rooms = {r1, r2};
  q.room = r1;
  CHECK(message_ids(f.find(q)) == std::vector<std::uint64_t>{2, 1});
  q.room.reset();
  q.author = account_id{10};
  const auto by_author = f.find(q);
  REQUIRE(by_author.hits.size() == 2);
  CHECK(by_author.hits[0].room == r2);
  CHECK(by_author.hits[1].room == r1);
  q.author.reset();
  q.after_time = 100;
  q.before_time = 300;
  const auto between = f.find(q);
  REQUIRE(between.hits.size() == 1);
  CHECK(between.hits[0].time == 200);
  q.before_time.reset();
  CHECK(f.find(q).total == 2);
  q.after_time.reset();
  q.before_time = 200;
  CHECK(f.find(q).total == 1);
  q.after_time = 300;
  q.before_time = 100;  // an empty range
  CHECK(f.find(q).hits.empty());
}

TEST_CASE("order newest or relevance, paging and totals", "[search]") {
  fixture f;
  std::vector<std::pair<room_id, room::event>> events;
  for (std::uint64_t i = 1; i <= 30; ++i) {
    events.emplace_back(r1, post(i, 10, "status update number " + std::to_string(i),
                                 static_cast<unix_time>(1000 + i)));
  }
  // Message 31 says "deploy" three times: the most relevant to "deploy", but the oldest.
  events.emplace_back(r1, post(31, 10, "deploy deploy deploy", 500));
  events.emplace_back(r1, post(32, 10, "we deploy on friday after the long status meeting", 2000));
  f.apply(events);

  search_query q;
  q.text = "status";
  q.rooms = {r1};
  q.limit = 10;
  const auto page1 = f.find(q);
  CHECK(page1.total == 31);
  CHECK(message_ids(page1) == std::vector<std::uint64_t>{32, 30, 29, 28, 27, 26, 25, 24, 23, 22});
  q.offset = 10;
  const auto page2 = f.find(q);
  CHECK(page2.total == 31);
  CHECK(message_ids(page2).front() == 21);
  q.offset = 30;
  CHECK(message_ids(f.find(q)) == std::vector<std::uint64_t>{1});
  q.offset = 40;
  CHECK(f.find(q).hits.empty());

  CHECK(message_ids(f.find("deploy", {r1}, search_order::newest)) ==
        std::vector<std::uint64_t>{32, 31});
  CHECK(message_ids(f.find("deploy", {r1}, search_order::relevance)) ==
        std::vector<std::uint64_t>{31, 32});
}

TEST_CASE("snippets mark the matches and are HTML-escaped", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "<script>alert(\"x\")</script> & the deadline is Friday", 100)},
           {r1, post(2, 10, "明日は東京都庁で会議があります", 101)}});
  const auto hit = f.find("deadline", {r1}).hits.at(0);
  CHECK(hit.snippet.find("<mark>deadline</mark>") != std::string::npos);
  CHECK(hit.snippet.find("<script>") == std::string::npos);
  CHECK(hit.snippet.find("&lt;script&gt;") != std::string::npos);
  CHECK(hit.snippet.find("&amp;") != std::string::npos);
  CHECK(hit.snippet.find("&quot;x&quot;") != std::string::npos);
  CHECK(hit.snippet.find('"') == std::string::npos);
  const auto ja = f.find("都庁", {r1}).hits.at(0);
  CHECK(ja.snippet.find("<mark>") != std::string::npos);
  CHECK(ja.snippet.find("都") != std::string::npos);
}

TEST_CASE("bad queries are refused with bad_request; operators are plain words", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "cats AND dogs OR birds NOT fish (maybe) \"quoted\" star*", 100)}});
  search_query q;
  q.rooms = {r1};
  q.text = "";
  CHECK(f.refused(q) == errc::bad_request);
  q.text = " \t\n";
  CHECK(f.refused(q) == errc::bad_request);
  q.text = std::string(10 * 1024, 'a');
  CHECK(f.refused(q) == errc::bad_request);
  q.text = "abc\xff\xfe";
  CHECK(f.refused(q) == errc::bad_request);
  q.text = "\xed\xa0\x80";  // a UTF-16 surrogate encoded as UTF-8
  CHECK(f.refused(q) == errc::bad_request);
  q.text = "( \" * )";
  CHECK(f.refused(q) == errc::bad_request);  // nothing to search for
  q.text = "cats";
  q.limit = 0;
  CHECK(f.refused(q) == errc::bad_request);
  q.limit = 101;
  CHECK(f.refused(q) == errc::bad_request);
  q.limit = 100;
  q.offset = 1000000;
  CHECK(f.refused(q) == errc::bad_request);
  q.offset = 0;

  // Operator-laden text: searched as words, all of which must be there.
  for (const char* text :
       {"AND OR NOT ( \" *", "cats AND", "NOT fish", "\"quoted", "star*", "(maybe", "cats OR", "OR",
        "NOT", "* cats", "cats -dogs +birds", "title:cats", "cats NEAR dogs", "cats ADJ/3 dogs"}) {
    INFO(text);
    q.text = text;
    auto a = f.index->search(q);
    REQUIRE(a.ok());
  }
  q.text = "AND OR NOT ( \" *";
  CHECK(message_ids(f.find(q)) == std::vector<std::uint64_t>{1});  // it has "and", "or", "not"
  q.text = "cats NOT dogs";
  CHECK(message_ids(f.find(q)) == std::vector<std::uint64_t>{1});  // NOT is a word, not "but not"
  q.text = "cats elephants";
  CHECK(f.find(q).hits.empty());  // every word must match
  // The longest accepted query works.
  q.text = std::string(max_search_query_chars, 'x');
  CHECK(f.find(q).hits.empty());
}

TEST_CASE("positions are committed with the documents and survive reopening", "[search]") {
  testkit::temp_dir dir{"hibiki-search"};
  feed_builder feed;
  const auto path = dir.path() / "search";
  {
    auto index = search_index::open(path);
    REQUIRE(index.ok());
    CHECK((*index)->committed()->empty());
    std::vector<feed_record> batch{feed.next(r1, post(1, 10, "first words", 100)),
                                   feed.next(r1, post(2, 10, "second words", 101))};
    REQUIRE((*index)->apply(batch, feed.end()).ok());
    CHECK(*(*index)->committed() == feed_positions{{0, 2}});
  }
  {
    auto index = search_index::open(path);
    REQUIRE(index.ok());
    CHECK(*(*index)->committed() == feed_positions{{0, 2}});
    CHECK(*(*index)->document_count() == 2);
    // Several partitions (Kafka): each keeps its own position.
    std::vector<feed_record> batch{feed.next(r2, post(1, 10, "third words", 102))};
    batch[0].partition = 3;
    batch[0].offset = 40;
    REQUIRE((*index)->apply(batch, {{0, 2}, {3, 41}}).ok());
  }
  auto index = search_index::open(path);
  REQUIRE(index.ok());
  CHECK(*(*index)->committed() == feed_positions{{0, 2}, {3, 41}});
  search_query q;
  q.text = "words";
  q.rooms = {r1, r2};
  CHECK((*index)->search(q)->total == 3);
}

TEST_CASE("another open of the same index is refused while one has it", "[search]") {
  testkit::temp_dir dir{"hibiki-search"};
  auto first = search_index::open(dir.path() / "search");
  REQUIRE(first.ok());
  auto second = search_index::open(dir.path() / "search");
  REQUIRE_FALSE(second.ok());
  CHECK(second.error().code == errc::unavailable);
}

TEST_CASE("reset empties the index and its positions; it is built again", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "before the reset", 100)}});
  REQUIRE(f.find("reset", {r1}).total == 1);
  REQUIRE(f.index->reset().ok());
  CHECK(f.index->committed()->empty());
  CHECK(*f.index->document_count() == 0);
  CHECK(f.find("reset", {r1}).hits.empty());
  // Rebuilt from the beginning: the same events give the same answer.
  feed_builder again;
  std::vector<feed_record> batch{again.next(r1, post(1, 10, "before the reset", 100))};
  REQUIRE(f.index->apply(batch, again.end()).ok());
  CHECK(message_ids(f.find("reset", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(*f.index->committed() == feed_positions{{0, 1}});
}

TEST_CASE("events the index does not use are skipped", "[search]") {
  fixture f;
  room::member_added added;
  added.account = account_id{5};
  added.by = account_id{10};
  room::read_marked read;
  read.account = account_id{5};
  read.up_to = message_id{1};
  std::vector<feed_record> batch{f.feed.next(r1, added), f.feed.next(r1, read)};
  feed_record user_event;
  user_event.offset = 99;
  user_event.event.entity = "user-5";
  user_event.event.payload = {1, 2, 3};
  batch.push_back(user_event);
  feed_record garbage = f.feed.next(r1, added);
  garbage.event.payload = {0xff, 0x00};
  batch.push_back(garbage);
  REQUIRE(f.index->apply(batch, {{0, 100}}).ok());
  CHECK(*f.index->document_count() == 0);
  CHECK(*f.index->committed() == feed_positions{{0, 100}});
}

TEST_CASE("searches run on other threads while batches are applied and reset", "[search]") {
  fixture f;
  std::atomic<bool> done{false};
  std::atomic<int> failures{0};
  std::atomic<int> answered{0};
  std::vector<std::thread> readers;
  for (int t = 0; t < 3; ++t) {
    readers.emplace_back([&] {
      search_query q;
      q.text = "parallel";
      q.rooms = {r1};
      while (!done.load()) {
        auto a = f.index->search(q);
        if (!a.ok()) {
          ++failures;
        } else {
          ++answered;
        }
      }
    });
  }
  std::uint64_t id = 0;
  for (int batch = 0; batch < 40; ++batch) {
    std::vector<std::pair<room_id, room::event>> events;
    for (int i = 0; i < 25; ++i) {
      ++id;
      events.emplace_back(
          r1, post(id, 10, "parallel words " + std::to_string(id), static_cast<unix_time>(id)));
    }
    f.apply(events);
    if (batch == 20) REQUIRE(f.index->reset().ok());
  }
  done = true;
  for (auto& t : readers) t.join();
  CHECK(failures.load() == 0);
  CHECK(answered.load() > 0);
  // Reset after batch 20 dropped the first 21 batches.
  CHECK(*f.index->document_count() == 19 * 25);
}

TEST_CASE("one CJK character finds it anywhere in a run; snippets mark it", "[search]") {
  fixture f;
  f.apply({{r1, post(1, 10, "明日は東京都庁で会議", 100)},  // 都: inside a run
           {r1, post(2, 10, "京都", 101)},                  // 都: a run's last character
           {r1, post(3, 10, "都 は", 102)},                 // 都: a run of its own
           {r1, post(4, 10, "大阪で会議", 103)}});
  CHECK(message_ids(f.find("都", {r1})) == std::vector<std::uint64_t>{3, 2, 1});
  CHECK(message_ids(f.find("京", {r1})) == std::vector<std::uint64_t>{2, 1});
  CHECK(message_ids(f.find("議", {r1})) == std::vector<std::uint64_t>{4, 1});
  CHECK(f.find("都", {r1}).hits.back().snippet == "明日は東京<mark>都</mark>庁で会議");
  // Pairs: all of a query's pairs must be there, not next to each other.
  CHECK(message_ids(f.find("東京都庁", {r1})) == std::vector<std::uint64_t>{1});
  CHECK(message_ids(f.find("京都", {r1})) == std::vector<std::uint64_t>{2, 1});
  CHECK(f.find("京都", {r1}).hits.front().snippet == "<mark>京都</mark>");
  CHECK(f.find("東京都庁", {r1}).hits.front().snippet == "明日は<mark>東京都庁</mark>で会議");
  CHECK(f.find("阪大", {r1}).hits.empty());
}

TEST_CASE("snippets mark stemmed words, and exact words with language none", "[search]") {
  SECTION("english") {
    fixture f;
    f.apply({{r1, post(1, 10, "Weekly Meetings are cancelled; the meeting room is free", 100)}});
    CHECK(f.find("meeting", {r1}).hits.at(0).snippet ==
          "Weekly <mark>Meetings</mark> are cancelled; the <mark>meeting</mark> room is free");
    CHECK(f.find("cancel", {r1}).hits.at(0).snippet.find("<mark>cancelled</mark>") !=
          std::string::npos);
  }
  SECTION("none") {
    fixture f(search_options{.language = "none"});
    f.apply({{r1, post(1, 10, "Weekly Meetings, one meeting", 100)}});
    CHECK(f.find("meetings", {r1}).hits.at(0).snippet ==
          "Weekly <mark>Meetings</mark>, one meeting");
  }
  SECTION("a long body is cut around the first match") {
    fixture f;
    std::string body;
    for (int i = 0; i < 40; ++i) body += "filler ";
    body += "needle";
    for (int i = 0; i < 40; ++i) body += " 東京";
    f.apply({{r1, post(1, 10, body, 100)}});
    const auto snippet = f.find("needle", {r1}).hits.at(0).snippet;
    CHECK(snippet.rfind("\u2026", 0) == 0);
    CHECK(snippet.find("<mark>needle</mark>") != std::string::npos);
    CHECK(snippet.size() < 260);
    CHECK(snippet.substr(snippet.size() - 3) == "\u2026");
  }
}

TEST_CASE("shards: any number gives the same answers, and an index of another layout is rebuilt",
          "[search]") {
  const auto load = [](fixture& f) {
    f.apply({{room_id{1}, post(1, 10, "deploy friday 東京", 100)},
             {room_id{2}, post(1, 11, "deploy monday", 101)},
             {room_id{3}, post(1, 12, "東京 deploy", 102)},
             {room_id{4}, post(1, 12, "nothing here", 103)}});
    f.apply({{room_id{2}, room::message_deleted{message_id{1}, 104}},
             {room_id{3}, room::message_edited{message_id{1}, "東京 deployed", 105, {}}}});
  };
  const std::vector<room_id> all{room_id{1}, room_id{2}, room_id{3}, room_id{4}};
  for (const std::size_t shards : {1, 2, 3}) {
    INFO(shards);
    fixture f(search_options{.shards = shards});
    load(f);
    CHECK(message_ids(f.find("deploy", all)) == std::vector<std::uint64_t>{1, 1});
    CHECK(f.find("deploy", all).hits.front().room == room_id{3});
    CHECK(message_ids(f.find("東京", all, search_order::relevance)).size() == 2);
    CHECK(*f.index->document_count() == 3);
    CHECK(*f.index->committed() == f.feed.end());
  }
  SECTION("reopened with another number of shards: emptied, positions gone, built again") {
    testkit::temp_dir dir{"hibiki-search"};
    {
      auto first = search_index::open(dir.path() / "search", search_options{.shards = 2});
      REQUIRE(first.ok());
      feed_builder feed;
      std::vector<feed_record> batch{feed.next(r1, post(1, 10, "hello", 100))};
      REQUIRE((*first)->apply(batch, feed.end()).ok());
    }
    auto again = search_index::open(dir.path() / "search", search_options{.shards = 3});
    REQUIRE(again.ok());
    CHECK((*again)->committed()->empty());
    CHECK(*(*again)->document_count() == 0);
  }
  SECTION("the single database of earlier versions is emptied when opened") {
    testkit::temp_dir dir{"hibiki-search"};
    std::filesystem::create_directories(dir.path() / "search");
    std::ofstream(dir.path() / "search" / "iamglass") << "an index of the old terms";
    auto opened = search_index::open(dir.path() / "search");
    REQUIRE(opened.ok());
    CHECK_FALSE(std::filesystem::exists(dir.path() / "search" / "iamglass"));
    CHECK((*opened)->committed()->empty());
  }
  SECTION("a bad number of shards is refused") {
    testkit::temp_dir dir{"hibiki-search"};
    auto none = search_index::open(dir.path() / "search", search_options{.shards = 0});
    REQUIRE_FALSE(none.ok());
    CHECK(none.error().code == errc::bad_request);
  }
}
