#include "hibiki/cli/cluster_status.hpp"

#include <algorithm>
#include <cstdio>
#include <optional>
#include <sstream>

namespace hibiki::cli {
namespace {

using json = nlohmann::json;
using out_t = result<std::string>;

out_t malformed(std::string what) {
  return out_t(errc::bad_request, "cluster status: " + std::move(what));
}

/// The shard numbers of a node entry, or a reason why they are not a list of partitions.
result<std::vector<std::int64_t>> shard_list(const json& shards, const std::string& where) {
  using r = result<std::vector<std::int64_t>>;
  if (!shards.is_array()) return r(errc::bad_request, where + "\"shards\" is not an array");
  std::vector<std::int64_t> out;
  for (const auto& s : shards) {
    if (!s.is_number_integer() || s.get<std::int64_t>() < 0)
      return r(errc::bad_request, where + "\"shards\" holds something that is not a partition");
    out.push_back(s.get<std::int64_t>());
  }
  return out;
}

/// The node's lag: the sum of its shards' lag in its own journal status. Unknown (nullopt) when
/// the journal is missing, or a shard has no known lag there.
std::optional<std::int64_t> lag_of(const json& journal, const std::vector<std::int64_t>& shards,
                                   bool all_partitions) {
  if (!journal.is_object() || !journal.contains("partitions") || !journal["partitions"].is_array())
    return std::nullopt;
  std::int64_t sum = 0;
  std::size_t counted = 0;
  for (const auto& p : journal["partitions"]) {
    if (!p.is_object() || !p.contains("partition") || !p["partition"].is_number_integer()) continue;
    const auto number = p["partition"].get<std::int64_t>();
    if (!all_partitions && std::find(shards.begin(), shards.end(), number) == shards.end())
      continue;
    if (!p.contains("lag") || !p["lag"].is_number_integer() || p["lag"].get<std::int64_t>() < 0)
      return std::nullopt;
    sum += p["lag"].get<std::int64_t>();
    ++counted;
  }
  if (!all_partitions && counted < shards.size()) return std::nullopt;
  return sum;
}

/// The "links" line: the answering node's links to its peers, made and lost since it started.
/// Empty when the status has no (valid) "peer_links" object (an older node).
std::string links_text(const json& status) {
  if (!status.contains("peer_links") || !status["peer_links"].is_object()) return {};
  const auto& l = status["peer_links"];
  auto count = [&](const char* key) -> std::optional<std::uint64_t> {
    if (!l.contains(key) || !l[key].is_number_integer() || l[key].get<std::int64_t>() < 0)
      return std::nullopt;
    return l[key].get<std::uint64_t>();
  };
  auto made = count("made");
  auto lost = count("lost");
  if (!made || !lost) return {};
  return std::to_string(*made) + " made, " + std::to_string(*lost) +
         " lost (by the node that answered, since it started)";
}

/// The "transport" line: how the answering node's cluster port is secured. Empty when the status
/// has no (valid) "transport" object (a node that is not clustered, or an older node).
std::string transport_text(const json& status) {
  if (!status.contains("transport") || !status["transport"].is_object()) return {};
  const auto& t = status["transport"];
  auto str = [&](const char* key) {
    return t.contains(key) && t[key].is_string() ? t[key].get<std::string>() : std::string();
  };
  const auto mode = str("mode");
  if (mode == "insecure") return "INSECURE: plain TCP, no authentication (--cluster-insecure)";
  if (mode != "mutual-tls") return mode.empty() ? std::string() : mode;
  std::string out = "mutual TLS";
  std::string detail;
  if (auto cert = str("certificate"); !cert.empty()) detail = "certificate " + cert;
  if (auto until = str("not_after"); !until.empty())
    detail += (detail.empty() ? "" : ", ") + std::string("valid until ") + until;
  if (t.contains("ca") && t["ca"].is_array()) {
    std::string cas;
    for (const auto& ca : t["ca"])
      if (ca.is_string()) cas += (cas.empty() ? "" : "; ") + ca.get<std::string>();
    if (!cas.empty()) detail += (detail.empty() ? "" : ", ") + std::string("CA ") + cas;
  }
  if (!detail.empty()) out += " (" + detail + ")";
  return out;
}

}  // namespace

result<status_reply> fetch_cluster_status(const server_url& url, std::chrono::milliseconds timeout,
                                          std::string_view admin_token,
                                          const client_tls_options& tls) {
  return fetch_status_json(url, "/api/cluster", "cluster status", timeout, admin_token, tls);
}

std::string shard_ranges(std::vector<std::int64_t> shards) {
  if (shards.empty()) return "-";
  std::sort(shards.begin(), shards.end());
  shards.erase(std::unique(shards.begin(), shards.end()), shards.end());
  std::string out;
  for (std::size_t i = 0; i < shards.size();) {
    std::size_t j = i;
    while (j + 1 < shards.size() && shards[j + 1] == shards[j] + 1) ++j;
    if (!out.empty()) out += ",";
    out += std::to_string(shards[i]);
    if (j > i) out += "-" + std::to_string(shards[j]);
    i = j + 1;
  }
  return out;
}

result<std::string> format_cluster_status(const json& status) {
  if (!status.is_object()) return malformed("not a JSON object");
  if (!status.contains("clustered") || !status["clustered"].is_boolean())
    return malformed("no boolean \"clustered\"");
  const bool clustered = status["clustered"].get<bool>();
  auto text = [&](const json& j, const char* key, const std::string& where,
                  std::string& problem) -> std::optional<std::string> {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string()) {
      if (problem.empty()) problem = where + "\"" + key + "\" is not a string";
      return std::nullopt;
    }
    return j[key].get<std::string>();
  };
  std::string problem;
  auto self_name = text(status, "node", "", problem);
  auto self_endpoint = text(status, "endpoint", "", problem);
  auto topic = text(status, "topic", "", problem);
  auto group = text(status, "group", "", problem);
  auto top_error = text(status, "error", "", problem);
  if (!problem.empty()) return malformed(problem);
  std::optional<std::int64_t> partition_count;
  if (status.contains("partition_count") && !status["partition_count"].is_null()) {
    if (!status["partition_count"].is_number_integer())
      return malformed("\"partition_count\" is not an integer");
    partition_count = status["partition_count"].get<std::int64_t>();
  }
  if (!status.contains("nodes") || !status["nodes"].is_array())
    return malformed("no \"nodes\" array");
  std::vector<std::int64_t> unassigned;
  if (status.contains("unassigned") && !status["unassigned"].is_null()) {
    auto u = shard_list(status["unassigned"], "");
    if (!u) return malformed("\"unassigned\" is not a list of partitions");
    unassigned = std::move(*u);
  }

