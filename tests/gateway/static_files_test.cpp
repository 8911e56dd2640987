// The mapping from request targets to files, and the Content-Types, without a socket.

#include <catch2/catch.hpp>

#include "static_files.hpp"

using hibiki::gateway::file_for_target;
using hibiki::gateway::mime_type;

TEST_CASE("targets map to files under the web root", "[gateway][static]") {
  REQUIRE(file_for_target("/srv/web", "/") == "/srv/web/index.html");
  REQUIRE(file_for_target("/srv/web/", "/app.js") == "/srv/web/app.js");
  REQUIRE(file_for_target("/srv/web", "/css/site.css?x=1") == "/srv/web/css/site.css");
  REQUIRE(file_for_target("/srv/web", "/docs/") == "/srv/web/docs/index.html");
}

TEST_CASE("unsafe targets map to nothing", "[gateway][static]") {
  for (const char* t : {"", "app.js", "/../etc/passwd", "/a/../../x", "/%2e%2e/x", "/a\\..\\b",
                        "//etc/passwd", "/..", "/x/.."}) {
    INFO(t);
    REQUIRE_FALSE(file_for_target("/srv/web", t).has_value());
  }
}

TEST_CASE("content types by extension", "[gateway][static]") {
  REQUIRE(mime_type("a/index.html") == "text/html; charset=utf-8");
  REQUIRE(mime_type("app.js") == "text/javascript; charset=utf-8");
  REQUIRE(mime_type("site.CSS") == "text/css; charset=utf-8");
  REQUIRE(mime_type("logo.svg") == "image/svg+xml");
  REQUIRE(mime_type("logo.png") == "image/png");
  REQUIRE(mime_type("favicon.ico") == "image/vnd.microsoft.icon");
  REQUIRE(mime_type("blob.bin") == "application/octet-stream");
  REQUIRE(mime_type("noext") == "application/octet-stream");
}
