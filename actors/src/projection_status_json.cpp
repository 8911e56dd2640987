#include "projection_status_json.hpp"

#include <string>

namespace hibiki::actors {

namespace {

nlohmann::json positions_json(const persistence::feed_positions& positions) {
  auto out = nlohmann::json::object();
  for (const auto& [p, offset] : positions) out[std::to_string(p)] = offset;
  return out;
}

}  // namespace

nlohmann::json projections_status_json(const std::vector<persistence::projection_status>& all) {
  auto list = nlohmann::json::array();
  for (const auto& s : all) {
    list.push_back({
        {"name", s.name},
        {"state", std::string(persistence::to_string(s.state))},
        {"positions", positions_json(s.positions)},
        {"end_positions", positions_json(s.end_positions)},
        {"lag", s.lag},
        {"applied", s.applied},
        {"events_per_second", s.events_per_second},
        {"last_error", s.last_error},
        {"rebuild",
         {{"active", s.rebuild.active},
          {"done", s.rebuild.done},
          {"applied", s.rebuild.applied},
          {"total", s.rebuild.total},
          {"position", s.rebuild.position},
          {"seconds", s.rebuild.seconds},
          {"events_per_second", s.rebuild.events_per_second}}},
    });
  }
  return nlohmann::json{{"projections", std::move(list)}};
}

}  // namespace hibiki::actors
