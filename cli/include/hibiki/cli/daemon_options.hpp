#pragma once
/// hibikid's options, from three sources: command-line flags, `HIBIKI_*` environment variables
/// and an optional `key = value` config file (--config). Precedence: flag > environment > file >
/// default. Every option is spelled once, in daemon_option_table(): its name, value, help text,
/// default and setter; the command line (Boost.Program_options), the file, the environment and
/// the --help text all come from that table. Then the options are mapped onto the node's and the
/// gateway's option structs. Pure parsing (the environment is passed in), no I/O besides reading
/// the config file, so it is unit-tested.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "hibiki/actors/node.hpp"
#include "hibiki/cli/log_files.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/gateway/gateway_options.hpp"
#include "hibiki/persistence/object_storage.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "hibiki/persistence/storage.hpp"

namespace hibiki::cli {

struct daemon_options {
  /// --http=HOST:PORT. Default: 127.0.0.1:8080
  std::string http_host = "127.0.0.1";
  std::uint16_t http_port = 8080;
  /// --data-dir. Default: ./data
  std::string data_dir = "./data";
  /// --open-signup=true|false. Default: false
  bool open_signup = false;
  /// --snapshot-every=N. Default: 1000
  std::uint32_t snapshot_every = 1000;
  /// --passivate-after=SECONDS. Default: 120
  std::chrono::seconds passivate_after{120};
  /// --max-live-entities=N. Default: 100000
  std::size_t max_live_entities = 100'000;
  /// --actor-threads=N: CAF's worker threads (the actors: entities, sessions, the hub).
  /// Default: 0 = one per core
  std::size_t actor_threads = 0;
  /// --actor-scheduler=stealing|sharing (actors/scheduler_options.hpp). CAF's: on a quiet machine
  /// sharing gave a longer send->ack tail at half the maximum (decision 0043). Default: stealing
  actors::scheduler_policy actor_scheduler = actors::scheduler_policy::stealing;
  /// --actor-max-throughput=N: messages an actor handles before it yields. Default: 0 = no limit
  std::size_t actor_max_throughput = 0;
  /// --actor-spin-polls=N (work stealing only). Default: 100
  std::size_t actor_spin_polls = 100;
  /// --actor-sleep-polls=N (work stealing only). Default: 500
  std::size_t actor_sleep_polls = 500;
  /// --actor-poll-sleep=MICROSECONDS (work stealing only). Default: 50
  std::chrono::microseconds actor_poll_sleep{50};
  /// --actor-idle-wait=MILLISECONDS (work stealing only). Default: 10
  std::chrono::milliseconds actor_idle_wait{10};
  /// --gateway-threads=N: threads running the gateway's network I/O (every connection's reads,
  /// writes and pushes). Default: 0 = one per core (std::thread::hardware_concurrency)
  std::size_t gateway_threads = 0;
  /// --max-frame-bytes=N. Default: 1 MiB
  std::size_t max_frame_bytes = 1024 * 1024;
  /// --idle-timeout=SECONDS. Default: 60
  std::chrono::seconds idle_timeout{60};
  /// --max-outgoing-bytes=N. Default: 4 MiB
  std::size_t max_outgoing_bytes = 4 * 1024 * 1024;
  /// --web-root=DIR. Default: empty (the compiled-in web root)
  std::string web_root;
  /// --journal=rocksdb|kafka. Default: rocksdb
  persistence::journal_kind journal = persistence::journal_kind::rocksdb;
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
  /// --cluster-tls-cert=FILE, --cluster-tls-key=FILE, --cluster-ca=FILE: the cluster port's
  /// mutual TLS (PEM). Required with --cluster unless --cluster-insecure. Default: empty
  std::string cluster_tls_cert;
  std::string cluster_tls_key;
  std::string cluster_ca;
  /// --cluster-insecure=true|false (a bare --cluster-insecure means true): the cluster port
  /// over plain TCP with no authentication. Default: false
  bool cluster_insecure = false;
  /// --kafka-config=KEY=VALUE, repeatable: librdkafka properties for every Kafka client of the
  /// node (TLS, SASL...). Keys hibiki sets itself are refused. A key given again replaces the
  /// earlier value (a flag replaces the environment's, which replaces the file's). Default: none
  std::vector<std::pair<std::string, std::string>> kafka_config;
  /// --kafka-open-timeout=SECONDS (1..86400): how long opening the Kafka journal may take
  /// (fencing, catching the local index up with the topic). Default: 120
  std::chrono::seconds kafka_open_timeout{120};
  /// --kafka-producers=node|partition: true for `partition`, a single node's producer per
  /// partition instead of one for the node (persistence::kafka_options::producer_per_partition).
  /// Default: false (node)
  bool kafka_producer_per_partition = false;
  // ---- request rates, per-account limits and sync replay ----
  /// --connection-rate, --connection-burst, --account-rate, --account-burst,
  /// --max-connections-per-account, --sync-max-rooms, --sync-max-room-bytes: handed to the node as
  /// they are. Default: actors::request_limits' defaults (100/s, 200, 200/s, 400, 50, 1000, 4 MiB)
  actors::request_limits limits;
  /// --sync-batch-bytes=N: events a sync reads and sends at a time; at most half of
  /// --max-outgoing-bytes. Default: 0 = 256 KiB, or a quarter of --max-outgoing-bytes if smaller
  std::size_t sync_batch_bytes = 0;
  // ---- the network edge: TLS, admission control, proxies, origins ----
  /// --tls-cert and --tls-key (both or neither), --max-connections, --max-connections-per-ip,
  /// --signup-rate, --trusted-proxies, --allowed-origins: handed to the gateway as they are.
  /// Default: gateway::edge_options' defaults (plain, 10000, 100, 10/min, none, the listen
  /// address's origins)
  gateway::edge_options edge;
  /// --api-rate=N/PERIOD: REST API (/v2) requests per token per period on this node (0 = no
  /// limit). Default: 300/5min
  std::uint32_t api_rate = 300;
  std::chrono::seconds api_rate_period{300};
  /// --api-max-body=BYTES: largest /v2 request body. Default: 1 MiB
  std::size_t api_max_body = 1024 * 1024;

