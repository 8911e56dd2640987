#include "cluster_map.hpp"

#include <cstdlib>

#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <chrono>
#include <nlohmann/json.hpp>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/shard.hpp"

namespace hibiki::bench {
namespace {

namespace beast = boost::beast;
namespace http = beast::http;
namespace net = boost::asio;
using tcp = net::ip::tcp;

/// One server's view: its own name and, per partition, the node Kafka assigned it to.
struct view {
  std::string self;
  std::int32_t partition_count = 1;
  std::vector<std::string> owners;
};

std::optional<view> parse_view(const std::string& body, std::string& error) {
  auto j = nlohmann::json::parse(body, nullptr, false);
  if (j.is_discarded() || !j.is_object() || !j.contains("node") || !j["node"].is_string()) {
    error = "not a cluster status: " + body.substr(0, 200);
    return std::nullopt;
  }
  view v;
  v.self = j["node"].get<std::string>();
  if (!j.value("clustered", false)) {
    // A single node serves every shard: one partition stands for all of them.
    v.owners.assign(1, v.self);
    return v;
  }
  const auto& count = j["partition_count"];
  if (!count.is_number_integer() || count.get<std::int64_t>() < 1 ||
      count.get<std::int64_t>() > 1 << 20 || !j["nodes"].is_array()) {
    error = "cluster status without partition_count or nodes: " + body.substr(0, 200);
    return std::nullopt;
  }
  v.partition_count = count.get<std::int32_t>();
  v.owners.assign(static_cast<std::size_t>(v.partition_count), std::string());
  for (const auto& n : j["nodes"]) {
    if (!n.is_object() || !n.contains("node") || !n["node"].is_string()) continue;
    if (!n.contains("shards") || !n["shards"].is_array()) continue;
    for (const auto& p : n["shards"]) {
      if (!p.is_number_integer()) continue;
      const auto i = p.get<std::int64_t>();
      if (i >= 0 && i < v.partition_count)
        v.owners[static_cast<std::size_t>(i)] = n["node"].get<std::string>();
    }
  }
  return v;
}

}  // namespace

std::optional<std::string> http_get(const std::string& host, const std::string& port,
                                    const std::string& target, std::string& error) {
  net::io_context ioc;
  beast::tcp_stream stream(ioc);
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(host, port, ec);
  if (ec) {
    error = "resolve " + host + ":" + port + ": " + ec.message();
    return std::nullopt;
  }
  stream.expires_after(std::chrono::seconds(10));
  stream.connect(endpoints, ec);
  http::request<http::empty_body> req{http::verb::get, target, 11};
  req.set(http::field::host, host + ":" + port);
  // /api/cluster is an operator endpoint: it wants hibikid's admin token when one is set.
  if (const char* token = std::getenv("HIBIKI_ADMIN_TOKEN"); token != nullptr && *token != '\0')
    req.set(http::field::authorization, std::string("Bearer ") + token);
  req.keep_alive(false);
  if (!ec) http::write(stream, req, ec);
  beast::flat_buffer buffer;
  http::response<http::string_body> res;
  if (!ec) http::read(stream, buffer, res, ec);
  if (ec) {
    error = "GET http://" + host + ":" + port + target + ": " + ec.message();
    return std::nullopt;
  }
  beast::error_code ignored;
  stream.socket().shutdown(tcp::socket::shutdown_both, ignored);
  if (res.result() != http::status::ok) {
    error = "GET http://" + host + ":" + port + target + ": status " +
            std::to_string(res.result_int()) + ": " + res.body().substr(0, 200);
    return std::nullopt;
  }
  return std::move(res.body());
}

std::optional<cluster_map> cluster_map::fetch(const std::vector<server_url>& servers,
                                              std::string& error) {
  std::vector<view> views;
  for (const auto& s : servers) {
    auto body = http_get(s.host, s.port, "/api/cluster", error);
    if (!body) return std::nullopt;
    auto v = parse_view(*body, error);
    if (!v) {
      error = s.url + ": " + error;
      return std::nullopt;
    }
    views.push_back(std::move(*v));
  }
  cluster_map m;
  if (views.empty()) {
    error = "no servers";
    return std::nullopt;
  }
  m.partition_count_ = views.front().partition_count;
  for (const auto& v : views) {
    if (v.partition_count != m.partition_count_) {
      error = "the servers disagree on the partition count (" + std::to_string(v.partition_count) +
              " at " + v.self + ", " + std::to_string(m.partition_count_) + " at " +
              views.front().self + ")";
      return std::nullopt;
    }
    m.node_of_server_.push_back(v.self);
  }
  m.owners_ = views.front().owners;
  for (std::size_t p = 0; p < m.owners_.size(); ++p) {
    for (const auto& v : views) {
      if (v.owners[p] != m.owners_[p]) {
        m.owners_[p].clear();
        ++m.disagreements_;
        break;
      }
    }
  }
  return m;
}

hop cluster_map::classify(std::size_t server, std::uint64_t room) const {
  if (server >= node_of_server_.size()) return hop::unknown;
  const auto p =
      partition_count_ <= 1 ? 0 : hibiki::shard_of(entity_of(room_id{room}), partition_count_);
  const auto& owner = owners_[static_cast<std::size_t>(p)];
  if (owner.empty()) return hop::unknown;
  return owner == node_of_server_[server] ? hop::local : hop::remote;
}

}  // namespace hibiki::bench
