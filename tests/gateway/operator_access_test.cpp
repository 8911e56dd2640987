// Who reaches the operator endpoints: the route table and the access rules (routes.hpp) as pure
// functions, then the same rules on a real gateway (admin token, admin listener, neither), the
// admin account API (admin_api.hpp) with its bad inputs, and the web root of an installed binary.

#include <nlohmann/json.hpp>

#include "admin_api.hpp"
#include "gateway_fixture.hpp"
#include "routes.hpp"
#include "test_client.hpp"
#include "web_root.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using gateway::listener_role;
using gateway::route_kind;
using gateway::route_of;
using verb = boost::beast::http::verb;

namespace {

std::string error_code_of(const http_reply& r) {
  auto j = nlohmann::json::parse(r.body, nullptr, false);
  if (j.is_discarded() || !j.contains("error")) return "";
  return j["error"].value("code", "");
}

const std::string token = gateway_fixture::admin_token;
const std::string bearer = "Bearer " + token;

http_reply with_headers(std::uint16_t port, verb v, const std::string& target,
                        const header_list& headers, std::string body = {}) {
  return http_request_with("127.0.0.1", port, v, target, std::move(body), headers);
}

/// A gateway with an admin listener too; `token` empty = no admin token.
gateway::gateway_options with_admin_listener(const std::string& admin_token) {
  auto o = gateway_fixture::test_options();
  o.admin_token = admin_token;
  o.admin_host = "127.0.0.1";
  o.admin_port = 0;
  return o;
}

}  // namespace

TEST_CASE("the route table names the operator and monitoring paths", "[gateway][admin]") {
  CHECK(route_of("/api/journal") == route_kind::operator_only);
  CHECK(route_of("/api/cluster") == route_kind::operator_only);
  CHECK(route_of("/api/admin/disable-account") == route_kind::operator_only);
  CHECK(route_of("/api/admin/") == route_kind::operator_only);
  CHECK(route_of("/api/admin") == route_kind::operator_only);
  CHECK(route_of("/metrics") == route_kind::monitoring);
  CHECK(route_of("/readyz") == route_kind::monitoring);
  CHECK(route_of("/healthz") == route_kind::health);
  for (const char* web : {"/", "/index.html", "/ws", "/api/signup", "/api/journals",
                          "/api/clusterx", "/api/adminx", "/metricsx", "/healthz/x"}) {
    INFO(web);
    CHECK(route_of(web) == route_kind::web);
  }
}

TEST_CASE("the access rules for each listener and configuration", "[gateway][admin]") {
  gateway::gateway_options none;  // neither a token nor an admin listener
  gateway::gateway_options token_only;
  token_only.admin_token = token;
  gateway::gateway_options listener_only;
  listener_only.admin_host = "127.0.0.1";
  gateway::gateway_options both = token_only;
  both.admin_host = "127.0.0.1";
  auto status = [](route_kind k, listener_role r, const gateway::gateway_options& o,
                   std::string_view auth) -> unsigned {
    auto refused = gateway::check_access(k, r, o, auth);
    return refused ? refused->status : 200;
  };
  const auto op = route_kind::operator_only;
  const auto main = listener_role::main;
  const auto admin = listener_role::admin;

  // Neither: off, whatever the header says (and a loopback peer is nothing special).
  CHECK(status(op, main, none, "") == 403);
  CHECK(status(op, main, none, bearer) == 403);
  // Token only: on --http with the token.
  CHECK(status(op, main, token_only, "") == 401);
  CHECK(status(op, main, token_only, "Bearer wrong") == 401);
  CHECK(status(op, main, token_only, bearer) == 200);
  // Admin listener only: there without a token, never on --http (a token does not help).
  CHECK(status(op, admin, listener_only, "") == 200);
  CHECK(status(op, main, listener_only, "") == 404);
  CHECK(status(op, main, listener_only, bearer) == 404);
  // Both: the admin listener wants the token too; --http serves none of it.
  CHECK(status(op, admin, both, "") == 401);
  CHECK(status(op, admin, both, "Bearer wrong") == 401);
  CHECK(status(op, admin, both, bearer) == 200);
  CHECK(status(op, main, both, bearer) == 404);

  // Monitoring: public on --http until there is an admin listener, then only there.
  CHECK(status(route_kind::monitoring, main, none, "") == 200);
  CHECK(status(route_kind::monitoring, main, token_only, "") == 200);
  CHECK(status(route_kind::monitoring, main, listener_only, "") == 404);
  CHECK(status(route_kind::monitoring, admin, both, "") == 200);
  // The web client is not on the admin listener; health is on both.
  CHECK(status(route_kind::web, admin, listener_only, "") == 404);
  CHECK(status(route_kind::web, main, both, "") == 200);
  CHECK(status(route_kind::health, admin, both, "") == 200);
  CHECK(status(route_kind::health, main, both, "") == 200);
}

