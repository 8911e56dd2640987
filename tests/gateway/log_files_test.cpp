// hibikid's log flags and the spdlog sink behind them: where each log goes, bad values, files
// written, rotation, reopen after an outside rename, and paths that cannot be written.

#include <fstream>
#include <sstream>

#include <catch2/catch.hpp>
#include <nlohmann/json.hpp>

#include "hibiki/cli/daemon_options.hpp"
#include "hibiki/cli/log_files.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::cli;
namespace fs = std::filesystem;

namespace {

std::vector<std::string> lines_of(const fs::path& p) {
  std::ifstream in(p);
  std::vector<std::string> out;
  for (std::string line; std::getline(in, line);) out.push_back(line);
  return out;
}

/// Installs the sink for one test; the default comes back after it.
struct installed_sink {
  explicit installed_sink(const log_options& o) {
    auto sink = open_log_sink(o);
    REQUIRE(sink.ok());
    log::install(*sink, log_thresholds(o));
  }
  ~installed_sink() { log::reset(); }
};

log_options with_dir(const fs::path& dir) {
  log_options o;
  o.dir = dir.string();
  return o;
}

}  // namespace

TEST_CASE("log defaults: app log on stderr at info and no access or audit log", "[cli][log]") {
  auto o = parse_daemon_options({});
  REQUIRE(o.ok());
  CHECK(o->logs.dir.empty());
  CHECK(o->logs.level == log::level::info);
  CHECK(o->logs.max_size == 100ull * 1024 * 1024);
  CHECK(o->logs.max_files == 5);
  auto t = resolve_log_targets(o->logs);
  CHECK(t.app == log_target{log_target::kind::standard_error, {}});
  CHECK(t.access.where == log_target::kind::off);
  CHECK(t.audit.where == log_target::kind::off);
  auto th = log_thresholds(o->logs);
  CHECK(th.app == log::level::info);
  CHECK_FALSE(th.access);
  CHECK_FALSE(th.audit);
}

TEST_CASE("hibikid --log-dir puts the three logs in it and the per-log flags override",
          "[cli][log]") {
  SECTION("the directory alone") {
    auto o = parse_daemon_options({"--log-dir=/var/log/hibiki", "--log-level=debug"});
    REQUIRE(o.ok());
    auto t = resolve_log_targets(o->logs);
    CHECK(t.app == log_target{log_target::kind::file, "/var/log/hibiki/app.log"});
    CHECK(t.access == log_target{log_target::kind::file, "/var/log/hibiki/access.log"});
    CHECK(t.audit == log_target{log_target::kind::file, "/var/log/hibiki/audit.log"});
    auto th = log_thresholds(o->logs);
    CHECK(th.app == log::level::debug);
    CHECK(th.access);
    CHECK(th.audit);
  }
  SECTION("overrides") {
    auto o =
        parse_daemon_options({"--log-dir=/l", "--access-log=off", "--audit-log", "-",
                              "--app-log=/x/app.txt", "--log-max-size=0", "--log-max-files=12"});
    REQUIRE(o.ok());
    auto t = resolve_log_targets(o->logs);
    CHECK(t.app == log_target{log_target::kind::file, "/x/app.txt"});
    CHECK(t.access.where == log_target::kind::off);
    CHECK(t.audit.where == log_target::kind::standard_error);
    CHECK(o->logs.max_size == 0);
    CHECK(o->logs.max_files == 12);
    auto th = log_thresholds(o->logs);
    CHECK_FALSE(th.access);
    CHECK(th.audit);
  }
  SECTION("access and audit without a directory") {
    auto o = parse_daemon_options({"--access-log=-", "--audit-log=/a.log", "--app-log=-"});
    REQUIRE(o.ok());
    auto t = resolve_log_targets(o->logs);
    CHECK(t.app.where == log_target::kind::standard_error);
    CHECK(t.access.where == log_target::kind::standard_error);
    CHECK(t.audit == log_target{log_target::kind::file, "/a.log"});
  }
}