  // ---- shared files: where their bytes live (persistence/object_storage.hpp) ----
  /// --public-url=URL: `scheme://host[:port]` clients reach this node's HTTP listener at; the
  /// directory store's signed file URLs start with it (and their Host is signed), and so do the
  /// REST API's picture URLs. Default: empty = the listener's own address (http(s)://HOST:PORT,
  /// 127.0.0.1 for a wildcard address) for files, the request's scheme and Host for pictures
  std::string public_url;
  /// --s3-endpoint=URL: `http(s)://host[:port]` of an S3-compatible store (MinIO, AWS S3, Ceph
  /// RGW...) to keep files in. Default: empty = the directory store under <data-dir>/files
  std::string s3_endpoint;
  /// --s3-region=NAME: the region signatures are scoped to. Default: us-east-1
  std::string s3_region = "us-east-1";
  /// --s3-bucket=NAME. Default: hibiki
  std::string s3_bucket = "hibiki";
  /// --s3-path-style=true|false: `endpoint/bucket/key` URLs (MinIO, most self-hosted stores) or
  /// `bucket.endpoint/key` (AWS's virtual-hosted style). Default: true
  bool s3_path_style = true;
  /// --s3-credentials-file=FILE: `access_key = ...` and `secret_key = ...` lines, the owner's
  /// alone (mode 0600). Without it the credentials come from HIBIKI_S3_ACCESS_KEY and
  /// HIBIKI_S3_SECRET_KEY; never from a flag. Default: empty
  std::string s3_credentials_file;
  /// --max-file-size=BYTES: the largest file a member may upload. Default: 104857600 (100 MiB)
  std::uint64_t max_file_size = 100ull * 1024 * 1024;
  /// --upload-window=SECONDS: how long a requested upload and its pre-signed PUT URL last (10 s to
  /// 7 days). Default: 900 (15 min)
  std::chrono::seconds upload_window{900};
  /// --max-pending-uploads=N: uploads one account may have pending in one room. Default: 100
  std::uint32_t max_pending_uploads = 100;
  /// --file-grace=SECONDS: how long the object of a deleted file (its message or room deleted)
  /// stays in the store before the sweeper removes it. Default: 86400 (24 h)
  std::chrono::seconds file_grace{24 * 3600};
  /// --file-sweep-interval=SECONDS: how often the sweeper looks for objects to remove (expired
  /// uploads, deleted files past their grace). Default: 60
  std::chrono::seconds file_sweep_interval{60};

