#include <cstdio>
#include <filesystem>

#include <nlohmann/json.hpp>

#include "commands.hpp"
#include "generator.hpp"
#include "hibiki/persistence/rocksdb_backend.hpp"
#include "manifest.hpp"

namespace hibiki::bench::search {

int generate_command(const args& a) {
  a.allow({"dir", "messages", "rooms", "rooms-per-account", "seed", "edits-per-mille",
           "deletes-per-mille", "read-models", "sync", "in-flight"});
  if (!a.has("dir")) throw std::invalid_argument("generate needs --dir DIR");
  const std::filesystem::path dir = a.text("dir", "");
  generate_options o;
  o.messages = a.count("messages", o.messages);
  o.world.rooms = static_cast<std::uint32_t>(a.count("rooms", o.world.rooms));
  o.world.rooms_per_account =
      static_cast<std::uint32_t>(a.count("rooms-per-account", o.world.rooms_per_account));
  o.world.seed = a.count("seed", o.world.seed);
  o.edits_per_mille = static_cast<std::uint32_t>(a.count("edits-per-mille", o.edits_per_mille));
  o.deletes_per_mille =
      static_cast<std::uint32_t>(a.count("deletes-per-mille", o.deletes_per_mille));
  o.read_models = a.flag("read-models", o.read_models);
  o.in_flight = a.count("in-flight", o.in_flight);
  if (o.world.rooms == 0 || o.world.rooms > 10'000'000)
    throw std::invalid_argument("--rooms must be 1 to 10,000,000");
  if (o.in_flight == 0) throw std::invalid_argument("--in-flight must be at least 1");
  if (o.edits_per_mille + o.deletes_per_mille > 1000)
    throw std::invalid_argument("--edits-per-mille plus --deletes-per-mille must be at most 1000");
  const bool sync = a.flag("sync", false);

  std::error_code ec;
  if (std::filesystem::exists(data_dir(dir), ec) && !std::filesystem::is_empty(data_dir(dir), ec)) {
    std::fprintf(stderr, "%s already holds a journal; generate into a new --dir\n",
                 data_dir(dir).c_str());
    return 1;
  }
  std::filesystem::create_directories(dir, ec);
  persistence::rocksdb_options ro;
  ro.path = data_dir(dir).string();
  ro.sync = sync;
  auto backend = persistence::rocksdb_backend::open(ro);
  if (!backend) {
    std::fprintf(stderr, "cannot open %s: %s\n", ro.path.c_str(), backend.error().message.c_str());
    return 1;
  }
  o.progress = [](std::uint64_t posted, double seconds) {
    std::fprintf(stderr, "  %llu messages in %.1f s (%.0f/s)\n",
                 static_cast<unsigned long long>(posted), seconds,
                 seconds > 0 ? static_cast<double>(posted) / seconds : 0.0);
  };
  std::printf(
      "generating %llu messages in %u rooms (seed %llu, fsync %s, read models %s) into %s\n",
      static_cast<unsigned long long>(o.messages), o.world.rooms,
      static_cast<unsigned long long>(o.world.seed), sync ? "on" : "off",
      o.read_models ? "on" : "off", ro.path.c_str());
  std::fflush(stdout);
  auto stats = generate((*backend)->journal(), o);
  (*backend)->close();
  backend->reset();
  if (!stats) {
    std::fprintf(stderr, "generation failed: %s\n", stats.error().message.c_str());
    return 1;
  }
  manifest m{o.world, *stats, sync, o.read_models};
  if (auto st = save_manifest(dir, m); !st) {
    std::fprintf(stderr, "%s\n", st.error().message.c_str());
    return 1;
  }
  const auto bytes = disk_bytes(data_dir(dir));
  const double rate =
      stats->seconds > 0 ? static_cast<double>(stats->messages) / stats->seconds : 0;
  std::printf("rooms %u, accounts %u (each in ~%u rooms)\n", stats->rooms, stats->accounts,
              o.world.rooms_per_account);
  std::printf("messages %llu (+%llu edits, %llu deletes; %llu with mentions), events %llu\n",
              static_cast<unsigned long long>(stats->messages),
              static_cast<unsigned long long>(stats->edits),
              static_cast<unsigned long long>(stats->deletes),
              static_cast<unsigned long long>(stats->mentions),
              static_cast<unsigned long long>(stats->events));
  std::printf("bodies %.1f MB (%.0f bytes per message on average)\n",
              static_cast<double>(stats->body_bytes) / 1e6,
              stats->messages
                  ? static_cast<double>(stats->body_bytes) / static_cast<double>(stats->messages)
                  : 0.0);
  std::printf("generated in %.1f s: %.0f messages/s; data on disk %.1f MB\n", stats->seconds, rate,
              static_cast<double>(bytes) / 1e6);
  const nlohmann::json j = {{"command", "generate"},       {"messages", stats->messages},
                            {"rooms", stats->rooms},       {"accounts", stats->accounts},
                            {"edits", stats->edits},       {"deletes", stats->deletes},
                            {"events", stats->events},     {"body_bytes", stats->body_bytes},
                            {"seconds", stats->seconds},   {"messages_per_s", rate},
                            {"data_bytes", bytes},         {"sync", sync},
                            {"read_models", o.read_models}};
  std::printf("%s\n", j.dump().c_str());
  return 0;
}

}  // namespace hibiki::bench::search
