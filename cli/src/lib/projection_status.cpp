#include "hibiki/cli/projection_status.hpp"

#include <cstdio>
#include <sstream>
#include <thread>

namespace hibiki::cli {
namespace {

using json = nlohmann::json;

std::string number_or_dash(const json& v) {
  if (!v.is_number_integer() || v.get<std::int64_t>() < 0) return "-";
  return std::to_string(v.get<std::int64_t>());
}

std::string rate(const json& v) {
  if (!v.is_number()) return "-";
  return std::to_string(static_cast<std::int64_t>(v.get<double>() + 0.5));
}

std::string positions_text(const json& positions, const json& ends) {
  if (!positions.is_object() || positions.empty()) return "-";
  std::string out;
  for (const auto& [p, at] : positions.items()) {
    if (!out.empty()) out += " ";
    out += p + ":" + number_or_dash(at);
    if (ends.is_object() && ends.contains(p)) out += "/" + number_or_dash(ends[p]);
  }
  return out;
}

}  // namespace

result<std::string> format_projections(const json& status) {
  using out_t = result<std::string>;
  if (!status.is_object() || !status.contains("projections") || !status["projections"].is_array())
    return out_t(errc::bad_request, "projections: expected {\"projections\": [...]}");
  const auto& list = status["projections"];
  if (list.empty()) return std::string("no projections run on this node\n");
  std::ostringstream out;
  char row[512];
  std::snprintf(row, sizeof row, "%-12s %-11s %10s %12s %10s  %-24s %s\n", "NAME", "STATE", "LAG",
                "APPLIED", "EVENTS/S", "POSITIONS (P:AT/END)", "LAST_ERROR");
  out << row;
  for (std::size_t i = 0; i < list.size(); ++i) {
    const auto& p = list[i];
    if (!p.is_object() || !p.contains("name") || !p["name"].is_string() || !p.contains("state") ||
        !p["state"].is_string())
      return out_t(errc::bad_request,
                   "projections: entry " + std::to_string(i) + " has no name or state");
    std::snprintf(
        row, sizeof row, "%-12s %-11s %10s %12s %10s  %-24s %s\n",
        p["name"].get<std::string>().c_str(), p["state"].get<std::string>().c_str(),
        number_or_dash(p.value("lag", json())).c_str(),
        number_or_dash(p.value("applied", json())).c_str(),
        rate(p.value("events_per_second", json())).c_str(),
        positions_text(p.value("positions", json()), p.value("end_positions", json())).c_str(),
        p.value("last_error", std::string()).c_str());
    out << row;
    const auto rb = p.value("rebuild", json());
    if (rb.is_object() && (rb.value("active", false) || rb.value("done", false)))
      out << "  " << format_rebuild_progress(p) << "\n";
  }
  return out.str();
}

std::optional<json> find_projection(const json& status, const std::string& name) {
  if (!status.is_object() || !status.contains("projections") || !status["projections"].is_array())
    return std::nullopt;
  for (const auto& p : status["projections"])
    if (p.is_object() && p.value("name", std::string()) == name) return p;
  return std::nullopt;
}

bool rebuild_done(const json& projection) {
  const auto rb = projection.value("rebuild", json());
  return rb.is_object() && rb.value("done", false) && !rb.value("active", false);
}

std::string format_rebuild_progress(const json& projection) {
  const auto name = projection.value("name", std::string("?"));
  const auto rb = projection.value("rebuild", json::object());
  const auto applied = number_or_dash(rb.value("applied", json()));
  const auto per_second = rate(rb.value("events_per_second", json()));
  if (rebuild_done(projection)) {
    char seconds[32];
    std::snprintf(seconds, sizeof seconds, "%.1f", rb.value("seconds", 0.0));
    return name + ": rebuilt " + applied + " events in " + seconds + " s (" + per_second +
           " events/s)";
  }
  std::string line = name + ": rebuilding, " + applied + " events applied";
  const auto position = rb.value("position", json());
  const auto total = rb.value("total", json());
  if (position.is_number_integer() && total.is_number_integer() && total.get<std::int64_t>() > 0) {
    const auto at = position.get<std::int64_t>();
    const auto of = total.get<std::int64_t>();
    line += ", offset " + std::to_string(at) + "/" + std::to_string(of) + " (" +
            std::to_string(std::min<std::int64_t>(100, at * 100 / of)) + "%)";
  }
  line += ", " + per_second + " events/s";
  if (projection.value("state", std::string()) == "failing")
    line += " (failing: " + projection.value("last_error", std::string()) + ")";
  return line;
}

status run_projections_command(const client_options& o, const server_url& url,
                               const std::string& admin_token, std::ostream& out,
                               std::chrono::milliseconds poll) {
  using namespace std::chrono_literals;
  auto fetch = [&] {
    return fetch_status_json(url, "/api/projections", "projections", 10s, admin_token, o.tls);
  };
  if (o.args.empty()) return status(errc::bad_request, "admin projections | rebuild NAME");
  if (o.args[0] == "projections") {
    auto reply = fetch();
    if (!reply) return reply.error();
    if (o.json) {
      out << reply->body << "\n";
      return {};
    }
    auto text = format_projections(reply->json);
    if (!text) return text.error();
    out << *text;
    return {};
  }
  if (o.args[0] != "rebuild" || o.args.size() != 2)
    return status(errc::bad_request, "admin projections | rebuild NAME");
  const auto& name = o.args[1];
  auto started = post_operator_json(url, "/api/projections/" + name + "/rebuild", "{}",
                                    "admin rebuild", 15s, admin_token, o.tls);
  if (!started) return started.error();
  for (;;) {
    std::this_thread::sleep_for(poll);
    auto reply = fetch();
    if (!reply) return reply.error();
    auto p = find_projection(reply->json, name);
    if (!p)
      return status(errc::internal,
                    "the projection " + name + " is no longer there (is the node stopping?)");
    if (!o.json) out << format_rebuild_progress(*p) << std::endl;
    if (rebuild_done(*p)) {
      if (o.json) out << p->dump() << "\n";
      return {};
    }
  }
}

}  // namespace hibiki::cli
