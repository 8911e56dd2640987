#include "readiness.hpp"

namespace hibiki::gateway {
namespace {

std::string offset_text(const nlohmann::json& p, const char* key) {
  auto it = p.find(key);
  if (it == p.end() || !it->is_number_integer() || it->get<std::int64_t>() < 0) return "?";
  return std::to_string(it->get<std::int64_t>());
}

/// The string at `key`, empty when missing or not a string (value() would throw on a number).
std::string string_at(const nlohmann::json& o, const char* key) {
  auto it = o.find(key);
  return it != o.end() && it->is_string() ? it->get<std::string>() : std::string();
}

std::string state_words(const std::string& state) {
  std::string out = state;
  for (auto& c : out)
    if (c == '_') c = ' ';
  return out;
}

}  // namespace

std::vector<std::string> readiness_problems(bool healthy, const nlohmann::json& journal) {
  std::vector<std::string> out;
  if (!healthy) out.push_back("node stopping");
  if (!journal.is_object()) {
    out.push_back("journal status unknown");
    return out;
  }
  if (auto e = journal.find("error"); e != journal.end() && !e->is_null()) {
    out.push_back("journal status unknown: " +
                  (e->is_string() ? e->get<std::string>() : e->dump()));
  }
  if (auto b = journal.find("breaker"); b != journal.end() && b->is_object()) {
    const auto state = string_at(*b, "state");
    if (state != "closed") out.push_back("journal breaker " + (state.empty() ? "unknown" : state));
  }
  if (auto parts = journal.find("partitions"); parts != journal.end() && parts->is_array()) {
    for (const auto& p : *parts) {
      if (!p.is_object()) continue;
      const auto state = string_at(p, "state");
      if (state == "ready" || state == "following") continue;
      out.push_back("partition " + offset_text(p, "partition") + " " +
                    state_words(state.empty() ? "in an unknown state" : state) + " " +
                    offset_text(p, "indexed_offset") + "/" + offset_text(p, "end_offset"));
    }
  }
  return out;
}

std::vector<std::string> starting_problems(
    const std::function<std::vector<std::string>()>& starting) {
  std::vector<std::string> out;
  if (starting) out = starting();
  if (out.empty()) out.push_back("node starting");
  return out;
}

std::string readiness_body(const std::vector<std::string>& problems) {
  if (problems.empty()) return R"({"ready":true})";
  return nlohmann::json{{"ready", false}, {"reasons", problems}}.dump(
      -1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hibiki::gateway
