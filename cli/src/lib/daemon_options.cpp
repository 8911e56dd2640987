#include "hibiki/cli/daemon_options.hpp"

#include <unistd.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <limits>
#include <sstream>
#include <thread>

#include <boost/program_options.hpp>

#include "hibiki/core/room_file.hpp"
#include "hibiki/persistence/kafka_settings.hpp"
#include "number_parse.hpp"

namespace hibiki::cli {
namespace {

std::string normalize_key(std::string_view key) {
  std::string k(key);
  for (auto& c : k)
    if (c == '_') c = '-';
  return k;
}

std::string_view trim(std::string_view s) {
  while (!s.empty() && (s.front() == ' ' || s.front() == '\t' || s.front() == '\r'))
    s.remove_prefix(1);
  while (!s.empty() && (s.back() == ' ' || s.back() == '\t' || s.back() == '\r'))
    s.remove_suffix(1);
  return s;
}

status bad(std::string_view key, std::string_view value, std::string_view expected) {
  return status(errc::bad_request, "invalid value '" + std::string(value) + "' for --" +
                                       std::string(key) + ": expected " + std::string(expected));
}

/// HOST:PORT, with [IPv6]:PORT.
status parse_listen(std::string_view key, std::string_view value, std::string& out_host,
                    std::uint16_t& out_port) {
  std::string_view host, port;
  if (!value.empty() && value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':')
      return bad(key, value, "HOST:PORT");
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    auto colon = value.rfind(':');
    if (colon == std::string_view::npos) return bad(key, value, "HOST:PORT");
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  auto p = parse_unsigned(port, 65535);
  if (host.empty() || !p) return bad(key, value, "HOST:PORT with a port from 0 to 65535");
  out_host = std::string(host);
  out_port = static_cast<std::uint16_t>(*p);
  return status::success();
}

/// HOST:PORT[,HOST:PORT...]: what librdkafka takes as bootstrap.servers, checked here so a typo
/// is a usage error and not a two-minute wait for a broker that cannot exist.
status parse_brokers(std::string_view value, daemon_options& o) {
  constexpr std::string_view expected = "HOST:PORT[,HOST:PORT...] with ports from 1 to 65535";
  if (value.empty()) return bad("kafka-brokers", value, expected);
  std::string_view rest = value;
  while (true) {
    auto comma = rest.find(',');
    auto entry = rest.substr(0, comma);
    std::string_view host, port;
    if (!entry.empty() && entry.front() == '[') {
      auto close = entry.find(']');
      if (close == std::string_view::npos || close + 1 >= entry.size() || entry[close + 1] != ':')
        return bad("kafka-brokers", value, expected);
      host = entry.substr(1, close - 1);
      port = entry.substr(close + 2);
    } else {
      auto colon = entry.rfind(':');
      if (colon == std::string_view::npos) return bad("kafka-brokers", value, expected);
      host = entry.substr(0, colon);
      port = entry.substr(colon + 1);
    }
    auto p = parse_unsigned(port, 65535);
    if (host.empty() || !p || *p == 0) return bad("kafka-brokers", value, expected);
    for (char c : host)
      if (c == ' ' || c == '\t' || c == ',' || c == '/')
        return bad("kafka-brokers", value, expected);
    if (comma == std::string_view::npos) break;
    rest = rest.substr(comma + 1);
  }
  o.kafka_brokers = std::string(value);
  return status::success();
}

/// Kafka's own rule for topic names: 1 to 249 of [a-zA-Z0-9._-], and not "." or "..".
bool valid_topic(std::string_view name) {
  if (name.empty() || name.size() > 249 || name == "." || name == "..") return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// --cluster=HOST:PORT: the address the other nodes connect to, so it must name this machine:
/// a wildcard address (0.0.0.0, ::) or port 0 could not be reached at what the node publishes.
status parse_cluster(std::string_view value, daemon_options& o) {
  constexpr std::string_view expected =
      "HOST:PORT that the other nodes can connect to (a port from 1 to 65535, not 0.0.0.0)";
  // IPv6 is refused for now: the cluster glue splits the member name at its last ':' and hands
  // the host to CAF as it is, brackets and all.
  if (!value.empty() && value.front() == '[')
    return bad("cluster", value,
               "HOST:PORT with an IPv4 address or a host name (IPv6 is not "
               "supported for the cluster endpoint yet)");
  auto colon = value.rfind(':');
  if (colon == std::string_view::npos) return bad("cluster", value, expected);
  std::string_view host = value.substr(0, colon), port = value.substr(colon + 1);
  if (host.find(':') != std::string_view::npos) return bad("cluster", value, expected);
  auto p = parse_unsigned(port, 65535);
  if (host.empty() || !p || *p == 0) return bad("cluster", value, expected);
  if (host == "0.0.0.0") return bad("cluster", value, expected);
  for (char c : host)
    if (c == ' ' || c == '\t' || c == ',' || c == '/' || c == '@')
      return bad("cluster", value, expected);
  o.cluster_listen = std::string(value);
  return status::success();
}

/// --node-id: part of the Kafka group member name ("NAME@HOST:PORT") and of log lines, so a
/// plain word.
bool valid_node_id(std::string_view name) {
  if (name.empty() || name.size() > 64) return false;
  for (char c : name) {
    const bool ok = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                    c == '.' || c == '_' || c == '-';
    if (!ok) return false;
  }
  return true;
}

/// A duration option: digits only, within [min, max], in `Unit`s.
template <typename Duration>
status set_duration(std::string_view key, std::string_view value, std::uint64_t min,
                    std::uint64_t max, std::string_view expected, Duration& out) {
  auto n = parse_unsigned(value, max);
  if (!n || *n < min) return bad(key, value, expected);
  out = Duration(*n);
  return status::success();
}

/// A count option: digits only, within [min, max].
template <typename Int>
status set_count(std::string_view key, std::string_view value, std::uint64_t min, std::uint64_t max,
                 std::string_view expected, Int& out) {
  auto n = parse_unsigned(value, max);
  if (!n || *n < min) return bad(key, value, expected);
  out = static_cast<Int>(*n);
  return status::success();
}

status set_bool(std::string_view key, std::string_view value, bool& out) {
  if (value == "true")
    out = true;
  else if (value == "false")
    out = false;
  else
    return bad(key, value, "true or false");
  return status::success();
}

status set_directory(std::string_view key, std::string_view value, std::string& out) {
  if (value.empty()) return bad(key, value, "a directory");
  out = std::string(value);
  return status::success();
}

/// --kafka-config=KEY=VALUE: a librdkafka property. A key given again replaces its value, so a
/// flag overrides the environment's or the file's setting of the same property.
status set_kafka_config(std::string_view value, daemon_options& o) {
  auto eq = value.find('=');
  if (eq == std::string_view::npos || eq == 0)
    return bad("kafka-config", value, "KEY=VALUE (a librdkafka property)");
  const std::string key(trim(value.substr(0, eq)));
  if (key.empty() || key.find_first_of(" \t") != std::string::npos)
    return bad("kafka-config", value, "KEY=VALUE (a librdkafka property)");
  if (auto st = persistence::check_kafka_setting_key(key); !st)
    return status(errc::bad_request, "--kafka-config: " + st.error().message);
  std::string v(trim(value.substr(eq + 1)));
  for (auto& [k, old] : o.kafka_config) {
    if (k == key) {
      old = std::move(v);
      return status::success();
    }
  }
  o.kafka_config.emplace_back(key, std::move(v));
  return status::success();
}

/// A request rate: N or N/s, 1..1000000 per second.
status set_rate(std::string_view key, std::string_view value, double& out) {
  auto digits = value;
  if (digits.size() > 2 && digits.substr(digits.size() - 2) == "/s") digits.remove_suffix(2);
  auto n = parse_unsigned(digits, 1'000'000);
  if (!n || *n == 0) return bad(key, value, "requests per second from 1 to 1000000 (e.g. 200/s)");
  out = static_cast<double>(*n);
  return status::success();
}

/// --actor-scheduler: CAF's two policies.
status set_scheduler_policy(std::string_view value, daemon_options& o) {
  if (value == "stealing")
    o.actor_scheduler = actors::scheduler_policy::stealing;
  else if (value == "sharing")
    o.actor_scheduler = actors::scheduler_policy::sharing;
  else
    return bad("actor-scheduler", value, "stealing or sharing");
  return status::success();
}

/// A file name (checked when the node starts, not here).
status set_file(std::string_view key, std::string_view value, std::string& out) {
  if (value.empty()) return bad(key, value, "a PEM file");
  out = std::string(value);
  return status::success();
}

/// A comma-separated list without empty items.
std::optional<std::vector<std::string>> split_list(std::string_view value) {
  std::vector<std::string> out;
  while (true) {
    auto comma = value.find(',');
    auto item = trim(value.substr(0, comma));
    if (item.empty()) return std::nullopt;
    out.emplace_back(item);
    if (comma == std::string_view::npos) break;
    value.remove_prefix(comma + 1);
  }
  return out;
}

/// An origin as browsers send it: scheme://host[:port], nothing after.
bool valid_origin(std::string_view o) {
  std::string_view rest;
  if (o.rfind("http://", 0) == 0)
    rest = o.substr(7);
  else if (o.rfind("https://", 0) == 0)
    rest = o.substr(8);
  else
    return false;
  if (rest.empty()) return false;
  for (char c : rest)
    if (c == '/' || c == ' ' || c == '?' || c == '#' || c == '@') return false;
  return true;
}

/// --signup-rate=N/s|N/min|N/h, or 0 for no limit.
status set_signup_rate(std::string_view value, daemon_options& o) {
  constexpr std::string_view expected = "N/s, N/min or N/h (N up to 1000000; 0 = no limit)";
  if (value == "0") {
    o.edge.signup_per_ip = 0;
    return status::success();
  }
  auto slash = value.find('/');
  if (slash == std::string_view::npos) return bad("signup-rate", value, expected);
  auto n = parse_unsigned(value.substr(0, slash), 1'000'000);
  auto unit = value.substr(slash + 1);
  std::chrono::seconds period{0};
  if (unit == "s")
    period = std::chrono::seconds(1);
  else if (unit == "min")
    period = std::chrono::seconds(60);
  else if (unit == "h")
    period = std::chrono::seconds(3600);
  if (!n || period.count() == 0) return bad("signup-rate", value, expected);
  o.edge.signup_per_ip = static_cast<std::uint32_t>(*n);
  o.edge.signup_period = period;
  return status::success();
}

/// --api-rate=N/PERIOD with PERIOD [K]s, [K]min or [K]h ("300/5min"), or 0 for no limit.
status set_api_rate(std::string_view value, daemon_options& o) {
  constexpr std::string_view expected =
      "N/PERIOD such as 300/5min, 100/min or 10/s (PERIOD: [K]s, [K]min or [K]h; 0 = no limit)";
  if (value == "0") {
    o.api_rate = 0;
    return status::success();
  }
  auto slash = value.find('/');
  if (slash == std::string_view::npos) return bad("api-rate", value, expected);
  auto n = parse_unsigned(value.substr(0, slash), 1'000'000'000);
  auto unit = value.substr(slash + 1);
  std::size_t digits = 0;
  while (digits < unit.size() && unit[digits] >= '0' && unit[digits] <= '9') ++digits;
  std::uint64_t times = 1;
  if (digits > 0) {
    auto k = parse_unsigned(unit.substr(0, digits), 1'000'000);
    if (!k || *k == 0) return bad("api-rate", value, expected);
    times = *k;
  }
  unit.remove_prefix(digits);
  std::int64_t seconds = 0;
  if (unit == "s")
    seconds = 1;
  else if (unit == "min")
    seconds = 60;
  else if (unit == "h")
    seconds = 3600;
  if (!n || *n == 0 || seconds == 0) return bad("api-rate", value, expected);
  o.api_rate = static_cast<std::uint32_t>(*n);
  o.api_rate_period = std::chrono::seconds(seconds * static_cast<std::int64_t>(times));
  return status::success();
}

// The setters of the table. Captureless lambdas, so each entry holds a plain function pointer.
using options = daemon_options;
using sv = std::string_view;

const std::vector<option_spec> table = {
    {"http", "HOST:PORT", "listen address of HTTP and WebSocket (port 0 picks a free port)",
     "127.0.0.1:8080",
     [](sv v, options& o) { return parse_listen("http", v, o.http_host, o.http_port); }},
    {"data-dir", "DIR",
     "the node's data directory (with --journal=kafka: the local index, snapshots and read "
     "models)",
     "./data", [](sv v, options& o) { return set_directory("data-dir", v, o.data_dir); }},
    {"web-root", "DIR", "directory of the web client's files (default: the built-in web root)",
     nullptr, [](sv v, options& o) { return set_directory("web-root", v, o.web_root); }},
    {"open-signup", "true|false", "open sign-up over POST /api/signup, whatever the address",
     "false", [](sv v, options& o) { return set_bool("open-signup", v, o.open_signup); }},
    {"snapshot-every", "N", "snapshot an entity every N events", "1000",
     [](sv v, options& o) {
       return set_count("snapshot-every", v, 1, std::numeric_limits<std::uint32_t>::max(),
                        "a positive integer", o.snapshot_every);
     }},
    {"passivate-after", "SECONDS", "passivate entities idle this long", "120",
     [](sv v, options& o) {
       return set_duration("passivate-after", v, 1, 1'000'000'000, "a positive number of seconds",
                           o.passivate_after);
     }},
    {"max-live-entities", "N", "most live entities per region", "100000",
     [](sv v, options& o) {
       return set_count("max-live-entities", v, 1, std::numeric_limits<std::uint32_t>::max(),
                        "a positive integer", o.max_live_entities);
     }},
    {"actor-threads", "N", "worker threads running the actors (0 = one per core)", "0",
     [](sv v, options& o) {
       return set_count("actor-threads", v, 0, 1024, "a number from 0 (one per core) to 1024",
                        o.actor_threads);
     }},
    {"actor-scheduler", "stealing|sharing",
     "CAF's scheduling policy: a queue per worker with polling and stealing, or one shared queue",
     "stealing", [](sv v, options& o) { return set_scheduler_policy(v, o); }},
    {"actor-max-throughput", "N",
     "most messages an actor handles before its worker moves on (0 = no limit)", "0",
     [](sv v, options& o) {
       return set_count("actor-max-throughput", v, 0, 1'000'000,
                        "a number from 0 (no limit) to 1000000", o.actor_max_throughput);
     }},
    {"actor-spin-polls", "N",
     "stealing: polls of an idle worker's queue without sleeping before the sleeping polls", "100",
     [](sv v, options& o) {
       return set_count("actor-spin-polls", v, 0, 1'000'000, "a number from 0 to 1000000",
                        o.actor_spin_polls);
     }},
    {"actor-sleep-polls", "N",
     "stealing: polls after the spin polls, each after --actor-poll-sleep, before the worker "
     "waits",
     "500",
     [](sv v, options& o) {
       return set_count("actor-sleep-polls", v, 0, 1'000'000, "a number from 0 to 1000000",
                        o.actor_sleep_polls);
     }},
    {"actor-poll-sleep", "MICROSECONDS", "stealing: the sleep between two sleeping polls", "50",
     [](sv v, options& o) {
       return set_duration("actor-poll-sleep", v, 0, 1'000'000,
                           "a number of microseconds from 0 to 1000000",
                           o.actor_poll_sleep);
     }},
    {"actor-idle-wait", "MILLISECONDS",
     "stealing: how long a waiting worker sleeps before it looks for work to steal", "10",
     [](sv v, options& o) {
       return set_duration("actor-idle-wait", v, 1, 60'000,
                           "a number of milliseconds from 1 to 60000", o.actor_idle_wait);
     }},
    {"gateway-threads", "N",
     "threads for the network I/O of HTTP and WebSocket connections (0 = one per core)", "0",
     [](sv v, options& o) {
       return set_count("gateway-threads", v, 0, 1024, "a number from 0 (one per core) to 1024",
                        o.gateway_threads);
     }},
    {"max-frame-bytes", "N", "largest incoming WebSocket message", "1048576",
     [](sv v, options& o) {
       return set_count("max-frame-bytes", v, 1, std::uint64_t{1} << 31,
                        "a positive number of bytes (at most 2 GiB)", o.max_frame_bytes);
     }},
    {"idle-timeout", "SECONDS", "close WebSockets silent this long", "60",
     [](sv v, options& o) {
       return set_duration("idle-timeout", v, 1, 1'000'000, "a positive number of seconds",
                           o.idle_timeout);
     }},
    {"max-outgoing-bytes", "N", "disconnect a client with more than N bytes queued for it",
     "4194304",
     [](sv v, options& o) {
       return set_count("max-outgoing-bytes", v, 1, std::uint64_t{1} << 40,
                        "a positive number of bytes", o.max_outgoing_bytes);
     }},
    {"journal", "rocksdb|kafka",
     "where the journal lives: rocksdb (embedded in --data-dir) or kafka (a topic; --data-dir "
     "then holds the local index, snapshots and read models)",
     "rocksdb",
     [](sv v, options& o) {
       if (v == "rocksdb")
         o.journal = persistence::journal_kind::rocksdb;
       else if (v == "kafka")
         o.journal = persistence::journal_kind::kafka;
       else
         return bad("journal", v, "rocksdb or kafka");
       return status::success();
     }},
    {"kafka-brokers", "HOST:PORT[,HOST:PORT...]",
     "Kafka bootstrap servers (required with --journal=kafka)", nullptr,
     [](sv v, options& o) { return parse_brokers(v, o); }},
    {"kafka-topic", "NAME", "the journal topic", "hibiki.journal",
     [](sv v, options& o) {
       if (!valid_topic(v))
         return bad("kafka-topic", v, "a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)");
       o.kafka_topic = std::string(v);
       return status::success();
     }},
    {"kafka-partitions", "N", "partitions when hibikid creates the topic", "16",
     [](sv v, options& o) {
       return set_count("kafka-partitions", v, 1, 10'000, "a number of partitions from 1 to 10000",
                        o.kafka_partitions);
     }},
    {"kafka-config", "KEY=VALUE",
     "a librdkafka property for every Kafka client of the node (TLS, SASL...); repeatable. "
     "Properties hibiki sets itself (bootstrap.servers, transactional.id, group.id, "
     "isolation.level...) are refused",
     nullptr, [](sv v, options& o) { return set_kafka_config(v, o); }, true},
    {"kafka-producers", "node|partition",
     "a single node's transactional producers: node (one for every partition; the batches of "
     "all partitions share one transaction) or partition (one per partition, each committing "
     "its own). A clustered node always has one per owned partition",
     "node",
     [](sv v, options& o) {
       if (v != "node" && v != "partition") return bad("kafka-producers", v, "node or partition");
       o.kafka_producer_per_partition = v == "partition";
       return status::success();
     }},
    {"kafka-open-timeout", "SECONDS",
     "how long opening the Kafka journal may take (fencing the partitions and catching the local "
     "index up with the topic) before hibikid gives up",
     "120",
     [](sv v, options& o) {
       return set_duration("kafka-open-timeout", v, 1, 86'400,
                           "a number of seconds from 1 to 86400", o.kafka_open_timeout);
     }},
    {"breaker-max-failures", "N", "journal write failures in a row that open the circuit breaker",
     "10",
     [](sv v, options& o) {
       return set_count("breaker-max-failures", v, 1, 1'000'000,
                        "a positive number of failures (at most 1000000)", o.breaker.max_failures);
     }},
    // 0 is meaningful for both timeouts (circuit_breaker.hpp): no call deadline / retry at once.
    {"breaker-call-timeout", "MS",
     "a journal write not answered within MS counts as failed (0 = no deadline)", "10000",
     [](sv v, options& o) {
       return set_duration("breaker-call-timeout", v, 0, 86'400'000,
                           "a number of milliseconds from 0 to 86400000", o.breaker.call_timeout);
     }},
    {"breaker-reset-timeout", "MS",
     "how long the open breaker fails writes fast before it lets one trial write through", "30000",
     [](sv v, options& o) {
       return set_duration("breaker-reset-timeout", v, 0, 86'400'000,
                           "a number of milliseconds from 0 to 86400000", o.breaker.reset_timeout);
     }},
    {"cluster", "HOST:PORT",
     "join a cluster: publish this node's shards on HOST:PORT for the other nodes (an address "
     "they can reach; needs --journal=kafka; every node uses the same brokers and topic)",
     nullptr, [](sv v, options& o) { return parse_cluster(v, o); }},
    {"node-id", "NAME",
     "this node's name in the cluster, its logs and `hibiki cluster status` (a-z A-Z 0-9 . _ -; "
     "default: the host name)",
     nullptr,
     [](sv v, options& o) {
       if (!valid_node_id(v)) return bad("node-id", v, "a name of 1 to 64 of a-z A-Z 0-9 . _ -");
       o.node_id = std::string(v);
       return status::success();
     }},
    {"cluster-session-timeout", "MS",
     "how long a silent node keeps its shards before Kafka gives them to the others (the broker "
     "allows 6000 to 1800000 unless configured otherwise)",
     "10000",
     [](sv v, options& o) {
       return set_duration("cluster-session-timeout", v, 1000, 3'600'000,
                           "a number of milliseconds from 1000 to 3600000",
                           o.cluster_session_timeout);
     }},
    {"route-wait", "MS",
     "how long a command waits for its shard to get a reachable owner (rebalance, node loss) "
     "before it fails with `unavailable`",
     "15000",
     [](sv v, options& o) {
       return set_duration("route-wait", v, 1, 600'000, "a number of milliseconds from 1 to 600000",
                           o.route_wait);
     }},
    // ---- the cluster port's security ----
    {"cluster-tls-cert", "FILE",
     "this node's certificate (PEM, optionally followed by intermediates) for the cluster port's "
     "mutual TLS",
     nullptr, [](sv v, options& o) { return set_file("cluster-tls-cert", v, o.cluster_tls_cert); }},
    {"cluster-tls-key", "FILE", "its private key (PEM, unencrypted; keep it mode 0600)", nullptr,
     [](sv v, options& o) { return set_file("cluster-tls-key", v, o.cluster_tls_key); }},
    {"cluster-ca", "FILE",
     "the cluster CA certificate(s) (PEM): a peer whose certificate is not signed by it is "
     "refused. The three are required with --cluster",
     nullptr, [](sv v, options& o) { return set_file("cluster-ca", v, o.cluster_ca); }},
    {"cluster-insecure", "true|false",
     "run the cluster port over plain TCP with no authentication (anyone who reaches it can act "
     "as any user): a closed test network only; logged at start and every hour",
     "false",
     [](sv v, options& o) {
       if (v != "true" && v != "false") return bad("cluster-insecure", v, "true or false");
       o.cluster_insecure = v == "true";
       return status::success();
     }},
    // ---- request rates, per-account limits and sync replay ----
    {"connection-rate", "N[/s]", "requests per second one connection may sustain", "100",
     [](sv v, options& o) { return set_rate("connection-rate", v, o.limits.rate_per_second); }},
    {"connection-burst", "N", "requests one connection may send at once", "200",
     [](sv v, options& o) {
       return set_count("connection-burst", v, 1, 10'000'000,
                        "a number of requests from 1 to 10000000", o.limits.rate_burst);
     }},
    {"account-rate", "N[/s]",
     "requests per second all of one account's connections on this node may sustain together",
     "200",
     [](sv v, options& o) {
       return set_rate("account-rate", v, o.limits.account_rate_per_second);
     }},
    {"account-burst", "N", "requests one account's connections may send at once", "400",
     [](sv v, options& o) {
       return set_count("account-burst", v, 1, 10'000'000,
                        "a number of requests from 1 to 10000000", o.limits.account_rate_burst);
     }},
    {"max-connections-per-account", "N",
     "authenticated connections of one account on this node; the next auth gets rate_limited "
     "and close 1008",
     "50",
     [](sv v, options& o) {
       return set_count("max-connections-per-account", v, 1, 1'000'000,
                        "a number of connections from 1 to 1000000",
                        o.limits.max_connections_per_account);
     }},
    {"sync-max-rooms", "N", "rooms one sync may name; more is too_large", "1000",
     [](sv v, options& o) {
       return set_count("sync-max-rooms", v, 1, 1'000'000, "a number of rooms from 1 to 1000000",
                        o.limits.sync_max_rooms);
     }},
    {"sync-max-room-bytes", "N",
     "bytes of events one sync replays per room; a room with more gets one `gap` instead",
     "4194304",
     [](sv v, options& o) {
       return set_count("sync-max-room-bytes", v, 1, std::uint64_t{1} << 32,
                        "a positive number of bytes (at most 4 GiB)", o.limits.sync_max_room_bytes);
     }},
    {"sync-batch-bytes", "N",
     "bytes of events a sync reads and sends at a time, paced by the client's reading; at most "
     "half of --max-outgoing-bytes (default: 262144, or a quarter of --max-outgoing-bytes when "
     "that is smaller)",
     nullptr,
     [](sv v, options& o) {
       return set_count("sync-batch-bytes", v, 1, std::uint64_t{1} << 32,
                        "a positive number of bytes (at most 4 GiB)", o.sync_batch_bytes);
     }},
    // ---- the network edge: TLS, admission control, proxies, origins ----
    {"tls-cert", "FILE",
     "PEM certificate chain: serve HTTPS and WSS on --http (with --tls-key; SIGHUP reloads "
     "both files)",
     nullptr,
     [](sv v, options& o) {
       if (v.empty()) return bad("tls-cert", v, "a PEM file");
       o.edge.tls_cert_file = std::string(v);
       return status::success();
     }},
    {"tls-key", "FILE", "PEM private key of --tls-cert", nullptr,
     [](sv v, options& o) {
       if (v.empty()) return bad("tls-key", v, "a PEM file");
       o.edge.tls_key_file = std::string(v);
       return status::success();
     }},
    {"max-connections", "N", "most open connections; past it HTTP 503 (0 = no cap)", "10000",
     [](sv v, options& o) {
       return set_count("max-connections", v, 0, 10'000'000,
                        "a number of connections from 0 (no cap) to 10000000",
                        o.edge.max_connections);
     }},
    {"max-connections-per-ip", "N",
     "most open connections per client address (IPv6: per /64); past it HTTP 429 (0 = no cap)",
     "100",
     [](sv v, options& o) {
       return set_count("max-connections-per-ip", v, 0, 10'000'000,
                        "a number of connections from 0 (no cap) to 10000000",
                        o.edge.max_connections_per_ip);
     }},
    {"signup-rate", "N/s|N/min|N/h",
     "sign-ups per client address; past it HTTP 429 with Retry-After (0 = no limit)", "10/min",
     [](sv v, options& o) { return set_signup_rate(v, o); }},
    {"api-rate", "N/PERIOD",
     "REST API (/v2) requests per token per period on this node, e.g. 300/5min; past it HTTP 429 "
     "(0 = no limit)",
     "300/5min", [](sv v, options& o) { return set_api_rate(v, o); }},
    {"api-max-body", "BYTES", "largest REST API (/v2) request body; past it HTTP 413", "1048576",
     [](sv v, options& o) {
       return set_count("api-max-body", v, 1024, 64 * 1024 * 1024,
                        "a number of bytes from 1024 to 67108864", o.api_max_body);
     }},
    {"trusted-proxies", "CIDR[,CIDR...]",
     "reverse proxies whose X-Forwarded-For names the client (default: none, the TCP peer is "
     "the client)",
     nullptr,
     [](sv v, options& o) {
       // Checked as address blocks when the gateway starts.
       auto list = split_list(v);
       if (!list)
         return bad("trusted-proxies", v, "CIDR[,CIDR...] such as 127.0.0.1/32,10.0.0.0/8");
       o.edge.trusted_proxies = std::move(*list);
       return status::success();
     }},
    {"allowed-origins", "ORIGIN[,ORIGIN...]",
     "browser origins allowed to open a WebSocket, or * for any (default: http(s)://HOST:PORT of "
     "--http, plus the localhost forms on a loopback or wildcard address)",
     nullptr,
     [](sv v, options& o) {
       auto list = split_list(v);
       if (!list)
         return bad("allowed-origins", v,
                    "ORIGIN[,ORIGIN...] such as https://chat.example.com, or *");
       for (const auto& origin : *list)
         if (origin != "*" && !valid_origin(origin))
           return bad("allowed-origins", v,
                      "origins as scheme://host[:port] (http or https, no path), or *");
       o.edge.allowed_origins = std::move(*list);
       return status::success();
     }},
    {"public-url", "URL",
     "scheme://host[:port] clients reach this node's HTTP listener at: shared files' signed URLs "
     "(the directory store's, on /files/) and the REST API's picture URLs start with it; "
     "default: the listen address (pictures: the request's scheme and Host)",
     nullptr,
     [](sv v, options& o) {
       const bool scheme = v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
       const auto rest = v.substr(v.find("://") == sv::npos ? 0 : v.find("://") + 3);
       const auto slash = rest.find('/');
       if (!scheme || rest.empty() || rest.front() == '/' ||
           (slash != sv::npos && slash + 1 != rest.size()) ||
           rest.find_first_of("?#@ ") != sv::npos) {
         return bad("public-url", v, "http(s)://HOST[:PORT] without a path");
       }
       o.public_url = std::string(v);
       return status::success();
     }},
    {"s3-endpoint", "URL",
     "keep shared files in this S3-compatible store, http(s)://HOST[:PORT] (default: the "
     "directory store under --data-dir); credentials from HIBIKI_S3_ACCESS_KEY and "
     "HIBIKI_S3_SECRET_KEY or --s3-credentials-file",
     nullptr,
     [](sv v, options& o) {
       const bool scheme = v.rfind("http://", 0) == 0 || v.rfind("https://", 0) == 0;
       const auto rest = v.substr(v.find("://") == sv::npos ? 0 : v.find("://") + 3);
       const auto slash = rest.find('/');
       if (!scheme || rest.empty() || rest.front() == '/' ||
           (slash != sv::npos && slash + 1 != rest.size()) ||
           rest.find_first_of("?#@ ") != sv::npos) {
         return bad("s3-endpoint", v, "http(s)://HOST[:PORT] without a path");
       }
       o.s3_endpoint = std::string(v);
       return status::success();
     }},
    {"s3-region", "NAME", "the S3 region signatures are scoped to", "us-east-1",
     [](sv v, options& o) {
       if (v.empty() || v.size() > 64 ||
           v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789-") != sv::npos)
         return bad("s3-region", v, "a region name (a-z 0-9 -)");
       o.s3_region = std::string(v);
       return status::success();
     }},
    {"s3-bucket", "NAME", "the S3 bucket shared files go to", "hibiki",
     [](sv v, options& o) {
       if (v.size() < 3 || v.size() > 63 ||
           v.find_first_not_of("abcdefghijklmnopqrstuvwxyz0123456789.-") != sv::npos ||
           v.front() == '.' || v.front() == '-' || v.back() == '.' || v.back() == '-')
         return bad("s3-bucket", v, "a bucket name (3-63 of a-z 0-9 . -)");
       o.s3_bucket = std::string(v);
       return status::success();
     }},
    {"s3-path-style", "true|false",
     "path-style S3 URLs (endpoint/bucket/key: MinIO, Ceph, SeaweedFS) or virtual-hosted ones "
     "(bucket.endpoint/key: AWS)",
     "true", [](sv v, options& o) { return set_bool("s3-path-style", v, o.s3_path_style); }},
    {"s3-credentials-file", "FILE",
     "the S3 access key and secret (`access_key = ...`, `secret_key = ...`); the file must be the "
     "owner's alone (default: HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY)",
     nullptr,
     [](sv v, options& o) {
       if (v.empty()) return bad("s3-credentials-file", v, "a file holding the S3 credentials");
       o.s3_credentials_file = std::string(v);
       return status::success();
     }},
    {"max-file-size", "BYTES", "the largest file a member may upload (1 to 5 TiB)", "104857600",
     [](sv v, options& o) {
       return set_count("max-file-size", v, 1, 5ull << 40, "a number of bytes from 1 to 5 TiB",
                        o.max_file_size);
     }},
    {"upload-window", "SECONDS",
     "how long a requested upload (and its signed PUT URL) lasts; past it the upload cannot be "
     "completed and its object is removed (10 s to 7 days, the longest a SigV4 URL may last)",
     "900",
     [](sv v, options& o) {
       return set_duration("upload-window", v, 10, room::max_upload_window_seconds,
                           "a number of seconds from 10 to 604800", o.upload_window);
     }},
    {"max-pending-uploads", "N",
     "uploads one account may have requested and not completed in one room; one more is "
     "rate_limited",
     "100",
     [](sv v, options& o) {
       return set_count("max-pending-uploads", v, 1, 100'000, "a number from 1 to 100000",
                        o.max_pending_uploads);
     }},
    {"file-grace", "SECONDS",
     "how long a deleted file's object stays in the store before the sweeper removes it", "86400",
     [](sv v, options& o) {
       return set_duration("file-grace", v, 0, 1'000'000'000, "a number of seconds, 0 or more",
                           o.file_grace);
     }},
    {"file-sweep-interval", "SECONDS",
     "how often the sweeper removes the objects of expired uploads and deleted files", "60",
     [](sv v, options& o) {
       return set_duration("file-sweep-interval", v, 1, 1'000'000, "a positive number of seconds",
                           o.file_sweep_interval);
     }},
    {"search", "on|off",
     "keep the full-text search index in --data-dir/search and answer the search op and GET "
     "/v2/search (off: they answer unavailable)",
     "on",
     [](sv v, options& o) {
       if (v != "on" && v != "off") return bad("search", v, "on or off");
       o.search = v == "on";
       return status::success();
     }},
    {"search-language", "NAME",
     "stemming language of Latin-script words in the search index (english, german, french, ... "
     "or none); changing it needs `hibiki admin rebuild search`",
     "english",
     [](sv v, options& o) {
       if (v.empty() || v.size() > 32 ||
           v.find_first_not_of("abcdefghijklmnopqrstuvwxyz_") != sv::npos)
         return bad("search-language", v, "a stemming language name such as english, or none");
       o.search_language = std::string(v);
       return status::success();
     }},
    // webhooks (docs/operations.md "Webhooks")
    {"webhooks", "true|false",
     "run webhook deliveries from an outbox under --data-dir (false: the webhook ops answer "
     "unavailable)",
     "true", [](sv v, options& o) { return set_bool("webhooks", v, o.webhooks); }},
    {"webhook-allow-private", "true|false",
     "allow webhook URLs whose host is a private, loopback, link-local or other non-public "
     "address (refused by default against server-side request forgery)",
     "false",
     [](sv v, options& o) {
       return set_bool("webhook-allow-private", v, o.webhook_allow_private);
     }},
    {"webhook-workers", "N", "webhook delivery threads", "4",
     [](sv v, options& o) {
       return set_count("webhook-workers", v, 1, 256, "a number from 1 to 256", o.webhook_workers);
     }},
    {"webhook-connect-timeout-ms", "MS", "longest wait for a webhook receiver's connection", "5000",
     [](sv v, options& o) {
       return set_duration("webhook-connect-timeout-ms", v, 1, 600'000,
                           "milliseconds from 1 to 600000", o.webhook_connect_timeout);
     }},
    {"webhook-timeout-ms", "MS", "longest wait for a whole webhook delivery", "10000",
     [](sv v, options& o) {
       return set_duration("webhook-timeout-ms", v, 1, 600'000, "milliseconds from 1 to 600000",
                           o.webhook_timeout);
     }},
    {"webhook-retry-initial-ms", "MS",
     "the first delay before a failed webhook delivery is retried (doubled after each failure)",
     "1000",
     [](sv v, options& o) {
       return set_duration("webhook-retry-initial-ms", v, 1, 3'600'000,
                           "milliseconds from 1 to 3600000", o.webhook_retry_initial);
     }},
    {"webhook-retry-max", "SECONDS", "the longest delay between retries of a webhook delivery",
     "600",
     [](sv v, options& o) {
       return set_duration("webhook-retry-max", v, 1, 86'400, "seconds from 1 to 86400",
                           o.webhook_retry_max);
     }},
    {"webhook-give-up", "SECONDS",
     "a webhook delivery still failing this long after it was made is dropped (recorded)", "86400",
     [](sv v, options& o) {
       return set_duration("webhook-give-up", v, 1, 30 * 86'400, "seconds from 1 to 2592000",
                           o.webhook_give_up);
     }},
    {"webhook-breaker-failures", "N",
     "failed webhook deliveries in a row that open the endpoint's circuit breaker", "5",
     [](sv v, options& o) {
       return set_count("webhook-breaker-failures", v, 1, 1000, "a number from 1 to 1000",
                        o.webhook_breaker_failures);
     }},
    {"webhook-breaker-reset-ms", "MS",
     "how long an open webhook breaker refuses deliveries before one trial", "60000",
     [](sv v, options& o) {
       return set_duration("webhook-breaker-reset-ms", v, 1, 3'600'000,
                           "milliseconds from 1 to 3600000", o.webhook_breaker_reset);
     }},
    {"metrics", "true|false",
     "record metrics and serve them on GET /metrics (false: nothing recorded, /metrics 404)",
     "true", [](sv v, options& o) { return set_bool("metrics", v, o.metrics); }},
    {"admin-token-file", "FILE",
     "the operator endpoints (/api/journal, /api/cluster, /api/admin/) require this file's token "
     "as `Authorization: Bearer TOKEN`; the file must not be readable by group or others",
     nullptr,
     [](sv v, options& o) {
       if (v.empty()) return bad("admin-token-file", v, "a file holding the admin token");
       o.admin_token_file = std::string(v);
       return status::success();
     }},
    {"admin-http", "HOST:PORT",
     "serve the operator endpoints (and /metrics, /readyz) on this separate listener only (with "
     "--admin-token-file too, it also wants the token); with neither option they are off",
     nullptr,
     [](sv v, options& o) {
       return parse_listen("admin-http", v, o.admin_http_host, o.admin_http_port);
     }},
    // The logs (log_files.hpp checks the values; docs/operations.md "Logs").
    {"log-dir", "DIR",
     "write app.log, access.log and audit.log in DIR (created when missing; default: the app log "
     "on stderr, no access or audit log)",
     nullptr, [](sv v, options& o) { return apply_log_option("log-dir", v, o.logs); }},
    {"log-level", "trace|debug|info|warn|error", "the lowest app log level written", "info",
     [](sv v, options& o) { return apply_log_option("log-level", v, o.logs); }},
    {"app-log", "FILE|-",
     "the app log's file, or - for stderr (default: DIR/app.log with --log-dir, else stderr)",
     nullptr, [](sv v, options& o) { return apply_log_option("app-log", v, o.logs); }},
    {"access-log", "FILE|-|off",
     "one JSON line per HTTP request and WebSocket session (default: DIR/access.log with "
     "--log-dir, else off)",
     nullptr, [](sv v, options& o) { return apply_log_option("access-log", v, o.logs); }},
    {"audit-log", "FILE|-|off",
     "one JSON line per sign-up, authentication, membership or role change and admin action "
     "(default: DIR/audit.log with --log-dir, else off)",
     nullptr, [](sv v, options& o) { return apply_log_option("audit-log", v, o.logs); }},
    {"log-max-size", "BYTES",
     "rotate a log file at this size; 0 = never (rotate from outside, then SIGHUP reopens the "
     "files)",
     "104857600", [](sv v, options& o) { return apply_log_option("log-max-size", v, o.logs); }},
    {"log-max-files", "N", "rotated files kept per log", "5",
     [](sv v, options& o) { return apply_log_option("log-max-files", v, o.logs); }},
};

const option_spec* find_option(std::string_view name) {
  for (const auto& spec : table)
    if (name == spec.name) return &spec;
  return nullptr;
}

/// The options that are not in the table: they steer the parsing itself.
bool is_meta_option(std::string_view name) {
  return name == "config" || name == "help" || name == "version";
}

/// HIBIKI_DATA_DIR -> data-dir.
std::string option_name_of_variable(std::string_view variable) {
  std::string name(variable.substr(std::string_view("HIBIKI_").size()));
  for (auto& c : name) {
    if (c == '_')
      c = '-';
    else if (c >= 'A' && c <= 'Z')
      c = static_cast<char>(c - 'A' + 'a');
  }
  return name;
}

/// data-dir -> HIBIKI_DATA_DIR.
std::string variable_of_option(std::string_view name) {
  std::string v = "HIBIKI_";
  for (char c : name) v += c == '-' ? '_' : static_cast<char>(std::toupper(c));
  return v;
}

/// The variables of the `hibiki` client, which shares the prefix: not hibikid's, not a typo.
bool is_client_variable(std::string_view variable) {
  // HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY are hibikid's, but secrets, not options: read
  // by load_s3_credentials only (a flag would put them in `ps`).
  return variable == "HIBIKI_CONFIG" || variable == "HIBIKI_TOKEN" ||
         variable == "HIBIKI_ADMIN_TOKEN" || variable == "HIBIKI_S3_ACCESS_KEY" ||
         variable == "HIBIKI_S3_SECRET_KEY";
}

/// Applies the HIBIKI_* variables. HIBIKI_KAFKA_CONFIG holds one KEY=VALUE per line.
status apply_environment(const environment& env, daemon_options& o) {
  for (const auto& [variable, value] : env) {
    if (variable.rfind("HIBIKI_", 0) != 0 || is_client_variable(variable)) continue;
    const auto name = option_name_of_variable(variable);
    const auto* spec = find_option(name);
    if (!spec || variable != variable_of_option(name)) {
      o.warnings.push_back("ignoring the environment variable " + variable +
                           ": it is not a hibikid option (they are HIBIKI_ and the option's name "
                           "in capitals, e.g. HIBIKI_DATA_DIR)");
      continue;
    }
    std::vector<std::string_view> values;
    if (spec->repeatable) {
      std::string_view rest = value;
      while (!rest.empty()) {
        auto nl = rest.find('\n');
        auto line = trim(rest.substr(0, nl));
        if (!line.empty()) values.push_back(line);
        rest = nl == std::string_view::npos ? std::string_view{} : rest.substr(nl + 1);
      }
    } else {
      values.push_back(value);
    }
    for (auto v : values)
      if (auto st = spec->set(v, o); !st)
        return status(errc::bad_request, variable + ": " + st.error().message);
  }
  return status::success();
}

/// The command line as Boost.Program_options sees it: every table option takes one value
/// (`--key=value` or `--key value`), --help/-h and --version/-V take none, and no abbreviations
/// (unix_style would let --data stand for --data-dir).
namespace po = boost::program_options;

po::options_description command_line_description(bool with_help_text) {
  po::options_description desc("Options", 100, 44);
  for (const auto& spec : table) {
    std::string help = spec.help;
    if (spec.default_value) help += std::string(" (default: ") + spec.default_value + ")";
    desc.add_options()(spec.name, po::value<std::string>()->value_name(spec.value_name),
                       with_help_text ? help.c_str() : "");
  }
  desc.add_options()("config", po::value<std::string>()->value_name("FILE"),
                     "read options from FILE: `key = value` lines, `#` comments")(
      "help,h", "show this text")("version,V", "show the version");
  return desc;
}

constexpr int command_line_style =
    po::command_line_style::unix_style & ~po::command_line_style::allow_guessing;

/// Boost's exceptions as hibikid's messages (the option names come with their dashes).
std::string describe(const po::error& e) {
  if (auto* u = dynamic_cast<const po::unknown_option*>(&e)) {
    auto name = u->get_option_name();  // "--bogus=1" for --bogus=1
    return "unknown option " + name.substr(0, name.find('='));
  }
  if (auto* s = dynamic_cast<const po::invalid_command_line_syntax*>(&e)) {
    switch (s->kind()) {
      case po::invalid_syntax::empty_adjacent_parameter: {
        // --key= : an empty value, which Boost refuses before the option sees it; say what the
        // option expects, as for any other bad value.
        auto name = s->get_option_name();
        daemon_options scratch;
        if (const auto* spec = find_option(name.substr(name.find_first_not_of('-'))))
          if (auto st = spec->set("", scratch); !st) return st.error().message;
        return "option " + name + " needs a value";
      }
      case po::invalid_syntax::missing_parameter:
        return "option " + s->get_option_name() + " needs a value";
      case po::invalid_syntax::extra_parameter:
        return "option " + s->get_option_name() + " takes no value";
      default:
        break;
    }
  }
  return e.what();
}

}  // namespace

const std::vector<option_spec>& daemon_option_table() {
  return table;
}

environment process_environment() {
  environment env;
  for (char** e = environ; e && *e; ++e) {
    std::string_view entry = *e;
    auto eq = entry.find('=');
    if (eq == std::string_view::npos || entry.rfind("HIBIKI_", 0) != 0) continue;
    env.emplace(std::string(entry.substr(0, eq)), std::string(entry.substr(eq + 1)));
  }
  return env;
}

status apply_daemon_option(std::string_view raw_key, std::string_view value, daemon_options& o) {
  const auto key = normalize_key(raw_key);
  const auto* spec = find_option(key);
  if (!spec) return status(errc::bad_request, "unknown option --" + key);
  return spec->set(value, o);
}

status check_daemon_options(const daemon_options& o) {
  if (o.s3_endpoint.empty() && !o.s3_credentials_file.empty()) {
    return status(errc::bad_request, "--s3-credentials-file is set but --s3-endpoint is not");
  }
  if (o.edge.tls_cert_file.empty() != o.edge.tls_key_file.empty()) {
    return status(errc::bad_request, o.edge.tls_cert_file.empty()
                                         ? "--tls-key needs --tls-cert (TLS takes both)"
                                         : "--tls-cert needs --tls-key (TLS takes both)");
  }
  if (o.journal == persistence::journal_kind::kafka && o.kafka_brokers.empty()) {
    return status(errc::bad_request,
                  "--journal=kafka needs --kafka-brokers=HOST:PORT[,HOST:PORT...]");
  }
  if (o.journal != persistence::journal_kind::kafka && !o.kafka_brokers.empty()) {
    // Silently keeping the embedded journal would look like Kafka to whoever set the brokers.
    return status(errc::bad_request,
                  "--kafka-brokers is set but the journal is rocksdb: add --journal=kafka");
  }
  if (o.journal != persistence::journal_kind::kafka && !o.kafka_config.empty()) {
    return status(errc::bad_request,
                  "--kafka-config is set but the journal is rocksdb: add --journal=kafka");
  }
  if (o.actor_scheduler == actors::scheduler_policy::sharing) {
    // The polling settings belong to the work-stealing workers; a sharing worker never polls, so
    // accepting them would pretend they did something.
    const daemon_options d;
    const char* set = o.actor_spin_polls != d.actor_spin_polls     ? "--actor-spin-polls"
                      : o.actor_sleep_polls != d.actor_sleep_polls ? "--actor-sleep-polls"
                      : o.actor_poll_sleep != d.actor_poll_sleep   ? "--actor-poll-sleep"
                      : o.actor_idle_wait != d.actor_idle_wait     ? "--actor-idle-wait"
                                                                   : nullptr;
    if (set) {
      return status(errc::bad_request, std::string(set) +
                                           " is set but --actor-scheduler=sharing does not "
                                           "poll: it applies to --actor-scheduler=stealing");
    }
  }
  if (o.sync_batch_bytes != 0 && o.sync_batch_bytes > o.max_outgoing_bytes / 2) {
    // A paced sync sends a batch when at most a batch is unsent: two must fit under the cap, or
    // a client that reads would be dropped.
    return status(errc::bad_request,
                  "--sync-batch-bytes must be at most half of --max-outgoing-bytes (" +
                      std::to_string(o.max_outgoing_bytes) + ")");
  }
  if (!o.cluster_listen.empty() && o.journal != persistence::journal_kind::kafka) {
    // Shard ownership and fencing come from Kafka: there is no cluster on the embedded journal.
    return status(errc::bad_request,
                  "--cluster needs --journal=kafka (and --kafka-brokers): shard ownership comes "
                  "from Kafka's consumer group");
  }
  // The cluster port's security: certificates or --cluster-insecure (files are read at start).
  if (auto st = actors::check_cluster_security_options(to_node_options(o)); !st) return st;
  return status::success();
}

std::string cluster_description(const daemon_options& o) {
  if (o.cluster_listen.empty()) return {};
  return "node " + (o.node_id.empty() ? std::string("(host name)") : o.node_id) +
         ", cluster endpoint " + o.cluster_listen +
         (o.cluster_insecure ? " INSECURE: plain TCP, no authentication" : " over mutual TLS");
}

std::string journal_description(const daemon_options& o) {
  return persistence::describe_journal(to_storage_options(o));
}

status apply_config_text(std::string_view text, daemon_options& o) {
  // Split by hibiki, not by po::parse_config_file: Boost drops everything after a '#' anywhere
  // in a line (a password or a SASL setting with '#' would be cut silently) and its errors do
  // not say which line. Keys are the table's, so the file knows every option the flags know.
  std::size_t line_no = 0;
  while (!text.empty()) {
    auto nl = text.find('\n');
    auto line = text.substr(0, nl);
    text = nl == std::string_view::npos ? std::string_view{} : text.substr(nl + 1);
    ++line_no;
    line = trim(line);
    if (line.empty() || line.front() == '#') continue;
    auto eq = line.find('=');
    const auto where = "config line " + std::to_string(line_no) + ": ";
    if (eq == std::string_view::npos)
      return status(errc::bad_request, where + "expected 'key = value'");
    auto key = trim(line.substr(0, eq));
    auto value = trim(line.substr(eq + 1));
    if (is_meta_option(normalize_key(key)))
      return status(errc::bad_request, where + "'" + std::string(key) + "' is not allowed here");
    if (auto st = apply_daemon_option(key, value, o); !st)
      return status(errc::bad_request, where + st.error().message);
  }
  return status::success();
}

result<daemon_options> parse_daemon_options(const std::vector<std::string>& args,
                                            const environment& env) {
  daemon_options o;
  // 1. The command line, tokenized by Boost. Values are kept as text, in order, and applied
  //    last (so they win over the environment and the file); the last of a repeated flag wins.
  po::options_description desc = command_line_description(false);
  po::options_description hidden;
  hidden.add_options()("unexpected-argument", po::value<std::vector<std::string>>());
  po::options_description all;
  all.add(desc).add(hidden);
  po::positional_options_description positional;
  positional.add("unexpected-argument", -1);
  po::parsed_options parsed(&all);
  try {
    parsed = po::command_line_parser(args)
                 .options(all)
                 .positional(positional)
                 .style(command_line_style)
                 .run();
  } catch (const po::error& e) {
    return result<daemon_options>(errc::bad_request, describe(e));
  }
  std::vector<std::pair<std::string, std::string>> flags;
  for (const auto& opt : parsed.options) {
    if (opt.string_key == "unexpected-argument") {
      return result<daemon_options>(errc::bad_request,
                                    "unexpected argument '" + opt.value.front() + "'");
    }
    if (opt.string_key == "help") {
      o.help = true;
    } else if (opt.string_key == "version") {
      o.version = true;
    } else if (opt.string_key == "config") {
      o.config_file = opt.value.front();
    } else {
      const std::string value = opt.value.empty() ? std::string() : opt.value.front();
      // `--key --other`: Boost takes the next token as the value whatever it is; an option there
      // means the value was forgotten (a value starting with '-' can be given as --key=-x).
      if (opt.original_tokens.size() == 2 && value.size() > 1 && value.front() == '-') {
        return result<daemon_options>(errc::bad_request,
                                      "option --" + opt.string_key + " needs a value");
      }
      flags.emplace_back(opt.string_key, value);
    }
  }
  if (o.help || o.version) return o;

  // 2. The file, then the environment, then the flags: each overrides what came before.
  if (!o.config_file.empty()) {
    std::ifstream in(o.config_file, std::ios::binary);
    if (!in) {
      return result<daemon_options>(errc::bad_request,
                                    "cannot read config file '" + o.config_file + "'");
    }
    std::stringstream text;
    text << in.rdbuf();
    if (auto st = apply_config_text(text.str(), o); !st)
      return result<daemon_options>(errc::bad_request, o.config_file + ": " + st.error().message);
  }
  if (auto st = apply_environment(env, o); !st) return st.error();
  for (const auto& [key, value] : flags)
    if (auto st = apply_daemon_option(key, value, o); !st) return st.error();
  if (auto st = check_daemon_options(o); !st) return st.error();
  return o;
}

std::string node_name(const daemon_options& o) {
  if (!o.node_id.empty()) return o.node_id;
  char host[256] = {};
  if (::gethostname(host, sizeof host - 1) != 0 || host[0] == '\0') return "node";
  return host;
}

persistence::storage_options to_storage_options(const daemon_options& o) {
  persistence::storage_options s;
  s.data_dir = o.data_dir;
  s.journal = o.journal;
  s.kafka_brokers = o.kafka_brokers;
  s.kafka_topic = o.kafka_topic;
  s.kafka_partitions = o.kafka_partitions;
  s.kafka_config = o.kafka_config;
  s.kafka_open_timeout =
      std::chrono::duration_cast<std::chrono::milliseconds>(o.kafka_open_timeout);
  s.kafka_producer_per_partition = o.kafka_producer_per_partition;
  s.node_name = node_name(o);
  s.cluster_endpoint = o.cluster_listen;
  s.cluster_session_timeout = o.cluster_session_timeout;
  return s;
}

actors::node_options to_node_options(const daemon_options& o) {
  actors::node_options n;
  static_cast<actors::request_limits&>(n) = o.limits;
  n.snapshot_every = o.snapshot_every;
  n.actor_threads = o.actor_threads;
  n.scheduler.policy = o.actor_scheduler;
  n.scheduler.max_throughput = o.actor_max_throughput;
  n.scheduler.spin_polls = o.actor_spin_polls;
  n.scheduler.sleep_polls = o.actor_sleep_polls;
  n.scheduler.poll_sleep = o.actor_poll_sleep;
  n.scheduler.idle_wait = o.actor_idle_wait;
  n.max_file_size = o.max_file_size;
  n.file_grace = o.file_grace;
  n.upload_window = o.upload_window;
  n.max_pending_uploads = o.max_pending_uploads;
  n.file_sweep_interval = o.file_sweep_interval;
  n.passivate_after = std::chrono::duration_cast<std::chrono::milliseconds>(o.passivate_after);
  n.max_live_entities = o.max_live_entities;
  n.breaker = o.breaker;
  n.node_id = node_name(o);
  n.cluster_listen = o.cluster_listen;
  n.route_wait = o.route_wait;
  n.cluster_tls_cert = o.cluster_tls_cert;
  n.cluster_tls_key = o.cluster_tls_key;
  n.cluster_ca = o.cluster_ca;
  n.cluster_insecure = o.cluster_insecure;
  if (o.webhooks) {
    n.webhooks.path = (std::filesystem::path(o.data_dir) / "webhooks").string();
    n.webhooks.allow_private = o.webhook_allow_private;
    n.webhooks.workers = o.webhook_workers;
    n.webhooks.connect_timeout = o.webhook_connect_timeout;
    n.webhooks.request_timeout = o.webhook_timeout;
    n.webhooks.backoff_initial = o.webhook_retry_initial;
    n.webhooks.backoff_max = o.webhook_retry_max;
    n.webhooks.give_up_after = o.webhook_give_up;
    n.webhooks.breaker.max_failures = o.webhook_breaker_failures;
    n.webhooks.breaker.reset_timeout = o.webhook_breaker_reset;
  }
  n.sync_batch_bytes = o.sync_batch_bytes != 0
                           ? o.sync_batch_bytes
                           : std::min<std::size_t>(n.sync_batch_bytes, o.max_outgoing_bytes / 4);
  return n;
}

gateway::gateway_options to_gateway_options(const daemon_options& o) {
  gateway::gateway_options g;
  static_cast<gateway::edge_options&>(g) = o.edge;
  g.host = o.http_host;
  g.port = o.http_port;
  g.open_signup = o.open_signup;
  g.web_root = o.web_root;
  g.public_url = o.public_url;
  g.threads = o.gateway_threads != 0
                  ? o.gateway_threads
                  : std::max<std::size_t>(1, std::thread::hardware_concurrency());
  g.max_frame_bytes = o.max_frame_bytes;
  g.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.idle_timeout);
  g.max_outgoing_bytes = o.max_outgoing_bytes;
  g.api_rate = o.api_rate;
  g.api_rate_period = o.api_rate_period;
  g.api_max_body_bytes = o.api_max_body;
  g.api_max_upload_bytes = std::min<std::uint64_t>(g.api_max_upload_bytes, o.max_file_size);
  g.upload_spool_dir = o.data_dir;
  // The admin token itself is read from --admin-token-file by hibikid (load_admin_token).
  g.admin_host = o.admin_http_host;
  g.admin_port = o.admin_http_port;
  return g;
}

persistence::object_store_options to_object_store_options(const daemon_options& o) {
  persistence::object_store_options s;
  s.directory = (std::filesystem::path(o.data_dir) / "files").string();
  s.public_url = o.public_url;
  s.s3.endpoint = o.s3_endpoint;
  s.s3.region = o.s3_region;
  s.s3.bucket = o.s3_bucket;
  s.s3.path_style = o.s3_path_style;
  // The credentials are loaded by hibikid (load_s3_credentials), never carried in the options.
  return s;
}

persistence::search_options to_search_options(const daemon_options& o) {
  persistence::search_options s;
  s.language = o.search_language;
  return s;
}

std::string search_directory(const daemon_options& o) {
  return (std::filesystem::path(o.data_dir) / "search").string();
}

std::string daemon_usage() {
  std::ostringstream out;
  out << "usage: hibikid [OPTIONS]\n\n"
         "Runs a hibiki node: the chat backend with its WebSocket/HTTP gateway.\n\n"
         "Every option is a flag (--key=value or --key value), a line `key = value` of the\n"
         "--config file, and an environment variable HIBIKI_KEY (e.g. HIBIKI_DATA_DIR).\n"
         "Precedence: flag > environment > config file > default.\n\n"
      << command_line_description(true);
  return out.str();
}

}  // namespace hibiki::cli
