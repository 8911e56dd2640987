// The projections' operator endpoints (GET /api/projections, POST /api/projections/NAME/rebuild)
// on a real gateway in front of the fake node, and `hibiki admin projections` / `hibiki admin
// rebuild NAME` without the binary (cli::run_projections_command): the table, the progress lines
// until the rebuild is done, and the bad inputs (no token, unknown name, wrong methods and paths).

#include <sstream>

#include <nlohmann/json.hpp>

#include "gateway_fixture.hpp"
#include "hibiki/cli/projection_status.hpp"
#include "test_client.hpp"

using namespace hibiki;
using namespace hibiki::testkit;
using json = nlohmann::json;
using boost::beast::http::verb;

namespace {

cli::server_url url_for(std::uint16_t port) {
  return cli::server_url{"127.0.0.1", std::to_string(port), "/ws"};
}

json search_running() {
  return json::parse(R"([{"name": "search", "state": "running", "positions": {"0": 5000},
    "end_positions": {"0": 5000}, "lag": 0, "applied": 5000, "events_per_second": 0.0,
    "last_error": "", "rebuild": {"active": false, "done": false, "applied": 0, "total": -1,
    "position": 0, "seconds": 0.0, "events_per_second": 0.0}}])");
}

cli::client_options admin_args(std::vector<std::string> args) {
  cli::client_options o;
  o.command = "admin";
  o.args = std::move(args);
  return o;
}

}  // namespace

TEST_CASE("projections endpoints: status, rebuild, and bad requests", "[cli][projection]") {
  gateway_fixture f;
  f.node.set_projections(search_running(), 5000);

  // Operator endpoints: nothing without the admin token.
  auto anonymous = http_request(f.port, verb::get, "/api/projections");
  CHECK(anonymous.status == 401);
  auto anonymous_rebuild = http_request(f.port, verb::post, "/api/projections/search/rebuild");
  CHECK(anonymous_rebuild.status == 401);
  CHECK(f.node.rebuilds().empty());

  auto listed = f.operator_request(verb::get, "/api/projections");
  REQUIRE(listed.status == 200);
  CHECK(json::parse(listed.body)["projections"] == search_running());

  CHECK(f.operator_request(verb::post, "/api/projections").status == 405);
  CHECK(f.operator_request(verb::get, "/api/projections/search/rebuild").status == 405);
  CHECK(f.operator_request(verb::post, "/api/projections/search").status == 404);
  CHECK(f.operator_request(verb::post, "/api/projections/a/b/rebuild").status == 404);
  CHECK(f.operator_request(verb::post, "/api/projections//rebuild").status == 404);

  auto unknown = f.operator_request(verb::post, "/api/projections/nope/rebuild");
  CHECK(unknown.status == 404);
  CHECK(json::parse(unknown.body)["error"]["message"] ==
        "no projection named nope (this node runs: search)");

  auto started = f.operator_request(verb::post, "/api/projections/search/rebuild");
  REQUIRE(started.status == 200);
  CHECK(json::parse(started.body) == json{{"projection", "search"}, {"state", "rebuilding"}});
  CHECK(f.node.rebuilds() == std::vector<std::string>{"nope", "search"});
}

TEST_CASE("hibiki admin projections prints the table", "[cli][projection]") {
  gateway_fixture f;
  std::ostringstream out;
  REQUIRE(cli::run_projections_command(admin_args({"projections"}), url_for(f.port),
                                       gateway_fixture::admin_token, out)
              .ok());
  CHECK(out.str() == "no projections run on this node\n");

  f.node.set_projections(search_running(), 5000);
  std::ostringstream table;
  REQUIRE(cli::run_projections_command(admin_args({"projections"}), url_for(f.port),
                                       gateway_fixture::admin_token, table)
              .ok());
  CHECK(table.str().find("NAME") == 0);
  CHECK(table.str().find("search       running              0         5000          0  "
                         "0:5000/5000") != std::string::npos);

  auto o = admin_args({"projections"});
  o.json = true;
  std::ostringstream raw;
  REQUIRE(cli::run_projections_command(o, url_for(f.port), gateway_fixture::admin_token, raw).ok());
  CHECK(json::parse(raw.str())["projections"] == search_running());
}

TEST_CASE("hibiki admin rebuild prints progress until done, then events/s", "[cli][projection]") {
  gateway_fixture f;
  f.node.set_projections(search_running(), 5000);
  std::ostringstream out;
  auto done =
      cli::run_projections_command(admin_args({"rebuild", "search"}), url_for(f.port),
                                   gateway_fixture::admin_token, out, std::chrono::milliseconds(1));
  REQUIRE(done.ok());
  CHECK(out.str() ==
        "search: rebuilding, 0 events applied, offset 0/5000 (0%), 0 events/s\n"
        "search: rebuilt 5000 events in 2.0 s (2500 events/s)\n");
  CHECK(f.node.rebuilds() == std::vector<std::string>{"search"});
}

TEST_CASE("hibiki admin rebuild: an unknown name and a missing token are clear errors",
          "[cli][projection]") {
  gateway_fixture f;
  f.node.set_projections(search_running(), 5000);
  std::ostringstream out;
  auto unknown = cli::run_projections_command(admin_args({"rebuild", "serch"}), url_for(f.port),
                                              gateway_fixture::admin_token, out);
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().code == errc::not_found);
  CHECK(unknown.error().message.find("no projection named serch (this node runs: search)") !=
        std::string::npos);

  auto no_token =
      cli::run_projections_command(admin_args({"rebuild", "search"}), url_for(f.port), "", out);
  REQUIRE_FALSE(no_token.ok());
  CHECK(no_token.error().code == errc::unauthenticated);
  CHECK(f.node.rebuilds() == std::vector<std::string>{"serch"});
  CHECK(out.str().empty());
}

TEST_CASE("projection summaries: bad shapes and progress lines", "[cli][projection]") {
  CHECK(cli::format_projections(json::array()).error().code == errc::bad_request);
  CHECK(cli::format_projections(json{{"projections", 3}}).error().code == errc::bad_request);
  CHECK(cli::format_projections(json{{"projections", {{{"state", "running"}}}}}).error().code ==
        errc::bad_request);
  auto p = search_running()[0];
  p["state"] = "failing";
  p["last_error"] = "disk full";
  p["rebuild"] = {{"active", true},
                  {"done", false},
                  {"applied", 1200},
                  {"total", 5000},
                  {"position", 1200},
                  {"seconds", 1.0},
                  {"events_per_second", 1200.0}};
  CHECK(cli::format_rebuild_progress(p) ==
        "search: rebuilding, 1200 events applied, offset 1200/5000 (24%), 1200 events/s "
        "(failing: disk full)");
  CHECK_FALSE(cli::rebuild_done(p));
  CHECK_FALSE(cli::find_projection(json{{"projections", json::array({p})}}, "webhooks"));
}
