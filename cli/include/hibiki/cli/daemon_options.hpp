#pragma once
/// hibikid's options: parsed from the command line and an optional `key = value` config file
/// (flags win over the file), then mapped onto the node's and the gateway's option structs.
/// Pure parsing, no I/O besides reading the config file, so it is unit-tested.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hibiki/actors/node.hpp"
#include "hibiki/cli/log_files.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/gateway/gateway_options.hpp"

namespace hibiki::cli {

struct daemon_options {
  /// --http=HOST:PORT. Default: 127.0.0.1:8080
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  /// --data-dir. Default: ./data
  std::string data_dir = "./data";
  /// --open-signup=true|false. Default: unset (on for a loopback address, off otherwise)
  std::optional<bool> open_signup;
  /// --snapshot-every=N. Default: 1000
  std::uint32_t snapshot_every = 1000;
  /// --passivate-after=SECONDS. Default: 120
  std::chrono::seconds passivate_after{120};
  /// --max-live-entities=N. Default: 100000
  std::size_t max_live_entities = 100'000;
  /// --max-frame-bytes=N. Default: 1 MiB
  std::size_t max_frame_bytes = 1024 * 1024;
  /// --idle-timeout=SECONDS. Default: 60
  std::chrono::seconds idle_timeout{60};
  /// --max-outgoing-bytes=N. Default: 4 MiB
  std::size_t max_outgoing_bytes = 4 * 1024 * 1024;
  /// --web-root=DIR. Default: empty (the compiled-in web root)
  std::string web_root;
  /// --journal=rocksdb|kafka. Default: rocksdb
  actors::journal_kind journal = actors::journal_kind::rocksdb;
  /// --kafka-brokers=HOST:PORT[,HOST:PORT...]. Required with --journal=kafka, refused without it.
  std::string kafka_brokers;
  /// --kafka-topic=NAME. Default: hibiki.journal
  std::string kafka_topic = "hibiki.journal";
  /// --kafka-partitions=N (1..10000), used when the node creates the topic. Default: 16
  std::int32_t kafka_partitions = 16;
  /// --breaker-max-failures=N, --breaker-call-timeout=MS, --breaker-reset-timeout=MS.
  /// Default: 10 failures, 10000 ms, 30000 ms
  breaker_options breaker;
  /// --cluster=HOST:PORT: join a cluster, publishing this node's shard regions there for the
  /// other nodes (the address they connect to, so not 0.0.0.0). Requires --journal=kafka.
  /// Default: empty = not clustered
  std::string cluster_listen;
  /// --node-id=NAME (1 to 64 of a-z A-Z 0-9 . _ -). Default: empty = the host name
  std::string node_id;
  /// --cluster-session-timeout=MS (1000..3600000; the broker also bounds it, by default to
  /// 6000..1800000). Default: 10000
  std::chrono::milliseconds cluster_session_timeout{10'000};
  /// --route-wait=MS (1..600000). Default: 15000
  std::chrono::milliseconds route_wait{15'000};
  /// --log-dir, --log-level, --app-log, --access-log, --audit-log, --log-max-size,
  /// --log-max-files (log_files.hpp). Default: the app log on stderr at info, no access or audit
  /// log
  log_options logs;
  /// --config=FILE. Default: none
  std::string config_file;
  bool help = false;
  bool version = false;
};

/// Parses hibikid's arguments (without the program name), reading the --config file if given.
/// Errors: bad_request with a message naming the option (unknown, malformed, out of range), or
/// the config file's line, or options that do not fit together (--journal=kafka without
/// --kafka-brokers, --kafka-brokers without --journal=kafka, --cluster without --journal=kafka).
result<daemon_options> parse_daemon_options(const std::vector<std::string>& args);

/// Applies one option by name (the flag without its dashes, e.g. "data-dir"; '_' works as '-').
status apply_daemon_option(std::string_view key, std::string_view value, daemon_options& options);

/// Checks the options that depend on each other, once every flag and config line is applied.
status check_daemon_options(const daemon_options& options);

/// What the startup line says about the journal: "rocksdb" or "kafka topic T at BROKERS".
std::string journal_description(const daemon_options& options);

/// What the startup line says about the cluster: empty when not clustered, else
/// "node N, cluster endpoint HOST:PORT" (N is "(host name)" when --node-id is not given).
std::string cluster_description(const daemon_options& options);

/// Applies the lines of a config file: `key = value`, blank lines and `#` comments.
status apply_config_text(std::string_view text, daemon_options& options);

actors::node_options to_node_options(const daemon_options& options);
gateway::gateway_options to_gateway_options(const daemon_options& options);

/// The --help text.
std::string daemon_usage();

}  // namespace hibiki::cli
