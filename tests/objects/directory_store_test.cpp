// The directory store on a real file system: signed URLs of S3's shape pointing at hibikid,
// authorize() on the requests a client sends with them (and on bad ones), streamed writes that
// appear only when complete, head/remove/put, the signing key kept across a reopen.
#include <catch2/catch.hpp>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "hibiki/persistence/directory_store.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::persistence;
using namespace std::chrono_literals;

namespace {

const auto t0 = std::chrono::sys_days{std::chrono::year{2026} / 12 / 5} + 14h;

std::shared_ptr<directory_store> open_store(const testkit::temp_dir& dir,
                                            std::string url = "http://127.0.0.1:8080") {
  auto store = directory_store::open({dir.sub("files"), std::move(url)});
  REQUIRE(store.ok());
  return *store;
}

/// The target (path and query) of a URL the store signed.
std::string target_of(const std::string& url) {
  const auto scheme_end = url.find("://");
  return url.substr(url.find('/', scheme_end + 3));
}

std::vector<sigv4::name_value> put_headers(std::string length, std::string type,
                                           std::string host = "127.0.0.1:8080") {
  return {{"host", std::move(host)},
          {"content-length", std::move(length)},
          {"content-type", std::move(type)}};
}

std::string read_file(const std::filesystem::path& p) {
  std::ifstream in(p, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

}  // namespace

TEST_CASE("Object keys are strict: no traversal and no odd characters", "[objects]") {
  CHECK(valid_object_key("rooms/12/f-3a_b.c"));
  CHECK(valid_object_key("a"));
  CHECK_FALSE(valid_object_key(""));
  CHECK_FALSE(valid_object_key("/a"));
  CHECK_FALSE(valid_object_key("a/"));
  CHECK_FALSE(valid_object_key("a//b"));
  CHECK_FALSE(valid_object_key(".."));
  CHECK_FALSE(valid_object_key("a/../b"));
  CHECK_FALSE(valid_object_key("a/./b"));
  CHECK_FALSE(valid_object_key("a b"));
  CHECK_FALSE(valid_object_key("a%2Fb"));
  CHECK_FALSE(valid_object_key("a\\b"));
  CHECK_FALSE(valid_object_key(std::string(513, 'a')));
  CHECK(valid_object_key(std::string(512, 'a')));
}

TEST_CASE("The directory store signs PUT URLs at its public URL and authorizes them", "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  auto url = store->presign_put("rooms/1/f1", 11, "text/plain", 900s, t0);
  REQUIRE(url.ok());
  CHECK(url->url.rfind("http://127.0.0.1:8080/files/rooms/1/f1?X-Amz-Algorithm=AWS4-HMAC-SHA256",
                       0) == 0);
  CHECK(url->url.find("X-Amz-SignedHeaders=content-length%3Bcontent-type%3Bhost") !=
        std::string::npos);
  CHECK(url->expires_at ==
        std::chrono::duration_cast<std::chrono::seconds>((t0 + 900s).time_since_epoch()).count());
  auto grant =
      store->authorize("PUT", target_of(url->url), put_headers("11", "text/plain"), t0 + 10s);
  REQUIRE(grant.ok());
  CHECK(grant->key == "rooms/1/f1");
  CHECK(grant->size == 11);
  CHECK(grant->content_type == "text/plain");
}

TEST_CASE("The directory store refuses requests its signature does not cover", "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  auto url = store->presign_put("rooms/1/f1", 11, "text/plain", 900s, t0);
  REQUIRE(url.ok());
  const auto target = target_of(url->url);
  auto refused = [&](std::string_view method, const std::string& t,
                     const std::vector<sigv4::name_value>& headers, errc code,
                     std::chrono::system_clock::time_point now = t0 + 10s) {
    auto g = store->authorize(method, t, headers, now);
    REQUIRE_FALSE(g.ok());
    CHECK(g.error().code == code);
  };
  SECTION("tampered signature") {
    auto t = target;
    t.back() = t.back() == '0' ? '1' : '0';
    refused("PUT", t, put_headers("11", "text/plain"), errc::forbidden);
  }
  SECTION("expired") {
    refused("PUT", target, put_headers("11", "text/plain"), errc::forbidden, t0 + 901s);
  }
  SECTION("wrong length or type") {
    refused("PUT", target, put_headers("12", "text/plain"), errc::forbidden);
    refused("PUT", target, put_headers("11", "text/html"), errc::forbidden);
  }
  SECTION("another host") {
    refused("PUT", target, put_headers("11", "text/plain", "other:8080"), errc::forbidden);
  }
  SECTION("replayed for another key") {
    auto t = target;
    t.replace(t.find("f1"), 2, "f2");
    refused("PUT", t, put_headers("11", "text/plain"), errc::forbidden);
  }
  SECTION("a GET with a PUT URL") {
    refused("GET", target, {{"host", "127.0.0.1:8080"}}, errc::forbidden);
  }
  SECTION("path traversal in the key") {
    auto t = target;
    t.replace(0, std::string("/files/rooms/1/f1").size(), "/files/rooms/../../etc/passwd");
    refused("PUT", t, put_headers("11", "text/plain"), errc::bad_request);
    t = target;
    t.replace(0, std::string("/files/rooms/1/f1").size(), "/files/rooms/%2E%2E/%2E%2E/x");
    refused("PUT", t, put_headers("11", "text/plain"), errc::bad_request);
  }
  SECTION("no signature at all") {
    refused("PUT", "/files/rooms/1/f1", put_headers("11", "text/plain"), errc::bad_request);
  }
  SECTION("malformed escapes") {
    refused("PUT", "/files/rooms/1/f1?X-Amz-Date=%ZZ", put_headers("11", "text/plain"),
            errc::bad_request);
  }
  SECTION("a URL signed by another store (another secret)") {
    testkit::temp_dir other_dir("hibiki-objects");
    auto other = open_store(other_dir);
    auto foreign = other->presign_put("rooms/1/f1", 11, "text/plain", 900s, t0);
    REQUIRE(foreign.ok());
    refused("PUT", target_of(foreign->url), put_headers("11", "text/plain"), errc::forbidden);
  }
}

TEST_CASE("A PUT URL without signed length and type is refused even with a valid signature",
          "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  // A HEAD URL is validly signed but binds no length: used as a PUT, its method already differs;
  // a GET URL carries only host. Both must fail for PUT.
  auto get = store->presign_get("rooms/1/f1", "a.txt", 30s, t0);
  REQUIRE(get.ok());
  auto g = store->authorize("PUT", target_of(get->url), put_headers("11", "text/plain"), t0);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().code == errc::forbidden);
}

TEST_CASE("The directory store streams an object into place only when complete", "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  SECTION("complete") {
    auto w = store->begin_put("rooms/1/f1", 11, "text/plain");
    REQUIRE(w.ok());
    REQUIRE((*w)->write("hello ", 6).ok());
    CHECK(store->head("rooms/1/f1").error().code == errc::not_found);
    REQUIRE((*w)->write("world", 5).ok());
    REQUIRE((*w)->commit().ok());
    auto info = store->head("rooms/1/f1");
    REQUIRE(info.ok());
    CHECK(info->size == 11);
    CHECK(info->content_type == "text/plain");
    auto found = store->find("rooms/1/f1");
    REQUIRE(found.ok());
    CHECK(read_file(found->path) == "hello world");
  }
  SECTION("more bytes than announced") {
    auto w = store->begin_put("rooms/1/f1", 3, "text/plain");
    REQUIRE(w.ok());
    CHECK((*w)->write("abcd", 4).error().code == errc::bad_request);
  }
  SECTION("fewer bytes than announced, or abandoned") {
    {
      auto w = store->begin_put("rooms/1/f1", 3, "text/plain");
      REQUIRE(w.ok());
      REQUIRE((*w)->write("ab", 2).ok());
      CHECK((*w)->commit().error().code == errc::bad_request);
    }
    {
      auto w = store->begin_put("rooms/1/f2", 3, "text/plain");
      REQUIRE(w.ok());
      REQUIRE((*w)->write("ab", 2).ok());
    }  // dropped mid-way: a cut connection
    CHECK(store->head("rooms/1/f1").error().code == errc::not_found);
    CHECK(store->head("rooms/1/f2").error().code == errc::not_found);
    CHECK(std::filesystem::is_empty(store->root() / "tmp"));
  }
  SECTION("a bad key") {
    CHECK(store->begin_put("../x", 1, "text/plain").error().code == errc::bad_request);
    CHECK(store->head("a/../../x").error().code == errc::bad_request);
    CHECK(store->remove("..").error().code == errc::bad_request);
  }
}