TEST_CASE("the bearer token comparison", "[gateway][admin]") {
  CHECK(gateway::bearer_matches("Bearer secret", "secret"));
  CHECK(gateway::bearer_matches("bearer secret", "secret"));  // the scheme is case-insensitive
  CHECK(gateway::bearer_matches("Bearer  secret ", "secret"));
  for (const char* bad : {"", "secret", "Bearer", "Bearer ", "Bearer secre", "Bearer secrets",
                          "Bearer Secret", "Basic c2VjcmV0", "Bearersecret", "Bearer xecret"}) {
    INFO(bad);
    CHECK_FALSE(gateway::bearer_matches(bad, "secret"));
  }
  // No token configured matches nothing, not even an empty one.
  CHECK_FALSE(gateway::bearer_matches("Bearer ", ""));
  CHECK_FALSE(gateway::bearer_matches("", ""));
}

TEST_CASE("without a token or an admin listener the operator endpoints are off",
          "[gateway][admin]") {
  auto options = gateway_fixture::test_options();
  options.admin_token.clear();
  gateway_fixture f(options);
  for (const char* path : {"/api/journal", "/api/cluster"}) {
    auto r = http_request(f.port, verb::get, path);
    REQUIRE(r.status == 403);
    REQUIRE(error_code_of(r) == "forbidden");
    REQUIRE(r.body.find("--admin-token-file") != std::string::npos);
  }
  auto a = http_request(f.port, verb::post, "/api/admin/create-account", R"({"name":"eve"})");
  REQUIRE(a.status == 403);
  REQUIRE(f.node.journal_calls() == 0);
  REQUIRE(f.node.cluster_calls() == 0);
  REQUIRE(f.node.sessions() == 0);
}

TEST_CASE("behind a proxy on the same host the operator endpoints still want the token",
          "[gateway][admin]") {
  // A reverse proxy on this machine: every peer is loopback, and the client's address comes in
  // X-Forwarded-For. Neither makes the request an operator's.
  gateway_fixture f;
  for (const char* forwarded : {"203.0.113.9", "127.0.0.1"}) {
    INFO(forwarded);
    for (const char* path : {"/api/journal", "/api/cluster"}) {
      auto r = with_headers(f.port, verb::get, path, {{"X-Forwarded-For", forwarded}});
      REQUIRE(r.status == 401);
      REQUIRE(error_code_of(r) == "unauthenticated");
      REQUIRE(r.www_authenticate == "Bearer");
    }
    auto a = with_headers(f.port, verb::post, "/api/admin/disable-account",
                          {{"X-Forwarded-For", forwarded}}, R"({"account_id":1})");
    REQUIRE(a.status == 401);
  }
  REQUIRE(f.node.journal_calls() == 0);
  REQUIRE(f.node.admin_requests().empty());
  // A wrong token, a token without the scheme, another scheme: 401 too.
  for (const char* auth : {"Bearer nope", "test-admin-token-0123456789abcdef",
                           "Basic dGVzdA==", "Bearer test-admin-token-0123456789abcdeF"}) {
    INFO(auth);
    REQUIRE(with_headers(f.port, verb::get, "/api/journal", {{"Authorization", auth}}).status ==
            401);
  }
  REQUIRE(f.node.journal_calls() == 0);
  // The right token: served.
  REQUIRE(with_headers(f.port, verb::get, "/api/journal", {{"Authorization", bearer}}).status ==
          200);
  REQUIRE(f.node.journal_calls() == 1);
}

TEST_CASE("an admin listener serves the operator endpoints and nothing else", "[gateway][admin]") {
  gateway_fixture f(with_admin_listener(""));
  const auto admin_port = f.server->admin_port();
  REQUIRE(admin_port != 0);
  REQUIRE(admin_port != f.port);
  // On the admin listener, without a token (none is configured).
  REQUIRE(http_request(admin_port, verb::get, "/api/journal").status == 200);
  REQUIRE(http_request(admin_port, verb::get, "/api/cluster").status == 200);
  REQUIRE(http_request(admin_port, verb::get, "/healthz").status == 200);
  // Not the web client, the WebSocket or sign-up.
  REQUIRE(http_request(admin_port, verb::get, "/").status == 404);
  REQUIRE(http_request(admin_port, verb::post, "/api/signup", R"({"name":"x"})").status == 404);
  REQUIRE(upgrade_status(admin_port, "/ws") == 404);
  // And the main listener no longer serves the operator endpoints at all.
  auto r = http_request(f.port, verb::get, "/api/journal");
  REQUIRE(r.status == 404);
  REQUIRE(r.body.find("--admin-http") != std::string::npos);
  REQUIRE(http_request(f.port, verb::get, "/").status == 200);
  REQUIRE(f.node.journal_calls() == 1);
}

