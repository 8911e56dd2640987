/// The logging facade: its formats, level filtering, channels and the sink switch.

#include "hibiki/core/log.hpp"

#include <catch2/catch.hpp>
#include <mutex>
#include <nlohmann/json.hpp>
#include <string>
#include <vector>

using namespace hibiki;

namespace {

/// Counts how often it is formatted: a disabled line must never format its arguments.
struct probe {
  int* n;
  friend std::ostream& operator<<(std::ostream& os, const probe& p) {
    ++*p.n;
    return os << "probe";
  }
};

/// Keeps every line with its channel, for the checks.
class capture_sink final : public log::sink {
 public:
  struct entry {
    log::channel ch;
    log::level lvl;
    std::string text;
  };
  void write(log::channel ch, log::level l, std::string_view line) override {
    std::lock_guard lock(mutex_);
    lines.push_back({ch, l, std::string(line)});
  }
  void reopen() override { ++reopens; }

  std::mutex mutex_;
  std::vector<entry> lines;
  int reopens = 0;
};

/// Installs a capture sink for one test and puts the default back after it.
struct captured {
  explicit captured(log::thresholds t) { log::install(sink, t); }
  ~captured() { log::reset(); }
  std::shared_ptr<capture_sink> sink = std::make_shared<capture_sink>();
};

std::chrono::system_clock::time_point at_ms(std::int64_t ms) {
  return std::chrono::system_clock::time_point(std::chrono::milliseconds(ms));
}

}  // namespace

TEST_CASE("log times are UTC with milliseconds and a Z", "[log]") {
  CHECK(log::format_time(at_ms(0)) == "1970-01-01T00:00:00.000Z");
  // 2026-12-05T05:44:42.123Z
  CHECK(log::format_time(at_ms(1796449482123)) == "2026-12-05T05:44:42.123Z");
  CHECK(log::format_time(at_ms(-1)) == "1969-12-31T23:59:59.999Z");
}

TEST_CASE("an app line has time level component and message", "[log]") {
  auto line = log::format_app_line(at_ms(1796449482123), log::level::warn, "kafka", "broker down");
  CHECK(line == "2026-12-05T05:44:42.123Z WARN  [kafka] broker down");
  CHECK(log::format_app_line(at_ms(0), log::level::error, "journal", "x") ==
        "1970-01-01T00:00:00.000Z ERROR [journal] x");
  CHECK(log::format_app_line(at_ms(0), log::level::trace, "c", "") ==
        "1970-01-01T00:00:00.000Z TRACE [c] ");
}

TEST_CASE("control characters in an app line are escaped so one call is one line", "[log]") {
  auto line =
      log::format_app_line(at_ms(0), log::level::info, "gateway", "a\nb\r\tc\x1b[31m\\d\x7f");
  CHECK(line.find('\n') == std::string::npos);
  CHECK(line == "1970-01-01T00:00:00.000Z INFO  [gateway] a\\nb\\r\\tc\\x1b[31m\\\\d\\x7f");
  // UTF-8 text is kept as it is.
  CHECK(log::format_app_line(at_ms(0), log::level::info, "x", "caf\xc3\xa9")
            .ends_with("caf\xc3\xa9"));
}

TEST_CASE("a record is one JSON object with time and event first and typed fields", "[log]") {
  const std::vector<log::field> fields{{"peer", "127.0.0.1:4000"},
                                       {"status", 200},
                                       {"bytes_out", std::uint64_t{18446744073709551615u}},
                                       {"delta", std::int64_t{-3}},
                                       {"duration_ms", 1.25},
                                       {"ok", true},
                                       {"path", std::string("/a\"b\n")}};
  auto text = log::format_record(at_ms(0), "http", fields);
  CHECK(text.find('\n') == std::string::npos);
  CHECK(text.rfind(R"({"time":"1970-01-01T00:00:00.000Z","event":"http","peer":"127.0.0.1:4000",)",
                   0) == 0);
  auto j = nlohmann::json::parse(text);
  CHECK(j["status"] == 200);
  CHECK(j["bytes_out"].get<std::uint64_t>() == 18446744073709551615u);
  CHECK(j["delta"] == -3);
  CHECK(j["duration_ms"] == 1.25);
  CHECK(j["ok"] == true);
  CHECK(j["path"] == "/a\"b\n");
}