TEST_CASE("log options come from the config file too", "[cli][log]") {
  testkit::temp_dir dir;
  testkit::write_file(dir.path() / "hibikid.conf",
                      "log_dir = /srv/logs\nlog-level = warn\naccess-log = off\n");
  auto o = parse_daemon_options(
      {"--config", (dir.path() / "hibikid.conf").string(), "--log-level=error"});
  REQUIRE(o.ok());
  CHECK(o->logs.dir == "/srv/logs");
  CHECK(o->logs.level == log::level::error);  // the flag wins
  CHECK(o->logs.access_file == "off");
}

TEST_CASE("bad log option values are refused with the flag named", "[cli][log]") {
  struct bad_case {
    std::string arg;
    std::string says;
  };
  for (const auto& c : std::vector<bad_case>{
           {"--log-level=verbose", "--log-level"},
           {"--log-level=INFO", "--log-level"},
           {"--log-level=off", "--log-level"},
           {"--log-level=", "--log-level"},
           {"--log-dir=", "--log-dir"},
           {"--app-log=off", "--app-log"},
           {"--app-log=", "--app-log"},
           {"--access-log=", "--access-log"},
           {"--audit-log=", "--audit-log"},
           {"--log-max-size=100", "--log-max-size"},
           {"--log-max-size=-1", "--log-max-size"},
           {"--log-max-size=10M", "--log-max-size"},
           {"--log-max-size=1099511627777", "--log-max-size"},
           {"--log-max-files=0", "--log-max-files"},
           {"--log-max-files=1001", "--log-max-files"},
           {"--log-max-files=two", "--log-max-files"},
       }) {
    auto o = parse_daemon_options({c.arg});
    INFO(c.arg);
    REQUIRE_FALSE(o.ok());
    CHECK(o.error().code == errc::bad_request);
    CHECK(o.error().message.find(c.says) != std::string::npos);
  }
  auto unknown = parse_daemon_options({"--log-colour=yes"});
  REQUIRE_FALSE(unknown.ok());
  CHECK(unknown.error().message.find("unknown option --log-colour") != std::string::npos);
}

TEST_CASE("the three logs are written to their own files", "[cli][log]") {
  testkit::temp_dir dir;
  auto o = with_dir(dir.path() / "logs");  // created by open_log_sink
  {
    installed_sink s(o);
    log::info("gateway") << "hello " << 42;
    log::debug("gateway") << "below the level";
    log::access("http", {{"peer", "127.0.0.1:1"}, {"status", 200}});
    log::audit("signup", {{"account", 3}});
  }
  auto app = lines_of(dir.path() / "logs" / "app.log");
  REQUIRE(app.size() == 1);
  CHECK(app[0].ends_with(" INFO  [gateway] hello 42"));
  auto access = lines_of(dir.path() / "logs" / "access.log");
  REQUIRE(access.size() == 1);
  auto a = nlohmann::json::parse(access[0]);
  CHECK(a["event"] == "http");
  CHECK(a["status"] == 200);
  auto audit = lines_of(dir.path() / "logs" / "audit.log");
  REQUIRE(audit.size() == 1);
  CHECK(nlohmann::json::parse(audit[0])["account"] == 3);
}

TEST_CASE("two logs sent to one file keep whole lines", "[cli][log]") {
  testkit::temp_dir dir;
  log_options o;
  o.app_file = (dir.path() / "all.log").string();
  o.access_file = o.app_file;
  o.audit_file = o.app_file;
  {
    installed_sink s(o);
    for (int i = 0; i < 50; ++i) {
      log::info("x") << "line " << i;
      log::access("http", {{"n", i}});
      log::audit("a", {{"n", i}});
    }
  }
  auto lines = lines_of(dir.path() / "all.log");
  REQUIRE(lines.size() == 150);
  for (std::size_t i = 0; i < lines.size(); i += 3) {
    CHECK(lines[i].find("[x] line ") != std::string::npos);
    CHECK(nlohmann::json::parse(lines[i + 1])["event"] == "http");
    CHECK(nlohmann::json::parse(lines[i + 2])["event"] == "a");
  }
}

