// hibiki_cluster_hop_bench: what one cross-node hop costs on its own. Two CAF actor systems in
// this process, connected through CAF's middleman over loopback TCP (as two nodes' cluster ports
// are, without TLS), and a peer port that answers a forwarded send_message at once (no entity,
// no journal). It times request -> reply round trips of
//   typed: the cluster's typed messages (remote_room_command -> remote_reply, cluster_wire.hpp);
//   json:  the earlier protocol: an atom tuple carrying the command as core's JSON command text,
//          decoded by the peer, answered with the reply as JSON text, decoded again;
//   local: the typed request to the same kind of port in the sender's own actor system (what a
//          hop adds is the remote time minus this);
// in rounds that alternate the three, so they share the machine's conditions.
//
//   hibiki_cluster_hop_bench [ROUNDS] [PER_ROUND]      (defaults: 20 rounds of 500 requests)
//
// Prints one JSON line: for each kind, p50/p99/p99.9 in microseconds and the count.

#include <algorithm>
#include <chrono>
#include <cstdint>
#include <iostream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <nlohmann/json.hpp>

#include "cluster_wire.hpp"
#include "hibiki/core/command_codec.hpp"

namespace {

using namespace hibiki;
using namespace hibiki::actors;
using old_rcmd_atom = caf::atom_constant<caf::atom("h_rcmd")>;
using clock_type = std::chrono::steady_clock;

/// What a room answers to send_message, in size and shape.
nlohmann::json sent_fields() {
  return {{"message_id", "1234"}, {"seq", 4321}};
}

caf::behavior peer_port(caf::event_based_actor*) {
  return {
      [](remote_room_command& c) -> remote_reply {
        if (!std::holds_alternative<room::send_message>(c.cmd))
          return to_wire(command_reply::fail(errc::bad_request, "not a send_message"));
        return to_wire(command_reply::ok(sent_fields()));
      },
      [](old_rcmd_atom, std::uint8_t, const std::string&, const std::string& text,
         const std::string&, std::uint64_t) -> std::string {
        auto cmd = codec::decode_room_command(text);
        nlohmann::json j;
        if (!cmd)
          j["err"] = {{"code", "bad_request"}, {"message", cmd.error().message}};
        else
          j["fields"] = sent_fields();
        return j.dump();
      },
  };
}

struct samples {
  std::vector<double> us;
  nlohmann::json summary() {
    std::sort(us.begin(), us.end());
    auto at = [&](double q) {
      return us.empty() ? 0.0
                        : us[std::min(us.size() - 1, static_cast<std::size_t>(q * us.size()))];
    };
    return {
        {"count", us.size()}, {"p50_us", at(0.5)}, {"p99_us", at(0.99)}, {"p999_us", at(0.999)}};
  }
};

room::send_message a_message(std::uint64_t i) {
  return room::send_message{account_id{7},
                            "hello there, this is message " + std::to_string(i),
                            "c-" + std::to_string(i),
                            1700000000,
                            false,
                            "alice"};
}

}  // namespace

int main(int argc, char** argv) {
  const int rounds = argc > 1 ? std::stoi(argv[1]) : 20;
  const int per_round = argc > 2 ? std::stoi(argv[2]) : 500;
  caf::actor_system_config cfg_a, cfg_b;
  for (auto* cfg : {&cfg_a, &cfg_b}) {
    cfg->load<caf::io::middleman>();
    add_cluster_message_types(*cfg);
  }
  caf::actor_system sys_a{cfg_a};
  caf::actor_system sys_b{cfg_b};
  auto remote_port = sys_b.spawn(peer_port);
  auto published = sys_b.middleman().publish(remote_port, 0, "127.0.0.1");
  if (!published) {
    std::cerr << "cannot publish: " << sys_b.render(published.error()) << "\n";
    return 1;
  }
  auto remote = sys_a.middleman().remote_actor("127.0.0.1", *published);
  if (!remote) {
    std::cerr << "cannot connect: " << sys_a.render(remote.error()) << "\n";
    return 1;
  }
  auto local_port = sys_a.spawn(peer_port);
  samples typed, json, local;
  std::uint64_t n = 0, errors = 0;
  {
    caf::scoped_actor self{sys_a};
    // One request, timed; `check` tells whether its answer (of type Answer) is a success.
    auto time_one = [&](samples& into, auto check, auto&&... xs) {
      using answer_type = typename decltype(check)::answer;
      auto t0 = clock_type::now();
      bool ok = false;
      self->request(xs...).receive([&](const answer_type& a) { ok = check(a); },
                                   [&](caf::error&) { ok = false; });
      auto t1 = clock_type::now();
      if (!ok) ++errors;
      into.us.push_back(std::chrono::duration<double, std::micro>(t1 - t0).count());
    };
    struct typed_ok {
      using answer = remote_reply;
      bool operator()(const remote_reply& r) const { return !from_wire(r).err; }
    };
    struct json_ok {
      using answer = std::string;
      bool operator()(const std::string& text) const {
        auto j = nlohmann::json::parse(text, nullptr, false);
        return !j.is_discarded() && j.contains("fields");
      }
    };
    const auto limit = std::chrono::seconds(5);
    for (int r = 0; r < rounds + 1; ++r) {
      const bool warmup = r == 0;
      samples scratch;
      for (int i = 0; i < per_round; ++i, ++n)
        time_one(warmup ? scratch : typed, typed_ok{}, *remote, limit,
                 remote_room_command{"room-1", room::command{a_message(n)}, "a", 1});
      for (int i = 0; i < per_round; ++i, ++n)
        time_one(warmup ? scratch : json, json_ok{}, *remote, limit, old_rcmd_atom::value,
                 std::uint8_t{0}, std::string("room-1"),
                 codec::encode_command(room::command{a_message(n)}), std::string("a"),
                 std::uint64_t{1});
      for (int i = 0; i < per_round; ++i, ++n)
        time_one(warmup ? scratch : local, typed_ok{}, local_port, limit,
                 remote_room_command{"room-1", room::command{a_message(n)}, "a", 1});
    }
  }
  nlohmann::json out{{"rounds", rounds},         {"per_round", per_round},
                     {"typed", typed.summary()}, {"json", json.summary()},
                     {"local", local.summary()}, {"errors", errors}};
  std::cout << out.dump() << std::endl;
  caf::anon_send_exit(remote_port, caf::exit_reason::user_shutdown);
  caf::anon_send_exit(local_port, caf::exit_reason::user_shutdown);
  return errors == 0 ? 0 : 1;
}
