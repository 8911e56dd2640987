// The HTTP side of the gateway: health, sign-up, static files and the limits on requests.

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using verb = boost::beast::http::verb;

namespace {

std::string error_code_of(const http_reply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}

}  // namespace

TEST_CASE("healthz follows node health", "[gateway][http]") {
  gateway_fixture f;
  auto ok = http_request(f.port, verb::get, "/healthz");
  REQUIRE(ok.status == 200);
  REQUIRE(nlohmann::json::parse(ok.body)["status"] == "ok");
  REQUIRE(ok.content_type == "application/json");

  f.node.set_healthy(false);
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 503);
  f.node.set_healthy(true);
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  REQUIRE(http_request(f.port, verb::post, "/healthz", "{}").status == 405);
}

TEST_CASE("signup returns the account and token", "[gateway][http]") {
  gateway_fixture f;  // test_options() opens sign-up (closed by default)
  REQUIRE(f.server->open_signup());
  auto r = http_request(f.port, verb::post, "/api/signup", R"({"name":"alice"})");
  REQUIRE(r.status == 200);
  auto j = nlohmann::json::parse(r.body);
  REQUIRE(j["account_id"] == 1);
  REQUIRE(j["name"] == "alice");
  REQUIRE(j["token"] == "token-1");

  auto r2 = http_request(f.port, verb::post, "/api/signup", R"({"name":"bob"})");
  REQUIRE(r2.status == 200);
  REQUIRE(nlohmann::json::parse(r2.body)["account_id"] == 2);
}

TEST_CASE("a slow signup still answers and others are served meanwhile", "[gateway][http]") {
  gateway_fixture f;
  f.node.set_signup_delay(std::chrono::milliseconds(500));
  http_reply slow;
  std::thread t(
      [&] { slow = http_request(f.port, verb::post, "/api/signup", R"({"name":"carol"})"); });
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
  t.join();
  REQUIRE(slow.status == 200);
  REQUIRE(nlohmann::json::parse(slow.body)["name"] == "carol");
}

TEST_CASE("signup rejects bad input with 400", "[gateway][http]") {
  gateway_fixture f;
  SECTION("malformed JSON") {
    auto r = http_request(f.port, verb::post, "/api/signup", R"({"name":)");
    REQUIRE(r.status == 400);
    REQUIRE(error_code_of(r) == "bad_request");
  }
  SECTION("not an object") {
    REQUIRE(http_request(f.port, verb::post, "/api/signup", R"(["alice"])").status == 400);
  }
  SECTION("missing name") {
    auto r = http_request(f.port, verb::post, "/api/signup", R"({"nom":"alice"})");
    REQUIRE(r.status == 400);
    REQUIRE(error_code_of(r) == "bad_request");
  }
  SECTION("name not a string") {
    REQUIRE(http_request(f.port, verb::post, "/api/signup", R"({"name":42})").status == 400);
  }
  SECTION("invalid name, refused by the node") {
    auto r = http_request(f.port, verb::post, "/api/signup", R"({"name":"has space"})");
    REQUIRE(r.status == 400);
    REQUIRE(error_code_of(r) == "bad_request");
  }
  SECTION("wrong method") {
    REQUIRE(http_request(f.port, verb::get, "/api/signup").status == 405);
  }
  SECTION("body over the limit") {
    auto big = R"({"name":")" + std::string(100 * 1024, 'a') + R"("})";
    REQUIRE(http_request(f.port, verb::post, "/api/signup", big).status == 413);
  }
  // Whatever came before, the server still signs people up.
  REQUIRE(http_request(f.port, verb::post, "/api/signup", R"({"name":"dave"})").status == 200);
}

TEST_CASE("signup is closed by default even on loopback", "[gateway][http]") {
  REQUIRE_FALSE(gateway::gateway_options{}.open_signup);
}

TEST_CASE("signup is 403 when closed", "[gateway][http]") {
  auto options = gateway_fixture::test_options();
  options.open_signup = false;
  gateway_fixture f(options);
  REQUIRE_FALSE(f.server->open_signup());
  auto r = http_request(f.port, verb::post, "/api/signup", R"({"name":"eve"})");
  REQUIRE(r.status == 403);
  REQUIRE(error_code_of(r) == "forbidden");
}

TEST_CASE("static files are served with their type", "[gateway][http]") {
  gateway_fixture f;
  auto index = http_request(f.port, verb::get, "/");
  REQUIRE(index.status == 200);
  REQUIRE(index.body == "<!doctype html><title>hibiki</title>");
  REQUIRE(index.content_type == "text/html; charset=utf-8");

  auto js = http_request(f.port, verb::get, "/app.js?v=1");
  REQUIRE(js.status == 200);
  REQUIRE(js.content_type == "text/javascript; charset=utf-8");

  REQUIRE(http_request(f.port, verb::get, "/missing.css").status == 404);
  REQUIRE(http_request(f.port, verb::delete_, "/index.html").status == 405);
}

TEST_CASE("path traversal is rejected", "[gateway][http]") {
  gateway_fixture f;
  for (const char* target : {"/../secret.txt", "/..%2fsecret.txt", "/%2e%2e/secret.txt",
                             "/a/../../secret.txt", "/..\\secret.txt", "..", "secret.txt"}) {
    INFO(target);
    auto r = http_request(f.port, verb::get, target);
    REQUIRE(r.status >= 400);
    REQUIRE(r.body.find("TOP-SECRET") == std::string::npos);
  }
}

TEST_CASE("a plain GET of /ws is 400", "[gateway][http]") {
  gateway_fixture f;
  REQUIRE(http_request(f.port, verb::get, "/ws").status == 400);
}