TEST_CASE("with both the admin listener wants the token and --http refuses it",
          "[gateway][admin]") {
  gateway_fixture f(with_admin_listener(token));
  const auto admin_port = f.server->admin_port();
  REQUIRE(http_request(admin_port, verb::get, "/api/journal").status == 401);
  REQUIRE(
      with_headers(admin_port, verb::get, "/api/journal", {{"Authorization", "Bearer x"}}).status ==
      401);
  REQUIRE(with_headers(admin_port, verb::get, "/api/journal", {{"Authorization", bearer}}).status ==
          200);
  // The right token on the wrong listener: still not served there.
  auto wrong = with_headers(f.port, verb::get, "/api/journal", {{"Authorization", bearer}});
  REQUIRE(wrong.status == 404);
  REQUIRE(with_headers(f.port, verb::post, "/api/admin/create-account", {{"Authorization", bearer}},
                       R"({"name":"eve"})")
              .status == 404);
  REQUIRE(f.node.journal_calls() == 1);
  REQUIRE(f.node.sessions() == 0);
}

TEST_CASE("an admin listener on a bad address is refused at start", "[gateway][admin]") {
  fake_node node;
  auto o = gateway_fixture::test_options();
  o.port = 0;
  o.admin_host = "not-an-address";
  auto s = gateway::server::start(node, o);
  REQUIRE_FALSE(s.ok());
  REQUIRE(s.error().code == errc::bad_request);
  REQUIRE(s.error().message.find("admin") != std::string::npos);
}

// ---- the admin account API -------------------------------------------------------------------

TEST_CASE("admin requests are parsed strictly", "[gateway][admin]") {
  auto ok = gateway::parse_admin_call("/api/admin/disable-account", R"({"account_id": 7})");
  REQUIRE(ok.ok());
  CHECK_FALSE(ok->create);
  CHECK(ok->request.action == actors::admin_action::disable_account);
  CHECK(ok->request.account == account_id{7});
  auto rename =
      gateway::parse_admin_call("/api/admin/rename", R"({"account_id": 2, "name": "bo"})");
  REQUIRE(rename.ok());
  CHECK(rename->request.action == actors::admin_action::rename_account);
  CHECK(rename->request.name == "bo");
  auto create = gateway::parse_admin_call("/api/admin/create-account", R"({"name": "al"})");
  REQUIRE(create.ok());
  CHECK(create->create);
  CHECK(create->create_name == "al");
  CHECK(gateway::parse_admin_call("/api/admin/create-token", R"({"account_id": 1})")
            ->request.action == actors::admin_action::issue_token);
  CHECK(gateway::parse_admin_call("/api/admin/revoke-tokens", R"({"account_id": 1})")
            ->request.action == actors::admin_action::revoke_tokens);
  CHECK(gateway::parse_admin_call("/api/admin/enable-account", R"({"account_id": 1})")
            ->request.action == actors::admin_action::enable_account);

  auto code = [](std::string_view path, std::string_view body) {
    auto r = gateway::parse_admin_call(path, body);
    return r ? errc::ok : r.error().code;
  };
  CHECK(code("/api/admin/nope", "{}") == errc::not_found);
  CHECK(code("/api/admin/", "{}") == errc::not_found);
  CHECK(code("/api/admin", "{}") == errc::not_found);
  CHECK(code("/api/admin/disable-account/x", R"({"account_id": 1})") == errc::not_found);
  for (const char* body :
       {"", "not json", "[]", "7", R"({})", R"({"account_id": 0})", R"({"account_id": -1})",
        R"({"account_id": "7"})", R"({"account_id": 1.5})", R"({"account_id": 9007199254740992})",
        R"({"account_id": 1, "extra": true})", R"({"account": 1})"}) {
    INFO(body);
    CHECK(code("/api/admin/disable-account", body) == errc::bad_request);
  }
  CHECK(code("/api/admin/rename", R"({"account_id": 1})") == errc::bad_request);
  CHECK(code("/api/admin/rename", R"({"account_id": 1, "name": 5})") == errc::bad_request);
  CHECK(code("/api/admin/create-account", R"({})") == errc::bad_request);
  CHECK(code("/api/admin/create-account", R"({"name": "a", "account_id": 1})") ==
        errc::bad_request);
  CHECK(code("/api/admin/disable-account", R"({"account_id": 9007199254740991})") == errc::ok);
}