TEST_CASE("The directory store's put pulls from a source and remove is idempotent", "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  const std::string data(200'000, 'x');
  std::size_t at = 0;
  auto source = [&](char* buf, std::size_t cap) -> result<std::size_t> {
    const auto n = std::min(cap, data.size() - at);
    std::copy_n(data.data() + at, n, buf);
    at += n;
    return n;
  };
  REQUIRE(store->put("big", data.size(), "application/octet-stream", source).ok());
  CHECK(store->head("big")->size == data.size());
  at = 0;
  CHECK(store->put("short", data.size() + 1, "application/octet-stream", source).error().code ==
        errc::bad_request);
  at = 0;
  CHECK(store->put("long", data.size() - 1, "application/octet-stream", source).error().code ==
        errc::bad_request);
  CHECK(store->head("short").error().code == errc::not_found);
  CHECK(store->head("long").error().code == errc::not_found);
  auto failing = [](char*, std::size_t) -> result<std::size_t> {
    return error{errc::unavailable, "client went away"};
  };
  CHECK(store->put("failed", 10, "text/plain", failing).error().code == errc::unavailable);
  REQUIRE(store->remove("big").ok());
  CHECK(store->head("big").error().code == errc::not_found);
  CHECK(store->remove("big").ok());
}

TEST_CASE("The directory store's GET URL carries the signed Content-Disposition", "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  auto store = open_store(dir);
  auto url = store->presign_get("rooms/1/f1", "\xe5\xa0\xb1\xe5\x91\x8a.pdf", 30s, t0);
  REQUIRE(url.ok());
  auto g = store->authorize("GET", target_of(url->url), {{"host", "127.0.0.1:8080"}}, t0 + 29s);
  REQUIRE(g.ok());
  CHECK(g->content_disposition ==
        "attachment; filename=\"______.pdf\"; filename*=UTF-8''%E5%A0%B1%E5%91%8A.pdf");
  CHECK(store->authorize("GET", target_of(url->url), {{"host", "127.0.0.1:8080"}}, t0 + 31s)
            .error()
            .code == errc::forbidden);
  auto head = store->presign_head("rooms/1/f1", 30s, t0);
  REQUIRE(head.ok());
  CHECK(store->authorize("HEAD", target_of(head->url), {{"host", "127.0.0.1:8080"}}, t0).ok());
}

