#include "hibiki/cli/daemon_options.hpp"

#include <charconv>
#include <fstream>
#include <limits>
#include <sstream>

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
status parse_http(std::string_view value, daemon_options& o) {
  std::string_view host, port;
  if (!value.empty() && value.front() == '[') {
    auto close = value.find(']');
    if (close == std::string_view::npos || close + 1 >= value.size() || value[close + 1] != ':')
      return bad("http", value, "HOST:PORT");
    host = value.substr(1, close - 1);
    port = value.substr(close + 2);
  } else {
    auto colon = value.rfind(':');
    if (colon == std::string_view::npos) return bad("http", value, "HOST:PORT");
    host = value.substr(0, colon);
    port = value.substr(colon + 1);
  }
  auto p = parse_unsigned(port, 65535);
  if (host.empty() || !p) return bad("http", value, "HOST:PORT with a port from 0 to 65535");
  o.http_host = std::string(host);
  o.http_port = static_cast<std::uint16_t>(*p);
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

bool known_key(std::string_view key) {
  for (std::string_view k : {"http",
                             "data-dir",
                             "web-root",
                             "open-signup",
                             "snapshot-every",
                             "passivate-after",
                             "max-live-entities",
                             "max-frame-bytes",
                             "idle-timeout",
                             "max-outgoing-bytes",
                             "config",
                             "journal",
                             "kafka-brokers",
                             "kafka-topic",
                             "kafka-partitions",
                             "breaker-max-failures",
                             "breaker-call-timeout",
                             "breaker-reset-timeout",
                             "cluster",
                             "node-id",
                             "cluster-session-timeout",
                             "route-wait"})
    if (key == k) return true;
  return is_log_option(key);
}

}  // namespace