  struct row {
    std::string name, endpoint, reachable, shards, lag, error;
  };
  std::vector<row> rows;
  std::size_t reachable_count = 0;
  const auto& nodes = status["nodes"];
  for (std::size_t i = 0; i < nodes.size(); ++i) {
    const auto& n = nodes[i];
    const auto where = "node entry " + std::to_string(i) + " ";
    if (!n.is_object()) return malformed(where + "is not an object");
    auto name = text(n, "node", where, problem);
    auto endpoint = text(n, "endpoint", where, problem);
    auto error = text(n, "error", where, problem);
    if (!problem.empty()) return malformed(problem);
    if (!name) return malformed(where + "has no \"node\"");
    for (const char* flag : {"self", "reachable"}) {
      if (n.contains(flag) && !n[flag].is_boolean())
        return malformed(where + "\"" + flag + "\" is not a boolean");
    }
    const bool self = n.value("self", false);
    const bool reachable = n.value("reachable", false);
    if (n.contains("journal") && !n["journal"].is_null() && !n["journal"].is_object())
      return malformed(where + "\"journal\" is not an object");
    const json journal = n.contains("journal") ? n["journal"] : json();
    // A node that is not clustered has no "shards": it owns every partition of its journal.
    const bool owns_all = !n.contains("shards") && !clustered;
    std::vector<std::int64_t> shards;
    if (n.contains("shards") && !n["shards"].is_null()) {
      auto s = shard_list(n["shards"], where);
      if (!s) return malformed(s.error().message);
      shards = std::move(*s);
    }
    auto lag = lag_of(journal, shards, owns_all);
    if (reachable) ++reachable_count;
    rows.push_back(row{*name + (self ? "*" : ""), endpoint.value_or("-"), reachable ? "yes" : "no",
                       owns_all ? "all" : shard_ranges(shards), lag ? std::to_string(*lag) : "-",
                       error.value_or("")});
  }

  std::ostringstream out;
  auto line = [&](const char* label, const std::string& value) {
    out << label << std::string(11 - std::string_view(label).size(), ' ') << value << "\n";
  };
  std::string who = self_name.value_or("?");
  if (self_endpoint && !self_endpoint->empty()) who += " at " + *self_endpoint;
  line("cluster", clustered ? "yes (asked node " + who + ")" : "no (a single node: " + who + ")");
  if (top_error && !top_error->empty()) line("error", *top_error);
  if (topic && !topic->empty()) {
    std::string t = *topic;
    if (partition_count && *partition_count > 0)
      t += " (" + std::to_string(*partition_count) + " partitions)";
    line("topic", t);
  }
  if (group && !group->empty()) line("group", *group);
  if (auto transport = transport_text(status); !transport.empty()) line("transport", transport);
  line("nodes",
       std::to_string(rows.size()) + " (" + std::to_string(reachable_count) + " reachable)");
  if (clustered) line("unassigned", unassigned.empty() ? "none" : shard_ranges(unassigned));
  if (auto links = links_text(status); !links.empty()) line("links", links);
  out << "\n";

  std::size_t name_w = 4, endpoint_w = 8, shards_w = 6;
  for (const auto& r : rows) {
    name_w = std::max(name_w, r.name.size());
    endpoint_w = std::max(endpoint_w, r.endpoint.size());
    shards_w = std::max(shards_w, r.shards.size());
  }
  auto pad = [](const std::string& s, std::size_t w) { return s + std::string(w - s.size(), ' '); };
  auto emit = [&](const row& r) {
    char lag[32];
    std::snprintf(lag, sizeof lag, "%8s", r.lag.c_str());
    std::string l = pad(r.name, name_w) + "  " + pad(r.endpoint, endpoint_w) + "  " +
                    pad(r.reachable, 9) + "  " + pad(r.shards, shards_w) + "  " + lag + "  " +
                    r.error;
    while (!l.empty() && l.back() == ' ') l.pop_back();
    out << l << "\n";
  };
  emit(row{"NODE", "ENDPOINT", "REACHABLE", "SHARDS", "LAG", "ERROR"});
  for (const auto& r : rows) emit(r);
  out << "(* the node that answered; LAG: records its shards' partitions still have to index)\n";
  return out.str();
}

}  // namespace hibiki::cli
