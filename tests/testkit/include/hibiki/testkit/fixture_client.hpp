#pragma once
/// A client of the actor_fixture's session actors, as the actor tests drive them: a connection
/// (its session and the link recording what it is sent), sending a request and running the
/// fixture, finding the reply to a request, and logging in with a token.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "hibiki/testkit/actor_fixture.hpp"
#include "hibiki/testkit/recording_link.hpp"

namespace hibiki::testkit {

/// One client connection on an actor_fixture.
struct fixture_connection {
  std::shared_ptr<recording_link> link = std::make_shared<recording_link>();
  caf::actor session;
};

/// A new connection (not authenticated).
fixture_connection connect(actor_fixture& fx);

/// Sends `request` as one text frame, then runs the fixture until it is idle.
void send(actor_fixture& fx, fixture_connection& c, const nlohmann::json& request);

/// The reply to request `id` among the frames received so far, if any.
std::optional<nlohmann::json> find_reply(const fixture_connection& c, std::int64_t id);

/// The reply to request `id`; throws std::runtime_error (failing the test) when there is none.
nlohmann::json reply(const fixture_connection& c, std::int64_t id);

/// A new connection authenticated with `token` (request id 1); throws std::runtime_error
/// (failing the test) when the auth is not answered ok.
fixture_connection login(actor_fixture& fx, const std::string& token);

}  // namespace hibiki::testkit