TEST_CASE("The directory store keeps its signing key across a reopen and refuses bad options",
          "[objects]") {
  testkit::temp_dir dir("hibiki-objects");
  std::string url;
  {
    auto store = open_store(dir);
    url = store->presign_put("k", 1, "text/plain", 900s, t0)->url;
  }
  auto reopened = open_store(dir);
  CHECK(reopened->authorize("PUT", target_of(url), put_headers("1", "text/plain"), t0).ok());
  CHECK((std::filesystem::status(reopened->root() / ".signing-key").permissions() &
         std::filesystem::perms::others_read) == std::filesystem::perms::none);

  CHECK(directory_store::open({dir.sub("x"), "ftp://host"}).error().code == errc::bad_request);
  CHECK(directory_store::open({dir.sub("x"), "http://host/path"}).error().code ==
        errc::bad_request);
  CHECK(directory_store::open({dir.sub("x"), "http://host:99999"}).error().code ==
        errc::bad_request);
  CHECK(directory_store::open({"", ""}).error().code == errc::bad_request);
  auto no_url = directory_store::open({dir.sub("y"), ""});
  REQUIRE(no_url.ok());
  CHECK((*no_url)->presign_put("k", 1, "text/plain", 60s, t0).error().code == errc::unavailable);
  REQUIRE((*no_url)->set_public_url("https://files.example.com/").ok());
  CHECK((*no_url)
            ->presign_put("k", 1, "text/plain", 60s, t0)
            ->url.rfind("https://files.example.com/files/k?", 0) == 0);
  CHECK((*no_url)->presign_put("k", 1, "text/\nplain", 60s, t0).error().code == errc::bad_request);
  CHECK((*no_url)->presign_put("a/../k", 1, "text/plain", 60s, t0).error().code ==
        errc::bad_request);
}