TEST_CASE("reopen after an outside rename writes new lines to a new file", "[cli][log]") {
  testkit::temp_dir dir;
  auto o = with_dir(dir.path());
  installed_sink s(o);
  log::audit("before", {});
  log::info("t") << "before";
  fs::rename(dir.path() / "audit.log", dir.path() / "audit.log.old");
  fs::rename(dir.path() / "app.log", dir.path() / "app.log.old");
  log::audit("between", {});  // still to the renamed file: it is open
  log::reopen();
  log::audit("after", {});
  auto old_audit = lines_of(dir.path() / "audit.log.old");
  REQUIRE(old_audit.size() == 2);
  CHECK(nlohmann::json::parse(old_audit[0])["event"] == "before");
  CHECK(nlohmann::json::parse(old_audit[1])["event"] == "between");
  auto audit = lines_of(dir.path() / "audit.log");
  REQUIRE(audit.size() == 1);
  CHECK(nlohmann::json::parse(audit[0])["event"] == "after");
  // The reopen is said in the (new) app log.
  auto app = lines_of(dir.path() / "app.log");
  REQUIRE_FALSE(app.empty());
  CHECK(app.back().find("[hibikid] log files reopened") != std::string::npos);
}

TEST_CASE("a file that reaches --log-max-size is rotated and old ones are dropped", "[cli][log]") {
  testkit::temp_dir dir;
  auto o = with_dir(dir.path());
  o.max_size = 4096;
  o.max_files = 2;
  {
    installed_sink s(o);
    const std::string padding(200, 'p');
    for (int i = 0; i < 200; ++i) log::access("http", {{"n", i}, {"pad", padding}});
  }
  CHECK(fs::exists(dir.path() / "access.log"));
  CHECK(fs::exists(dir.path() / "access.1.log"));
  CHECK(fs::exists(dir.path() / "access.2.log"));
  CHECK_FALSE(fs::exists(dir.path() / "access.3.log"));
  CHECK(fs::file_size(dir.path() / "access.1.log") <= 4096);
  // The newest line is in the current file, whole.
  auto current = lines_of(dir.path() / "access.log");
  REQUIRE_FALSE(current.empty());
  CHECK(nlohmann::json::parse(current.back())["n"] == 199);
}

TEST_CASE("a log path that cannot be written is an error at start naming it", "[cli][log]") {
  testkit::temp_dir dir;
  testkit::write_file(dir.path() / "plain-file", "x");
  SECTION("--log-dir under a regular file") {
    auto o = with_dir(dir.path() / "plain-file" / "logs");
    auto sink = open_log_sink(o);
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.error().code == errc::unavailable);
    CHECK(sink.error().message.find("plain-file") != std::string::npos);
  }
  SECTION("--audit-log under a regular file") {
    log_options o;
    o.audit_file = (dir.path() / "plain-file" / "audit.log").string();
    auto sink = open_log_sink(o);
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.error().code == errc::unavailable);
    CHECK(sink.error().message.find("audit.log") != std::string::npos);
  }
  SECTION("--access-log is a directory") {
    log_options o;
    o.access_file = dir.path().string();
    auto sink = open_log_sink(o);
    REQUIRE_FALSE(sink.ok());
    CHECK(sink.error().code == errc::unavailable);
  }
}

TEST_CASE("a failed reopen keeps writing to the open files and says so", "[cli][log]") {
  testkit::temp_dir dir;
  auto o = with_dir(dir.path() / "logs");
  installed_sink s(o);
  log::audit("before", {});
  // The directory goes away and a file takes its name: nothing can be reopened there.
  fs::rename(dir.path() / "logs", dir.path() / "moved");
  testkit::write_file(dir.path() / "logs", "not a directory");
  log::reopen();
  log::audit("after", {});
  auto audit = lines_of(dir.path() / "moved" / "audit.log");
  REQUIRE(audit.size() == 2);
  CHECK(nlohmann::json::parse(audit[1])["event"] == "after");
  auto app = lines_of(dir.path() / "moved" / "app.log");
  REQUIRE_FALSE(app.empty());
  CHECK(app.back().find("ERROR [hibikid] cannot reopen the log files") != std::string::npos);
}