  /// --search=on|off: keep the full-text index in --data-dir/search and answer `search`
  /// (off: no index, `search` answers unavailable). Default: on
  bool search = true;
  /// --search-language=NAME: the stemming language of Latin-script words (a Snowball name such as
  /// english, german, french; none: no stemming). Changing it needs `hibiki admin rebuild
  /// search`. Default: english
  std::string search_language = "english";
  // ---- webhooks (docs/operations.md "Webhooks") ----
  /// --webhooks=true|false: run the webhook outbox (`<data-dir>/webhooks`) and its deliveries;
  /// false: the webhook ops answer unavailable. Default: true
  bool webhooks = true;
  /// --webhook-allow-private=true|false: allow webhook targets on private, loopback, link-local
  /// and other non-public addresses (tests, closed networks). Default: false
  bool webhook_allow_private = false;
  /// --webhook-workers=N: delivery threads. Default: 4
  std::uint32_t webhook_workers = 4;
  /// --webhook-connect-timeout-ms=MS: longest wait for a receiver's connection. Default: 5000
  std::chrono::milliseconds webhook_connect_timeout{5'000};
  /// --webhook-timeout-ms=MS: longest wait for a whole delivery. Default: 10000
  std::chrono::milliseconds webhook_timeout{10'000};
  /// --webhook-retry-initial-ms=MS: the first retry delay (doubled per failure). Default: 1000
  std::chrono::milliseconds webhook_retry_initial{1'000};
  /// --webhook-retry-max=SECONDS: the longest retry delay. Default: 600
  std::chrono::seconds webhook_retry_max{600};
  /// --webhook-give-up=SECONDS: a delivery failing this long after it was made is dropped.
  /// Default: 86400 (24 h)
  std::chrono::seconds webhook_give_up{86'400};
  /// --webhook-breaker-failures=N: failures in a row that open an endpoint's breaker. Default: 5
  std::uint32_t webhook_breaker_failures = 5;
  /// --webhook-breaker-reset-ms=MS: how long an endpoint's breaker stays open. Default: 60000
  std::chrono::milliseconds webhook_breaker_reset{60'000};

  /// --metrics=true|false: record metrics and serve GET /metrics. Default: true
  bool metrics = true;
  /// --admin-token-file=FILE: the operator endpoints want this file's token (hibikid refuses a
  /// file that is empty or readable by group or others). Default: empty = none
  std::string admin_token_file;
  /// --admin-http=HOST:PORT: the operator listener. Default: empty = none
  std::string admin_http_host;
  std::uint16_t admin_http_port = 0;
  /// --log-dir, --log-level, --app-log, --access-log, --audit-log, --log-max-size,
  /// --log-max-files (log_files.hpp). Default: the app log on stderr at info, no access or audit
  /// log
  log_options logs;
  /// --config=FILE. Default: none
  std::string config_file;
  bool help = false;
  bool version = false;
  /// Not options: what the parser wants said on stderr (unknown HIBIKI_* variables). Default: none
  std::vector<std::string> warnings;

  bool operator==(const daemon_options&) const = default;
};

/// The environment as the parser sees it: variable name -> value. Only HIBIKI_* names matter.
using environment = std::map<std::string, std::string>;

/// The HIBIKI_* variables of this process's environment.
environment process_environment();

/// One option of hibikid. Adding an option = adding a field (with its `Default:` comment) to
/// daemon_options and one entry to daemon_option_table(); the flag, the config-file key, the
/// HIBIKI_* variable and the --help line follow from it.
struct option_spec {
  /// The flag without its dashes ("data-dir"); also the config-file key ("data-dir" or
  /// "data_dir") and, upper-cased with '_' for '-', the environment variable (HIBIKI_DATA_DIR).
  const char* name;
  /// What the value looks like in --help ("DIR", "HOST:PORT").
  const char* value_name;
  /// The --help text (without the default).
  const char* help;
  /// The default as a value the setter accepts (shown in --help; a test checks the setter gives
  /// the struct's default from it); nullptr when there is none to show.
  const char* default_value;
  /// Checks the value and sets the field; bad_request naming the option when the value is bad.
  status (*set)(std::string_view value, daemon_options& options);
  /// May be given several times (each value is kept); otherwise the last one given wins.
  bool repeatable = false;
};

/// Every option of hibikid besides --config, --help and --version.
const std::vector<option_spec>& daemon_option_table();

/// Parses hibikid's arguments (without the program name) and the HIBIKI_* variables of `env`,
/// reading the --config file if given. Precedence: flag > environment > file > default; on the
/// command line the last of a repeated flag wins. Every value given is checked, even one that a
/// higher source overrides. With --help or --version only the command line is parsed.
/// Errors: bad_request with a message naming the option (unknown, malformed, out of range), or
/// the config file's line, or the variable, or options that do not fit together
/// (--journal=kafka without --kafka-brokers, --kafka-brokers without --journal=kafka, --cluster
/// without --journal=kafka, --kafka-config without --journal=kafka).
/// An unknown HIBIKI_* variable is not an error (the prefix is shared with the `hibiki` client and
/// with scripts): it is added to `warnings`. HIBIKI_CONFIG, HIBIKI_TOKEN and HIBIKI_ADMIN_TOKEN
/// are the client's and ignored; HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY are secrets read by
/// load_s3_credentials only, and ignored here.
result<daemon_options> parse_daemon_options(const std::vector<std::string>& args,
                                            const environment& env = {});

/// Applies one option by name (the flag without its dashes, e.g. "data-dir"; '_' works as '-').
/// bad_request "unknown option --KEY" when no table entry has that name.
status apply_daemon_option(std::string_view key, std::string_view value, daemon_options& options);

/// Checks the options that depend on each other, once every flag and config line is applied.
status check_daemon_options(const daemon_options& options);

/// What the startup line says about the journal: "rocksdb" or "kafka topic T at BROKERS".
std::string journal_description(const daemon_options& options);

/// What the startup line says about the cluster: empty when not clustered, else
/// "node N, cluster endpoint HOST:PORT" (N is "(host name)" when --node-id is not given).
std::string cluster_description(const daemon_options& options);

/// Applies the lines of a config file: `key = value`, blank lines and lines starting with `#`
/// (a `#` inside a value is part of it). Errors name the line: "config line N: ...".
status apply_config_text(std::string_view text, daemon_options& options);

/// --node-id, else the host name: the node's name in its logs, its writer id and its cluster
/// member name.
std::string node_name(const daemon_options& options);

/// What opens the storage (persistence::open_backend), what runs on it (actors::node::start),
/// what serves clients (gateway::server::start).
persistence::storage_options to_storage_options(const daemon_options& options);
actors::node_options to_node_options(const daemon_options& options);
gateway::gateway_options to_gateway_options(const daemon_options& options);
/// Where shared files' bytes live: the directory store under <data-dir>/files.
persistence::object_store_options to_object_store_options(const daemon_options& options);
/// The search index's options (its directory is search_directory).
persistence::search_options to_search_options(const daemon_options& options);
/// Where the search index lives: --data-dir/search.
std::string search_directory(const daemon_options& options);

/// The --help text.
std::string daemon_usage();

/// Reads the admin token from `path`: its content without surrounding whitespace. Errors:
/// bad_request when the file cannot be read, is empty (or only whitespace), or is readable by
/// group or others (mode & 077 != 0: a secret must be the owner's alone).
result<std::string> load_admin_token(const std::string& path);

/// The S3 credentials: from `options.s3_credentials_file` when set (`access_key = KEY` and
/// `secret_key = SECRET` lines; the file must be the owner's alone), else from the environment's
/// HIBIKI_S3_ACCESS_KEY and HIBIKI_S3_SECRET_KEY. Errors: bad_request (an unreadable or shared
/// file, a missing line or variable while --s3-endpoint is set). Empty credentials and success
/// when no endpoint is set.
result<persistence::sigv4::credentials> load_s3_credentials(const daemon_options& options,
                                                            const environment& env);

}  // namespace hibiki::cli