TEST_CASE("the admin API over HTTP", "[gateway][admin]") {
  auto options = gateway_fixture::test_options();
  options.open_signup = false;
  gateway_fixture f(options);
  REQUIRE_FALSE(f.server->open_signup());
  REQUIRE(http_request(f.port, verb::post, "/api/signup", R"({"name":"eve"})").status == 403);

  // create-account works with sign-up closed, and shows the token once.
  auto created = f.operator_request(verb::post, "/api/admin/create-account", R"({"name":"alice"})");
  REQUIRE(created.status == 200);
  auto c = nlohmann::json::parse(created.body);
  REQUIRE(c["account_id"] == 1);
  REQUIRE(c["name"] == "alice");
  REQUIRE(c["token"] == "token-1");

  auto disabled =
      f.operator_request(verb::post, "/api/admin/disable-account", R"({"account_id":1})");
  REQUIRE(disabled.status == 200);
  REQUIRE(nlohmann::json::parse(disabled.body)["disabled"] == true);
  auto issued = f.operator_request(verb::post, "/api/admin/create-token", R"({"account_id":1})");
  REQUIRE(issued.status == 200);
  REQUIRE(nlohmann::json::parse(issued.body)["token"] == "new-token");
  auto renamed =
      f.operator_request(verb::post, "/api/admin/rename", R"({"account_id":1,"name":"al"})");
  REQUIRE(renamed.status == 200);
  REQUIRE(nlohmann::json::parse(renamed.body)["name"] == "al");
  REQUIRE(f.node.admin_requests().size() == 3);

  // Errors from the node keep their codes: unknown account 404, a name it refuses 400.
  auto unknown = f.operator_request(verb::post, "/api/admin/revoke-tokens", R"({"account_id":99})");
  REQUIRE(unknown.status == 404);
  REQUIRE(error_code_of(unknown) == "not_found");
  auto empty = f.operator_request(verb::post, "/api/admin/rename", R"({"account_id":1,"name":""})");
  REQUIRE(empty.status == 400);
  REQUIRE(f.node.admin_requests().size() == 5);

  // Bad requests never reach the node.
  auto bad_id =
      f.operator_request(verb::post, "/api/admin/disable-account", R"({"account_id":"x"})");
  REQUIRE(bad_id.status == 400);
  REQUIRE(error_code_of(bad_id) == "bad_request");
  REQUIRE(f.operator_request(verb::post, "/api/admin/disable-account", "nope").status == 400);
  REQUIRE(f.operator_request(verb::post, "/api/admin/frobnicate", "{}").status == 404);
  REQUIRE(f.operator_request(verb::get, "/api/admin/disable-account").status == 405);
  REQUIRE(f.node.admin_requests().size() == 5);
  // Too large a body: 413 before any of it is parsed.
  auto huge = f.operator_request(verb::post, "/api/admin/create-account",
                                 R"({"name":")" + std::string(100 * 1024, 'a') + R"("})");
  REQUIRE(huge.status == 413);
  // The server still serves.
  REQUIRE(http_request(f.port, verb::get, "/healthz").status == 200);
}

TEST_CASE("an installed binary finds the web root under share", "[gateway][install]") {
  temp_dir dir;
  std::filesystem::create_directories(dir.path() / "bin");
  std::filesystem::create_directories(dir.path() / "share" / "hibiki" / "web");
  const auto exe = (dir.path() / "bin" / "hibikid").string();
  // Without an index.html there it is not an installed web root: the fallback is used.
  CHECK(gateway::web_root_for_executable(exe, "/src/web") == "/src/web");
  write_file(dir.path() / "share" / "hibiki" / "web" / "index.html", "<!doctype html>");
  CHECK(gateway::web_root_for_executable(exe, "/src/web") ==
        (dir.path() / "share" / "hibiki" / "web").string());
  CHECK(gateway::web_root_for_executable("", "/src/web") == "/src/web");
  // The build tree's binary has no share/ next to it: the compiled-in source path.
  CHECK_FALSE(gateway::default_web_root().empty());
}
