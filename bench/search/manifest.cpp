#include "manifest.hpp"

#include <fstream>
#include <sstream>

#include <nlohmann/json.hpp>

namespace hibiki::bench::search {
namespace {

const char* const manifest_name = "search-bench.json";

}  // namespace

std::filesystem::path data_dir(const std::filesystem::path& dir) {
  return dir / "data";
}
std::filesystem::path index_dir(const std::filesystem::path& dir) {
  return dir / "index";
}

status save_manifest(const std::filesystem::path& dir, const manifest& m) {
  const nlohmann::json j = {
      {"seed", m.world.seed},
      {"rooms", m.world.rooms},
      {"rooms_per_account", m.world.rooms_per_account},
      {"accounts", m.generated.accounts},
      {"messages", m.generated.messages},
      {"edits", m.generated.edits},
      {"deletes", m.generated.deletes},
      {"mentions", m.generated.mentions},
      {"events", m.generated.events},
      {"body_bytes", m.generated.body_bytes},
      {"seconds", m.generated.seconds},
      {"sync", m.sync},
      {"read_models", m.read_models},
  };
  std::ofstream out(dir / manifest_name);
  out << j.dump(2) << "\n";
  if (!out) return {errc::unavailable, "cannot write " + (dir / manifest_name).string()};
  return {};
}

result<manifest> load_manifest(const std::filesystem::path& dir) {
  std::ifstream in(dir / manifest_name);
  if (!in) {
    return hibiki::error{errc::not_found, "no " + (dir / manifest_name).string() +
                                              " (run `hibiki_search_bench generate` first)"};
  }
  std::stringstream text;
  text << in.rdbuf();
  try {
    const auto j = nlohmann::json::parse(text.str());
    manifest m;
    m.world.seed = j.at("seed").get<std::uint64_t>();
    m.world.rooms = j.at("rooms").get<std::uint32_t>();
    m.world.rooms_per_account = j.at("rooms_per_account").get<std::uint32_t>();
    m.generated.rooms = m.world.rooms;
    m.generated.accounts = j.at("accounts").get<std::uint32_t>();
    m.generated.messages = j.at("messages").get<std::uint64_t>();
    m.generated.edits = j.at("edits").get<std::uint64_t>();
    m.generated.deletes = j.at("deletes").get<std::uint64_t>();
    m.generated.mentions = j.at("mentions").get<std::uint64_t>();
    m.generated.events = j.at("events").get<std::uint64_t>();
    m.generated.body_bytes = j.at("body_bytes").get<std::uint64_t>();
    m.generated.seconds = j.at("seconds").get<double>();
    m.sync = j.at("sync").get<bool>();
    m.read_models = j.at("read_models").get<bool>();
    return m;
  } catch (const std::exception& e) {
    return hibiki::error{errc::bad_request,
                         (dir / manifest_name).string() + " is not a manifest: " + e.what()};
  }
}

std::uint64_t disk_bytes(const std::filesystem::path& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return 0;
  std::uint64_t total = 0;
  for (auto it = std::filesystem::recursive_directory_iterator(path, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    if (it->is_regular_file(ec)) total += it->file_size(ec);
  }
  return total;
}

}  // namespace hibiki::bench::search
