// hibiki_cluster_intruder: a CAF node that is not a member of the cluster trying to use a node's
// cluster port, as an attacker would (tests/e2e/test_cluster_security.py). It connects with CAF's
// plain middleman or its OpenSSL module (with whatever certificate it is given), and if that
// works, sends what a member sends: a journal status request, a forged command (a message posted
// as another account), a forged push (a `message_created` frame for a live connection), and a
// message of a shape the port does not expect.
//
//   hibiki_cluster_intruder plain HOST PORT ACTION...
//   hibiki_cluster_intruder tls HOST PORT CERT KEY CA ACTION...
//
// ACTION: status | post ROOM ACCOUNT BODY | push ACCOUNT FRAME | shape
//
// Prints one JSON object: {"connected": bool, "error": why not, "results": [{"action", "ok",
// "reply" | "error"}]}; a command's reply is {"err": {"code", "message"}} or {"fields": ...}.
// Exit: 0 connected, 3 not connected, 2 usage.

#include <chrono>
#include <iostream>
#include <string>
#include <vector>

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/manager.hpp>
#include <nlohmann/json.hpp>

#include "cluster_wire.hpp"
#include "messages.hpp"

namespace {

using bogus_atom = caf::atom_constant<caf::atom("h_bogus")>;
constexpr std::chrono::seconds limit{10};

int usage() {
  std::cerr << "usage: hibiki_cluster_intruder plain HOST PORT ACTION...\n"
               "       hibiki_cluster_intruder tls HOST PORT CERT KEY CA ACTION...\n"
               "ACTION: status | post ROOM ACCOUNT BODY | push ACCOUNT FRAME | shape\n";
  return 2;
}

}  // namespace

int main(int argc, char** argv) {
  using namespace hibiki;
  using namespace hibiki::actors;
  std::vector<std::string> args(argv + 1, argv + argc);
  if (args.size() < 3 || (args[0] != "plain" && args[0] != "tls")) return usage();
  const bool tls = args[0] == "tls";
  const std::string host = args[1];
  const auto port = static_cast<std::uint16_t>(std::stoul(args[2]));
  std::size_t next = 3;
  caf::actor_system_config cfg;
  cfg.load<caf::io::middleman>();
  add_cluster_message_types(cfg);  // it speaks the members' typed messages
  if (tls) {
    if (args.size() < 6) return usage();
    cfg.load<caf::openssl::manager>();
    cfg.openssl_certificate = args[3];
    cfg.openssl_key = args[4];
    cfg.openssl_cafile = args[5];
    next = 6;
  }
  nlohmann::json out;
  out["connected"] = false;
  out["results"] = nlohmann::json::array();
  int rc = 3;
  {
    caf::actor_system sys{cfg};
    caf::scoped_actor self{sys};
    auto mm = tls ? sys.openssl_manager().actor_handle() : sys.middleman().actor_handle();
    caf::actor port_actor;
    self->request(mm, limit, caf::connect_atom::value, host, port)
        .receive(
            [&](const caf::node_id&, caf::strong_actor_ptr& ptr, const std::set<std::string>&) {
              port_actor = caf::actor_cast<caf::actor>(ptr);
              if (!port_actor) out["error"] = "connected, but no actor is published there";
            },
            [&](caf::error& err) { out["error"] = sys.render(err); });
    if (port_actor) {
      out["connected"] = true;
      rc = 0;
      for (std::size_t i = next; i < args.size(); ++i) {
        nlohmann::json r;
        r["action"] = args[i];
        auto failed = [&](caf::error& err) {
          r["ok"] = false;
          r["error"] = sys.render(err);
        };
        auto ask = [&](auto... xs) {
          self->request(port_actor, limit, xs...)
              .receive(
                  [&](const std::string& reply) {
                    r["ok"] = true;
                    r["reply"] = reply;
                  },
                  failed);
        };
        // A command's reply: {"err": {"code", "message"}} or {"fields": ...}.
        auto ask_command = [&](remote_room_command m) {
          self->request(port_actor, limit, std::move(m))
              .receive(
                  [&](const remote_reply& reply) {
                    auto c = from_wire(reply);
                    nlohmann::json j;
                    if (c.err)
                      j["err"] = {{"code", static_cast<int>(c.err->code)},
                                  {"message", c.err->message}};
                    else
                      j["fields"] = c.fields;
                    r["ok"] = true;
                    r["reply"] = j.dump();
                  },
                  failed);
        };
        if (args[i] == "status") {
          ask(cstatus_atom::value);
        } else if (args[i] == "post" && i + 3 < args.size()) {
          // A message in ROOM as ACCOUNT, who never sent it.
          const auto now = std::chrono::duration_cast<std::chrono::seconds>(
                               std::chrono::system_clock::now().time_since_epoch())
                               .count();
          room::send_message m{account_id{std::stoull(args[i + 2])}, args[i + 3],
                               "intruder-" + std::to_string(i), now};
          ask_command(remote_room_command{"room-" + args[i + 1], room::command{m}, "intruder", 0});
          i += 3;
        } else if (args[i] == "push" && i + 2 < args.size()) {
          // One-way: whether it arrived shows at the client.
          self->send(port_actor,
                     remote_push{args[i + 2], {std::stoull(args[i + 1])}, "intruder", 0});
          r["ok"] = true;
          r["reply"] = "sent";
          i += 2;
        } else if (args[i] == "shape") {
          ask(bogus_atom::value, std::string("what is this?"));
        } else {
          return usage();
        }
        out["results"].push_back(std::move(r));
      }
    }
  }
  std::cout << out.dump() << std::endl;
  return rc;
}
