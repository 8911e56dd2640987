/// core must stay pure: no actor, network or storage library may leak into it.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

TEST_CASE("core includes no CAF, Beast, asio, RocksDB, librdkafka or Prometheus header",
          "[layering]") {
  const fs::path root = HIBIKI_CORE_SOURCE_DIR;
  REQUIRE(fs::is_directory(root / "include"));
  REQUIRE(fs::is_directory(root / "src"));
  const std::regex forbidden(
      R"(^\s*#\s*include\s*[<"](caf/|boost/beast|boost/asio|rocksdb/|librdkafka/|prometheus/))");
  std::size_t scanned = 0;
  std::vector<std::string> offenders;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h")) continue;
    ++scanned;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line)) {
      if (std::regex_search(line, forbidden))
        offenders.push_back(entry.path().string() + ": " + line);
    }
  }
  CHECK(scanned > 10);  // the scan really saw core's files
  INFO("forbidden includes: " << offenders.size());
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}

TEST_CASE("the layering pattern catches what it must", "[layering]") {
  const std::regex forbidden(
      R"(^\s*#\s*include\s*[<"](caf/|boost/beast|boost/asio|rocksdb/|librdkafka/|prometheus/))");
  CHECK(std::regex_search("#include <caf/all.hpp>", forbidden));
  CHECK(std::regex_search("  #  include \"rocksdb/db.h\"", forbidden));
  CHECK(std::regex_search("#include <boost/asio.hpp>", forbidden));
  CHECK(std::regex_search("#include <boost/beast/websocket.hpp>", forbidden));
  CHECK(std::regex_search("#include <librdkafka/rdkafka.h>", forbidden));
  CHECK(std::regex_search("#include <prometheus/registry.h>", forbidden));
  CHECK_FALSE(std::regex_search("#include <nlohmann/json.hpp>", forbidden));
  CHECK_FALSE(std::regex_search("// no #include <caf/all.hpp> here", forbidden));
}
