#include "hibiki/testkit/fixture_client.hpp"

#include <stdexcept>

namespace hibiki::testkit {

using json = nlohmann::json;

fixture_connection connect(actor_fixture& fx) {
  fixture_connection c;
  c.session = fx.open_session(c.link);
  return c;
}

void send(actor_fixture& fx, fixture_connection& c, const json& request) {
  fx.send_text(c.session, request.dump());
  fx.run();
}

std::optional<json> find_reply(const fixture_connection& c, std::int64_t id) {
  for (const auto& f : c.link->frames())
    if (f.contains("re") && f["re"] == id) return f;
  return std::nullopt;
}

json reply(const fixture_connection& c, std::int64_t id) {
  auto r = find_reply(c, id);
  if (!r) throw std::runtime_error("no reply to request " + std::to_string(id));
  return *r;
}

fixture_connection login(actor_fixture& fx, const std::string& token) {
  auto c = connect(fx);
  send(fx, c, {{"id", 1}, {"op", "auth"}, {"token", token}});
  auto r = reply(c, 1);
  if (r.value("ok", false) != true) throw std::runtime_error("auth failed: " + r.dump());
  return c;
}

}  // namespace hibiki::testkit