TEST_CASE("bytes that are not UTF-8 in a record are replaced and the line stays valid", "[log]") {
  const std::vector<log::field> fields{{"name", std::string_view("a\xff\xfe"
                                                                 "b")}};
  auto text = log::format_record(at_ms(0), "signup", fields);
  auto j = nlohmann::json::parse(text);
  CHECK(j["name"] ==
        "a\xef\xbf\xbd\xef\xbf\xbd"
        "b");
}

TEST_CASE("levels parse by name and unknown names are refused", "[log]") {
  CHECK(log::parse_level("trace") == log::level::trace);
  CHECK(log::parse_level("debug") == log::level::debug);
  CHECK(log::parse_level("info") == log::level::info);
  CHECK(log::parse_level("warn") == log::level::warn);
  CHECK(log::parse_level("error") == log::level::error);
  CHECK_FALSE(log::parse_level("off"));
  CHECK_FALSE(log::parse_level("INFO"));
  CHECK_FALSE(log::parse_level("warning"));
  CHECK_FALSE(log::parse_level(""));
  for (auto l : {log::level::trace, log::level::debug, log::level::info, log::level::warn,
                 log::level::error})
    CHECK(log::parse_level(log::level_name(l)) == l);
}

TEST_CASE("app lines below the threshold are not written and not formatted", "[log]") {
  captured c({log::level::warn, false, false});
  int formatted = 0;
  log::debug("test") << "not " << probe{&formatted};
  log::info("test") << "not " << probe{&formatted};
  log::warn("test") << "yes " << probe{&formatted};
  log::error("test") << "also " << 42;
  CHECK(formatted == 1);
  REQUIRE(c.sink->lines.size() == 2);
  CHECK(c.sink->lines[0].ch == log::channel::app);
  CHECK(c.sink->lines[0].lvl == log::level::warn);
  CHECK(c.sink->lines[0].text.ends_with("WARN  [test] yes probe"));
  CHECK(c.sink->lines[1].text.ends_with("ERROR [test] also 42"));
  CHECK_FALSE(log::enabled(log::level::info));
  CHECK(log::enabled(log::level::warn));
  CHECK_FALSE(log::enabled(log::level::off));
}

TEST_CASE("trace lines are written when the threshold is trace", "[log]") {
  captured c({log::level::trace, false, false});
  log::trace("t") << "x";
  REQUIRE(c.sink->lines.size() == 1);
  CHECK(c.sink->lines[0].text.ends_with("TRACE [t] x"));
}

TEST_CASE("access and audit records are written only when their channel is on", "[log]") {
  SECTION("off") {
    captured c({log::level::info, false, false});
    log::access("http", {{"status", 200}});
    log::audit("signup", {{"account", 1}});
    CHECK(c.sink->lines.empty());
    CHECK_FALSE(log::enabled(log::channel::access));
    CHECK_FALSE(log::enabled(log::channel::audit));
  }
  SECTION("audit only") {
    captured c({log::level::info, false, true});
    log::access("http", {{"status", 200}});
    log::audit("signup", {{"account", 7}, {"peer", "127.0.0.1:1"}});
    REQUIRE(c.sink->lines.size() == 1);
    CHECK(c.sink->lines[0].ch == log::channel::audit);
    auto j = nlohmann::json::parse(c.sink->lines[0].text);
    CHECK(j["event"] == "signup");
    CHECK(j["account"] == 7);
    CHECK(j["peer"] == "127.0.0.1:1");
  }
  SECTION("both, and the app threshold does not filter records") {
    captured c({log::level::error, true, true});
    log::access("http", {{"status", 404}});
    log::audit("auth_failed", {{"peer", "::1"}});
    REQUIRE(c.sink->lines.size() == 2);
    CHECK(c.sink->lines[0].ch == log::channel::access);
    CHECK(c.sink->lines[1].ch == log::channel::audit);
  }
}

TEST_CASE("reopen reaches the installed sink and reset restores the default", "[log]") {
  auto sink = std::make_shared<capture_sink>();
  log::install(sink, {log::level::info, true, true});
  log::reopen();
  log::reopen();
  CHECK(sink->reopens == 2);
  log::reset();
  log::reopen();
  CHECK(sink->reopens == 2);
  // Default thresholds are back: info on, records off.
  CHECK(log::enabled(log::level::info));
  CHECK_FALSE(log::enabled(log::level::debug));
  CHECK_FALSE(log::enabled(log::channel::access));
  CHECK_FALSE(log::enabled(log::channel::audit));
  log::info("test") << "to the default sink";
  CHECK(sink->lines.empty());
}
