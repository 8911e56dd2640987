// The actor layer knows storage only through persistence's interfaces (decision 0008): no Kafka
// or RocksDB header, no storage engine's backend header, in actors/.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>

namespace fs = std::filesystem;

namespace {

const std::regex& storage_engine_include() {
  static const std::regex r(
      R"(^\s*#\s*include\s*[<"](librdkafka/|rocksdb/|hibiki/persistence/(kafka_[a-z_]*|rocksdb_[a-z_]*|storage)\.hpp))");
  return r;
}

}  // namespace

TEST_CASE("the actor layer includes no storage engine header", "[layering]") {
  const fs::path root = HIBIKI_ACTORS_SOURCE_DIR;
  REQUIRE(fs::is_directory(root / "src"));
  std::size_t scanned = 0;
  std::vector<std::string> offenders;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp")) continue;
    ++scanned;
    std::ifstream in(entry.path());
    std::string line;
    while (std::getline(in, line))
      if (std::regex_search(line, storage_engine_include()))
        offenders.push_back(entry.path().string() + ": " + line);
  }
  CHECK(scanned > 10);  // the scan really saw the actor layer's files
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}

TEST_CASE("the storage engine include pattern catches what it must", "[layering]") {
  const auto& r = storage_engine_include();
  CHECK(std::regex_search("#include \"hibiki/persistence/kafka_backend.hpp\"", r));
  CHECK(std::regex_search("#include \"hibiki/persistence/kafka_membership.hpp\"", r));
  CHECK(std::regex_search("#include \"hibiki/persistence/rocksdb_backend.hpp\"", r));
  CHECK(std::regex_search("#include \"hibiki/persistence/storage.hpp\"", r));
  CHECK(std::regex_search("#include <librdkafka/rdkafka.h>", r));
  CHECK(std::regex_search("#include <rocksdb/db.h>", r));
  CHECK_FALSE(std::regex_search("#include \"hibiki/persistence/backend.hpp\"", r));
  CHECK_FALSE(std::regex_search("#include \"hibiki/persistence/membership.hpp\"", r));
  CHECK_FALSE(std::regex_search("#include \"hibiki/persistence/shard_control.hpp\"", r));
}