status apply_daemon_option(std::string_view raw_key, std::string_view value, daemon_options& o) {
  const auto key = normalize_key(raw_key);
  auto positive = [&](std::uint64_t max) -> std::optional<std::uint64_t> {
    auto n = parse_unsigned(value, max);
    if (!n || *n == 0) return std::nullopt;
    return n;
  };

  if (key == "http") return parse_http(value, o);
  if (is_log_option(key)) return apply_log_option(key, value, o.logs);
  if (key == "data-dir") {
    if (value.empty()) return bad(key, value, "a directory");
    o.data_dir = std::string(value);
    return status::success();
  }
  if (key == "web-root") {
    if (value.empty()) return bad(key, value, "a directory");
    o.web_root = std::string(value);
    return status::success();
  }
  if (key == "open-signup") {
    if (value == "true")
      o.open_signup = true;
    else if (value == "false")
      o.open_signup = false;
    else
      return bad(key, value, "true or false");
    return status::success();
  }
  if (key == "snapshot-every") {
    auto n = positive(std::numeric_limits<std::uint32_t>::max());
    if (!n) return bad(key, value, "a positive integer");
    o.snapshot_every = static_cast<std::uint32_t>(*n);
    return status::success();
  }
  if (key == "passivate-after") {
    auto n = positive(1'000'000'000);
    if (!n) return bad(key, value, "a positive number of seconds");
    o.passivate_after = std::chrono::seconds(*n);
    return status::success();
  }
  if (key == "max-live-entities") {
    auto n = positive(std::numeric_limits<std::uint32_t>::max());
    if (!n) return bad(key, value, "a positive integer");
    o.max_live_entities = *n;
    return status::success();
  }
  if (key == "max-frame-bytes") {
    auto n = positive(std::uint64_t{1} << 31);
    if (!n) return bad(key, value, "a positive number of bytes (at most 2 GiB)");
    o.max_frame_bytes = *n;
    return status::success();
  }
  if (key == "idle-timeout") {
    auto n = positive(1'000'000);
    if (!n) return bad(key, value, "a positive number of seconds");
    o.idle_timeout = std::chrono::seconds(*n);
    return status::success();
  }
  if (key == "max-outgoing-bytes") {
    auto n = positive(std::uint64_t{1} << 40);
    if (!n) return bad(key, value, "a positive number of bytes");
    o.max_outgoing_bytes = *n;
    return status::success();
  }
  if (key == "journal") {
    if (value == "rocksdb")
      o.journal = actors::journal_kind::rocksdb;
    else if (value == "kafka")
      o.journal = actors::journal_kind::kafka;
    else
      return bad(key, value, "rocksdb or kafka");
    return status::success();
  }
  if (key == "kafka-brokers") return parse_brokers(value, o);
  if (key == "kafka-topic") {
    if (!valid_topic(value))
      return bad(key, value, "a Kafka topic name (1 to 249 of a-z A-Z 0-9 . _ -)");
    o.kafka_topic = std::string(value);
    return status::success();
  }
  if (key == "kafka-partitions") {
    auto n = positive(10'000);
    if (!n) return bad(key, value, "a number of partitions from 1 to 10000");
    o.kafka_partitions = static_cast<std::int32_t>(*n);
    return status::success();
  }
  if (key == "breaker-max-failures") {
    auto n = positive(1'000'000);
    if (!n) return bad(key, value, "a positive number of failures (at most 1000000)");
    o.breaker.max_failures = static_cast<std::uint32_t>(*n);
    return status::success();
  }
  if (key == "breaker-call-timeout" || key == "breaker-reset-timeout") {
    // 0 is meaningful for both (circuit_breaker.hpp): no call deadline / retry at once.
    auto n = parse_unsigned(value, 86'400'000);
    if (!n) return bad(key, value, "a number of milliseconds from 0 to 86400000");
    (key == "breaker-call-timeout" ? o.breaker.call_timeout : o.breaker.reset_timeout) =
        std::chrono::milliseconds(*n);
    return status::success();
  }
  if (key == "cluster") return parse_cluster(value, o);
  if (key == "node-id") {
    if (!valid_node_id(value)) return bad(key, value, "a name of 1 to 64 of a-z A-Z 0-9 . _ -");
    o.node_id = std::string(value);
    return status::success();
  }
  if (key == "cluster-session-timeout") {
    auto n = parse_unsigned(value, 3'600'000);
    if (!n || *n < 1000) return bad(key, value, "a number of milliseconds from 1000 to 3600000");
    o.cluster_session_timeout = std::chrono::milliseconds(*n);
    return status::success();
  }
  if (key == "route-wait") {
    auto n = positive(600'000);
    if (!n) return bad(key, value, "a number of milliseconds from 1 to 600000");
    o.route_wait = std::chrono::milliseconds(*n);
    return status::success();
  }
  return status(errc::bad_request, "unknown option --" + key);
}

status check_daemon_options(const daemon_options& o) {
  if (o.journal == actors::journal_kind::kafka && o.kafka_brokers.empty()) {
    return status(errc::bad_request,
                  "--journal=kafka needs --kafka-brokers=HOST:PORT[,HOST:PORT...]");
  }
  if (o.journal != actors::journal_kind::kafka && !o.kafka_brokers.empty()) {
    // Silently keeping the embedded journal would look like Kafka to whoever set the brokers.
    return status(errc::bad_request,
                  "--kafka-brokers is set but the journal is rocksdb: add --journal=kafka");
  }
  if (!o.cluster_listen.empty() && o.journal != actors::journal_kind::kafka) {
    // Shard ownership and fencing come from Kafka: there is no cluster on the embedded journal.
    return status(errc::bad_request,
                  "--cluster needs --journal=kafka (and --kafka-brokers): shard ownership comes "
                  "from Kafka's consumer group");
  }
  return status::success();
}

std::string cluster_description(const daemon_options& o) {
  if (o.cluster_listen.empty()) return {};
  return "node " + (o.node_id.empty() ? std::string("(host name)") : o.node_id) +
         ", cluster endpoint " + o.cluster_listen;
}

std::string journal_description(const daemon_options& o) {
  if (o.journal == actors::journal_kind::kafka)
    return "kafka topic " + o.kafka_topic + " at " + o.kafka_brokers;
  return "rocksdb";
}

status apply_config_text(std::string_view text, daemon_options& o) {
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
    if (key == "config" || key == "help" || key == "version")
      return status(errc::bad_request, where + "'" + std::string(key) + "' is not allowed here");
    if (auto st = apply_daemon_option(key, value, o); !st)
      return status(errc::bad_request, where + st.error().message);
  }
  return status::success();
}

result<daemon_options> parse_daemon_options(const std::vector<std::string>& args) {
  // First pass: split into (key, value) pairs and find --config, so the file applies first and
  // the flags override it whatever their order.
  std::vector<std::pair<std::string, std::string>> flags;
  daemon_options o;
  for (std::size_t i = 0; i < args.size(); ++i) {
    std::string_view a = args[i];
    if (a == "--help" || a == "-h") {
      o.help = true;
      continue;
    }
    if (a == "--version" || a == "-V") {
      o.version = true;
      continue;
    }
    if (a.substr(0, 2) != "--" || a.size() == 2)
      return result<daemon_options>(errc::bad_request, "unexpected argument '" + args[i] + "'");
    a.remove_prefix(2);
    auto eq = a.find('=');
    std::string key(a.substr(0, eq));
    if (!known_key(normalize_key(key)))
      return result<daemon_options>(errc::bad_request, "unknown option --" + key);
    std::string value;
    if (eq != std::string_view::npos) {
      value = std::string(a.substr(eq + 1));
    } else if (i + 1 < args.size() && args[i + 1].rfind("--", 0) != 0) {
      value = args[++i];  // --key value
    } else {
      return result<daemon_options>(errc::bad_request, "option --" + key + " needs a value");
    }
    if (normalize_key(key) == "config") {
      o.config_file = value;
      continue;
    }
    flags.emplace_back(std::move(key), std::move(value));
  }

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
  for (const auto& [key, value] : flags)
    if (auto st = apply_daemon_option(key, value, o); !st) return st.error();
  if (auto st = check_daemon_options(o); !st) return st.error();
  return o;
}

actors::node_options to_node_options(const daemon_options& o) {
  actors::node_options n;
  n.data_dir = o.data_dir;
  n.snapshot_every = o.snapshot_every;
  n.passivate_after = std::chrono::duration_cast<std::chrono::milliseconds>(o.passivate_after);
  n.max_live_entities = o.max_live_entities;
  n.journal = o.journal;
  n.kafka_brokers = o.kafka_brokers;
  n.kafka_topic = o.kafka_topic;
  n.kafka_partitions = o.kafka_partitions;
  n.breaker = o.breaker;
  n.node_id = o.node_id;
  n.cluster_listen = o.cluster_listen;
  n.cluster_session_timeout = o.cluster_session_timeout;
  n.route_wait = o.route_wait;
  return n;
}

gateway::gateway_options to_gateway_options(const daemon_options& o) {
  gateway::gateway_options g;
  g.host = o.http_host;
  g.port = o.http_port;
  g.open_signup = o.open_signup;
  g.web_root = o.web_root;
  g.max_frame_bytes = o.max_frame_bytes;
  g.idle_timeout = std::chrono::duration_cast<std::chrono::milliseconds>(o.idle_timeout);
  g.max_outgoing_bytes = o.max_outgoing_bytes;
  return g;
}

std::string daemon_usage() {
  return R"(usage: hibikid [OPTIONS]

Runs a hibiki node: the chat backend with its WebSocket/HTTP gateway.

Options (also accepted as `key = value` lines in the --config file; flags win):
  --http=HOST:PORT            listen address (default 127.0.0.1:8080; port 0 picks a free port)
  --data-dir=DIR              RocksDB data directory (default ./data)
  --open-signup=true|false    open sign-up over POST /api/signup
                              (default: true on a loopback address, false otherwise)
  --snapshot-every=N          snapshot an entity every N events (default 1000)
  --passivate-after=SECONDS   passivate entities idle this long (default 120)
  --max-live-entities=N       most live entities per region (default 100000)
  --max-frame-bytes=N         largest incoming WebSocket message (default 1048576)
  --idle-timeout=SECONDS      close WebSockets silent this long (default 60)
  --max-outgoing-bytes=N      disconnect a client with more queued than this (default 4194304)
  --web-root=DIR              directory of the web client's files
  --journal=rocksdb|kafka     where the journal lives (default rocksdb, embedded in --data-dir;
                              with kafka, --data-dir holds the local index, snapshots and read
                              models)
  --kafka-brokers=HOST:PORT[,HOST:PORT...]
                              Kafka bootstrap servers (required with --journal=kafka)
  --kafka-topic=NAME          the journal topic (default hibiki.journal)
  --kafka-partitions=N        partitions when hibikid creates the topic (default 16)
  --breaker-max-failures=N    journal write failures in a row that open the circuit breaker
                              (default 10)
  --breaker-call-timeout=MS   a journal write not answered within MS counts as failed
                              (default 10000; 0 = no deadline)
  --breaker-reset-timeout=MS  how long the open breaker fails writes fast before it lets one
                              trial write through (default 30000)
  --cluster=HOST:PORT         join a cluster: publish this node's shards on HOST:PORT for the
                              other nodes (an address they can reach; needs --journal=kafka;
                              every node uses the same brokers and topic)
  --node-id=NAME              this node's name in the cluster, its logs and `hibiki cluster
                              status` (a-z A-Z 0-9 . _ -; default the host name)
  --cluster-session-timeout=MS
                              how long a silent node keeps its shards before Kafka gives them
                              to the others (default 10000; the broker allows 6000 to 1800000
                              unless configured otherwise)
  --route-wait=MS             how long a command waits for its shard to get a reachable owner
                              (rebalance, node loss) before it fails with `unavailable`
                              (default 15000)
  --log-dir=DIR               write app.log, access.log and audit.log in DIR (created when
                              missing; default: the app log on stderr, no access or audit log)
  --log-level=LEVEL           lowest app log level: trace, debug, info, warn or error
                              (default info)
  --app-log=FILE|-            the app log's file, or - for stderr (default DIR/app.log with
                              --log-dir, else stderr)
  --access-log=FILE|-|off     one JSON line per HTTP request and WebSocket session (default
                              DIR/access.log with --log-dir, else off)
  --audit-log=FILE|-|off      one JSON line per sign-up, authentication, membership or role
                              change and admin action (default DIR/audit.log with --log-dir,
                              else off)
  --log-max-size=BYTES        rotate a log file at this size, 0 = never (default 104857600)
  --log-max-files=N           rotated files kept per log (default 5)
                              SIGHUP reopens every log file by name (after an outside rotation)
  --config=FILE               read options from FILE
  --help                      show this text
  --version                   show the version
)";
}

}  // namespace hibiki::cli
