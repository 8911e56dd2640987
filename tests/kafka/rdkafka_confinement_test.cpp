// Raw librdkafka stays behind one pair of files (rdkafka_client.hpp/.cpp): the rest of the
// persistence layer uses the project's classes over it, so librdkafka's handles, error
// conventions and callbacks are handled in one place.

#include <catch2/catch.hpp>
#include <filesystem>
#include <fstream>
#include <regex>
#include <set>

namespace fs = std::filesystem;

namespace {

/// An include of librdkafka's header, or a call or type of its C API (rd_kafka_..., RD_KAFKA_...).
const std::regex& raw_librdkafka() {
  static const std::regex r(R"((#\s*include\s*[<"]librdkafka/)|\b(rd_kafka_[a-z]|RD_KAFKA_[A-Z]))");
  return r;
}

/// The lines that name librdkafka, without `//` comments (a comment may speak of it).
std::vector<std::string> raw_lines(const fs::path& file) {
  std::vector<std::string> out;
  std::ifstream in(file);
  std::string line;
  while (std::getline(in, line)) {
    auto code = line;
    if (auto c = code.find("//"); c != std::string::npos) code.erase(c);
    if (std::regex_search(code, raw_librdkafka())) out.push_back(line);
  }
  return out;
}

}  // namespace

TEST_CASE("only rdkafka_client names librdkafka in the persistence layer", "[layering]") {
  const fs::path root = HIBIKI_PERSISTENCE_SOURCE_DIR;
  REQUIRE(fs::is_directory(root / "src" / "kafka"));
  const std::set<std::string> allowed = {"rdkafka_client.hpp", "rdkafka_client.cpp"};
  std::size_t scanned = 0;
  std::size_t allowed_hits = 0;
  std::vector<std::string> offenders;
  for (const auto& entry : fs::recursive_directory_iterator(root)) {
    const auto ext = entry.path().extension();
    if (!entry.is_regular_file() || (ext != ".hpp" && ext != ".cpp" && ext != ".h")) continue;
    ++scanned;
    auto lines = raw_lines(entry.path());
    if (allowed.count(entry.path().filename().string())) {
      allowed_hits += lines.size();
      continue;
    }
    for (const auto& l : lines) offenders.push_back(entry.path().string() + ": " + l);
  }
  CHECK(scanned > 20);       // the scan really saw the persistence layer's files
  CHECK(allowed_hits > 50);  // and the pattern really finds librdkafka where it is used
  for (const auto& o : offenders) UNSCOPED_INFO(o);
  CHECK(offenders.empty());
}

TEST_CASE("the librdkafka pattern catches what it must", "[layering]") {
  const auto& r = raw_librdkafka();
  CHECK(std::regex_search("#include <librdkafka/rdkafka.h>", r));
  CHECK(std::regex_search("  # include \"librdkafka/rdkafka.h\"", r));
  CHECK(std::regex_search("  rd_kafka_consumer_poll(rk, 100);", r));
  CHECK(std::regex_search("rd_kafka_topic_partition_list_t* list", r));
  CHECK(std::regex_search("  if (err == RD_KAFKA_RESP_ERR__ASSIGN_PARTITIONS)", r));
  CHECK(std::regex_search("kafka::rd_kafka_ptr consumer;", r));  // its raw handle, too
  CHECK_FALSE(std::regex_search("#include \"rdkafka_client.hpp\"", r));
  CHECK_FALSE(std::regex_search("auto c = kafka::group_consumer::create(conn, own);", r));
}
