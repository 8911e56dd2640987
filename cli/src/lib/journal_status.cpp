#include "hibiki/cli/journal_status.hpp"

#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>

namespace hibiki::cli {
namespace {

using json = nlohmann::json;

/// Reads a member that may be missing (nullopt) but, when there, must have the right type.
struct reader {
  const json& j;
  std::string where;
  std::string problem;

  std::optional<std::string> text(const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string()) return wrong(key, "a string");
    return j[key].get<std::string>();
  }
  std::optional<std::int64_t> integer(const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_number_integer()) return wrong<std::int64_t>(key, "an integer");
    return j[key].get<std::int64_t>();
  }
  template <class T = std::string>
  std::optional<T> wrong(const char* key, const char* what) {
    if (problem.empty()) problem = where + "\"" + key + "\" is not " + what;
    return std::nullopt;
  }
};

std::string number_or_dash(std::optional<std::int64_t> v) {
  return v && *v >= 0 ? std::to_string(*v) : "-";
}

}  // namespace

result<journal_status_reply> fetch_journal_status(const server_url& url,
                                                  std::chrono::milliseconds timeout,
                                                  std::string_view admin_token,
                                                  const client_tls_options& tls) {
  return fetch_status_json(url, "/api/journal", "journal status", timeout, admin_token, tls);
}

result<std::string> format_journal_status(const json& status) {
  using out_t = result<std::string>;
  if (!status.is_object()) return out_t(errc::bad_request, "journal status: not a JSON object");
  reader top{status, "journal status: ", {}};
  auto kind = top.text("kind");
  if (!kind && top.problem.empty()) top.problem = "journal status: no \"kind\"";
  auto brokers = top.text("brokers");
  auto topic = top.text("topic");
  auto partition_count = top.integer("partition_count");
  auto appends = top.integer("appends");
  auto rejected = top.integer("rejected");
  auto failed = top.integer("failed");
  auto status_error = top.text("error");
  if (!top.problem.empty()) return out_t(errc::bad_request, top.problem);

  std::ostringstream out;
  auto line = [&](const char* label, const std::string& value) {
    out << label << std::string(11 - std::string_view(label).size(), ' ') << value << "\n";
  };
  line("journal", *kind);
  // The node could not get a fresh look (e.g. the broker is down): say so before the rest.
  if (status_error && !status_error->empty()) line("error", *status_error);
  if (brokers && !brokers->empty()) line("brokers", *brokers);
  if (topic && !topic->empty()) {
    std::string t = *topic;
    if (partition_count && *partition_count > 0)
      t += " (" + std::to_string(*partition_count) + " partitions)";
    line("topic", t);
  }
  line("appends", number_or_dash(appends) + " acknowledged, " + number_or_dash(rejected) +
                      " rejected, " + number_or_dash(failed) + " failed");

  if (status.contains("breaker")) {
    if (!status["breaker"].is_object())
      return out_t(errc::bad_request, "journal status: \"breaker\" is not an object");
    reader b{status["breaker"], "journal status: breaker ", {}};
    auto state = b.text("state");
    auto failures = b.integer("consecutive_failures");
    auto max_failures = b.integer("max_failures");
    auto call_timeout = b.integer("call_timeout_ms");
    auto reset_timeout = b.integer("reset_timeout_ms");
    if (!b.problem.empty()) return out_t(errc::bad_request, b.problem);
    line("breaker", state.value_or("-") + " (" + number_or_dash(failures) +
                        " failures in a row; opens at " + number_or_dash(max_failures) +
                        "; call timeout " + number_or_dash(call_timeout) + " ms; reset after " +
                        number_or_dash(reset_timeout) + " ms)");
  }

  const json empty = json::array();
  const json& partitions = status.contains("partitions") ? status["partitions"] : empty;
  if (!partitions.is_array())
    return out_t(errc::bad_request, "journal status: \"partitions\" is not an array");
  if (partitions.empty()) {
    line("partitions", *kind == "kafka" ? "none owned" : "none (not partitioned)");
    return out.str();
  }
  line("partitions", std::to_string(partitions.size()) + " owned");
  out << "\n";
  char row[256];
  std::snprintf(row, sizeof row, "%9s  %-12s %15s %15s %12s  %s\n", "PARTITION", "STATE",
                "INDEXED_OFFSET", "END_OFFSET", "LAG", "LAST_ERROR");
  out << row;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    if (!partitions[i].is_object()) {
      return out_t(errc::bad_request,
                   "journal status: partition entry " + std::to_string(i) + " is not an object");
    }
    reader p{partitions[i], "journal status: partition entry " + std::to_string(i) + " ", {}};
    auto number = p.integer("partition");
    auto state = p.text("state");
    auto indexed = p.integer("indexed_offset");
    auto end = p.integer("end_offset");
    auto lag = p.integer("lag");
    auto error = p.text("last_error");
    if (!p.problem.empty()) return out_t(errc::bad_request, p.problem);
    std::snprintf(row, sizeof row, "%9s  %-12s %15s %15s %12s  ", number_or_dash(number).c_str(),
                  state.value_or("-").c_str(), number_or_dash(indexed).c_str(),
                  number_or_dash(end).c_str(), number_or_dash(lag).c_str());
    std::string r = row;
    r += error.value_or("");
    while (!r.empty() && r.back() == ' ') r.pop_back();
    out << r << "\n";
  }
  return out.str();
}

}  // namespace hibiki::cli
