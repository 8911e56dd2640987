#include <cstdio>

#include "commands.hpp"
#include "corpus.hpp"

namespace hibiki::bench::search {

int sample_command(const args& a) {
  a.allow({"count", "rooms", "seed"});
  world_options wo;
  wo.rooms = static_cast<std::uint32_t>(a.count("rooms", wo.rooms));
  wo.seed = a.count("seed", wo.seed);
  if (wo.rooms == 0) throw std::invalid_argument("--rooms must be at least 1");
  const world w(wo);
  const body_writer bodies(w);
  random_stream rng(wo.seed ^ 0x53414d504c45ULL);  // its own stream: a look at the kind of bodies
  const auto count = a.count("count", 20);
  for (std::uint64_t i = 0; i < count; ++i) {
    const room_id r = w.pick_room(rng);
    const account_id author = w.pick_author(r, rng);
    std::printf("--- room %llu (%zu members), %s:\n%s\n", static_cast<unsigned long long>(r.value),
                w.members(r).size(), w.name_of(author).c_str(),
                bodies.body(rng, r, author, 1'700'000'000, 100).c_str());
  }
  return 0;
}

}  // namespace hibiki::bench::search
