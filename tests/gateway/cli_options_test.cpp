// Option parsing of hibikid and hibiki: defaults, the config file and flag precedence, and the
// errors bad values give.

#include <sys/stat.h>

#include <algorithm>
#include <cstdlib>
#include <thread>

#include <catch2/catch.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/daemon_options.hpp"
#include "hibiki/persistence/kafka_settings.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::cli;
using strings = std::vector<std::string>;

TEST_CASE("hibikid defaults", "[cli][options]") {
  auto o = parse_daemon_options({});
  REQUIRE(o.ok());
  REQUIRE(o->http_host == "127.0.0.1");
  REQUIRE(o->http_port == 8080);
  REQUIRE(o->data_dir == "./data");
  REQUIRE_FALSE(o->open_signup);  // closed unless asked for, whatever the address
  REQUIRE(o->edge.tls_cert_file.empty());
  REQUIRE(o->edge.tls_key_file.empty());
  REQUIRE(o->edge.max_connections == 10'000);
  REQUIRE(o->edge.max_connections_per_ip == 100);
  REQUIRE(o->edge.signup_per_ip == 10);
  REQUIRE(o->edge.signup_period == std::chrono::seconds(60));
  REQUIRE(o->edge.trusted_proxies.empty());
  REQUIRE(o->edge.allowed_origins.empty());
  REQUIRE(o->snapshot_every == 1000);
  REQUIRE(o->passivate_after == std::chrono::seconds(120));
  REQUIRE(o->max_live_entities == 100'000);
  REQUIRE(o->max_frame_bytes == 1024 * 1024);
  REQUIRE(o->idle_timeout == std::chrono::seconds(60));
  REQUIRE(o->max_outgoing_bytes == 4 * 1024 * 1024);
  REQUIRE_FALSE(o->help);
  REQUIRE_FALSE(o->version);
  REQUIRE(o->journal == persistence::journal_kind::rocksdb);
  REQUIRE(o->kafka_brokers.empty());
  REQUIRE(o->kafka_topic == "hibiki.journal");
  REQUIRE(o->kafka_partitions == 16);
  REQUIRE(o->breaker.max_failures == 10);
  REQUIRE(o->breaker.call_timeout == std::chrono::milliseconds(10'000));
  REQUIRE(o->breaker.reset_timeout == std::chrono::milliseconds(30'000));
  REQUIRE(journal_description(*o) == "rocksdb");

  auto node = to_node_options(*o);
  REQUIRE(node.breaker.max_failures == 10);
  auto storage = to_storage_options(*o);
  REQUIRE(storage.journal == persistence::journal_kind::rocksdb);
  REQUIRE(storage.data_dir == "./data");
  REQUIRE(storage.kafka_open_timeout == std::chrono::milliseconds(120'000));
  REQUIRE(storage.cluster_endpoint.empty());
}

TEST_CASE("hibikid rate / account / sync flags", "[cli][options]") {
  auto d = parse_daemon_options({});
  REQUIRE(d.ok());
  auto dn = to_node_options(*d);
  CHECK(dn.rate_per_second == 100);
  CHECK(dn.rate_burst == 200);
  CHECK(dn.account_rate_per_second == 200);
  CHECK(dn.account_rate_burst == 400);
  CHECK(dn.max_connections_per_account == 50);
  CHECK(dn.sync_max_rooms == 1000);
  CHECK(dn.sync_max_room_bytes == 4 * 1024 * 1024);
  CHECK(dn.sync_batch_bytes == 256 * 1024);

  auto o = parse_daemon_options({"--connection-rate=50/s", "--connection-burst=60",
                                 "--account-rate=300", "--account-burst=700",
                                 "--max-connections-per-account=5", "--sync-max-rooms=20",
                                 "--sync-max-room-bytes=1000000", "--sync-batch-bytes=65536"});
  REQUIRE(o.ok());
  auto n = to_node_options(*o);
  CHECK(n.rate_per_second == 50);
  CHECK(n.rate_burst == 60);
  CHECK(n.account_rate_per_second == 300);
  CHECK(n.account_rate_burst == 700);
  CHECK(n.max_connections_per_account == 5);
  CHECK(n.sync_max_rooms == 20);
  CHECK(n.sync_max_room_bytes == 1'000'000);
  CHECK(n.sync_batch_bytes == 65536);

  // A small outgoing cap shrinks the default batch to a quarter of it.
  auto small = parse_daemon_options({"--max-outgoing-bytes=65536"});
  REQUIRE(small.ok());
  CHECK(to_node_options(*small).sync_batch_bytes == 16384);

  for (const auto& bad :
       strings{"--account-rate=0", "--account-rate=1.5", "--account-rate=/s",
               "--connection-rate=-3", "--account-burst=0", "--max-connections-per-account=0",
               "--sync-max-rooms=x", "--sync-max-room-bytes=0", "--sync-batch-bytes=0"}) {
    auto r = parse_daemon_options({bad});
    INFO(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(bad.substr(0, bad.find('='))) != std::string::npos);
  }
  // A batch over half the outgoing cap would get a reading client dropped.
  auto big = parse_daemon_options({"--sync-batch-bytes=3000000"});
  REQUIRE_FALSE(big.ok());
  CHECK(big.error().message.find("--sync-batch-bytes") != std::string::npos);
}

TEST_CASE("hibikid flags", "[cli][options]") {
  auto o =
      parse_daemon_options({"--http=0.0.0.0:0", "--data-dir", "/var/lib/hibiki",
                            "--open-signup=false", "--snapshot-every=50", "--passivate-after=30",
                            "--max-live-entities=10", "--max-frame-bytes=2048", "--idle-timeout=5",
                            "--max-outgoing-bytes=65536", "--web-root=/srv/web"});
  REQUIRE(o.ok());
  REQUIRE(o->http_host == "0.0.0.0");
  REQUIRE(o->http_port == 0);
  REQUIRE(o->data_dir == "/var/lib/hibiki");
  REQUIRE(o->open_signup == false);
  REQUIRE(o->snapshot_every == 50);
  REQUIRE(o->passivate_after == std::chrono::seconds(30));
  REQUIRE(o->max_live_entities == 10);
  REQUIRE(o->max_frame_bytes == 2048);
  REQUIRE(o->idle_timeout == std::chrono::seconds(5));
  REQUIRE(o->max_outgoing_bytes == 65536);
  REQUIRE(o->web_root == "/srv/web");

  auto node = to_node_options(*o);
  REQUIRE(to_storage_options(*o).data_dir == "/var/lib/hibiki");
  REQUIRE(node.snapshot_every == 50);
  REQUIRE(node.passivate_after == std::chrono::milliseconds(30'000));
  REQUIRE(node.max_live_entities == 10);
  auto gw = to_gateway_options(*o);
  REQUIRE(gw.host == "0.0.0.0");
  REQUIRE(gw.port == 0);
  REQUIRE(gw.open_signup == false);
  REQUIRE(gw.max_frame_bytes == 2048);
  REQUIRE(gw.idle_timeout == std::chrono::milliseconds(5000));
  REQUIRE(gw.max_outgoing_bytes == 65536);
  REQUIRE(gw.web_root == "/srv/web");
  REQUIRE(gw.public_url.empty());
  auto proxied = parse_daemon_options({"--public-url=https://chat.example.com:8443"});
  REQUIRE(proxied.ok());
  REQUIRE(to_gateway_options(*proxied).public_url == "https://chat.example.com:8443");
  for (const char* bad : {"--public-url=chat.example.com", "--public-url=ftp://x",
                          "--public-url=https://x/path", "--public-url="}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("--public-url") != std::string::npos);
  }

  auto edge = parse_daemon_options(
      {"--tls-cert=/etc/hibiki/cert.pem", "--tls-key=/etc/hibiki/key.pem", "--max-connections=0",
       "--max-connections-per-ip=7", "--signup-rate=3/h", "--trusted-proxies=127.0.0.1, 10.0.0.0/8",
       "--allowed-origins=https://chat.example.com,http://localhost:8080"});
  REQUIRE(edge.ok());
  auto egw = to_gateway_options(*edge);
  REQUIRE(egw.tls_cert_file == "/etc/hibiki/cert.pem");
  REQUIRE(egw.tls_key_file == "/etc/hibiki/key.pem");
  REQUIRE(egw.max_connections == 0);
  REQUIRE(egw.max_connections_per_ip == 7);
  REQUIRE(egw.signup_per_ip == 3);
  REQUIRE(egw.signup_period == std::chrono::seconds(3600));
  REQUIRE(egw.trusted_proxies == strings{"127.0.0.1", "10.0.0.0/8"});
  REQUIRE(egw.allowed_origins == strings{"https://chat.example.com", "http://localhost:8080"});
  REQUIRE(parse_daemon_options({"--signup-rate=0"})->edge.signup_per_ip == 0);
  REQUIRE(parse_daemon_options({"--signup-rate=5/s"})->edge.signup_period ==
          std::chrono::seconds(1));
  REQUIRE(parse_daemon_options({"--allowed-origins=*"})->edge.allowed_origins == strings{"*"});

  // The REST API's rate and body limit.
  auto api_defaults = to_gateway_options(*parse_daemon_options({}));
  REQUIRE(api_defaults.api_rate == 300);
  REQUIRE(api_defaults.api_rate_period == std::chrono::seconds(300));
  REQUIRE(api_defaults.api_max_body_bytes == 1024 * 1024);
  auto api =
      to_gateway_options(*parse_daemon_options({"--api-rate=100/2h", "--api-max-body=4096"}));
  REQUIRE(api.api_rate == 100);
  REQUIRE(api.api_rate_period == std::chrono::seconds(7200));
  REQUIRE(api.api_max_body_bytes == 4096);
  REQUIRE(parse_daemon_options({"--api-rate=0"})->api_rate == 0);
  REQUIRE(parse_daemon_options({"--api-rate=10/s"})->api_rate_period == std::chrono::seconds(1));
  REQUIRE(parse_daemon_options({"--api-rate=5/min"})->api_rate_period == std::chrono::seconds(60));

  auto v6 = parse_daemon_options({"--http=[::1]:9000"});
  REQUIRE(v6.ok());
  REQUIRE(v6->http_host == "::1");
  REQUIRE(v6->http_port == 9000);
  REQUIRE(parse_daemon_options({"--help"})->help);
  REQUIRE(parse_daemon_options({"--version"})->version);
}

TEST_CASE("hibikid journal and breaker flags", "[cli][options]") {
  auto o = parse_daemon_options({"--journal=kafka", "--kafka-brokers=127.0.0.1:9092,kafka-2:19092",
                                 "--kafka-topic=chat.events_v1", "--kafka-partitions", "3",
                                 "--breaker-max-failures=4", "--breaker-call-timeout=2500",
                                 "--breaker-reset-timeout=0"});
  REQUIRE(o.ok());
  REQUIRE(o->journal == persistence::journal_kind::kafka);
  REQUIRE(o->kafka_brokers == "127.0.0.1:9092,kafka-2:19092");
  REQUIRE(o->kafka_topic == "chat.events_v1");
  REQUIRE(o->kafka_partitions == 3);
  REQUIRE(o->breaker.max_failures == 4);
  REQUIRE(o->breaker.call_timeout == std::chrono::milliseconds(2500));
  REQUIRE(o->breaker.reset_timeout == std::chrono::milliseconds(0));
  REQUIRE(journal_description(*o) == "kafka topic chat.events_v1 at 127.0.0.1:9092,kafka-2:19092");

  auto storage = to_storage_options(*o);
  REQUIRE(storage.journal == persistence::journal_kind::kafka);
  REQUIRE(storage.kafka_brokers == "127.0.0.1:9092,kafka-2:19092");
  REQUIRE(storage.kafka_topic == "chat.events_v1");
  REQUIRE(storage.kafka_partitions == 3);
  auto node = to_node_options(*o);
  REQUIRE(node.breaker.max_failures == 4);
  REQUIRE(node.breaker.call_timeout == std::chrono::milliseconds(2500));
  REQUIRE(node.breaker.reset_timeout == std::chrono::milliseconds(0));

  // IPv6 brokers, and the breaker alone with the embedded journal.
  auto v6 = parse_daemon_options({"--journal=kafka", "--kafka-brokers=[::1]:9092"});
  REQUIRE(v6.ok());
  REQUIRE(v6->kafka_brokers == "[::1]:9092");
  auto rocks = parse_daemon_options({"--journal=rocksdb", "--breaker-max-failures=1"});
  REQUIRE(rocks.ok());
  REQUIRE(rocks->journal == persistence::journal_kind::rocksdb);
  REQUIRE(rocks->breaker.max_failures == 1);
}

TEST_CASE("hibikid journal options from the config file", "[cli][options]") {
  testkit::temp_dir dir;
  auto file = dir.path() / "hibikid.conf";
  testkit::write_file(file,
                      "journal = kafka\n"
                      "kafka_brokers = 127.0.0.1:9092\n"
                      "kafka-partitions = 8\n"
                      "breaker-call-timeout = 500\n");
  auto o = parse_daemon_options({"--config=" + file.string(), "--kafka-partitions=2"});
  REQUIRE(o.ok());
  REQUIRE(o->journal == persistence::journal_kind::kafka);
  REQUIRE(o->kafka_brokers == "127.0.0.1:9092");
  REQUIRE(o->kafka_partitions == 2);  // the flag wins
  REQUIRE(o->breaker.call_timeout == std::chrono::milliseconds(500));
  // The file names Kafka; a flag switches back to the embedded journal, and then the brokers
  // left in the file are a contradiction, reported as such.
  auto back = parse_daemon_options({"--config=" + file.string(), "--journal=rocksdb"});
  REQUIRE_FALSE(back.ok());
  REQUIRE(back.error().message.find("--journal=kafka") != std::string::npos);
}

TEST_CASE("hibikid rejects bad journal and breaker options", "[cli][options]") {
  for (const auto& [args, says] : std::vector<std::pair<strings, std::string>>{
           {{"--journal=postgres"}, "expected rocksdb or kafka"},
           {{"--journal="}, "expected rocksdb or kafka"},
           {{"--journal=Kafka", "--kafka-brokers=h:1"}, "expected rocksdb or kafka"},
           {{"--journal=kafka"}, "--journal=kafka needs --kafka-brokers"},
           {{"--kafka-brokers=127.0.0.1:9092"}, "add --journal=kafka"},
           {{"--journal=kafka", "--kafka-brokers="}, "--kafka-brokers"},
           {{"--journal=kafka", "--kafka-brokers=localhost"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=:9092"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:0"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:65536"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:port"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:1,"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:1,,g:2"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h 1:9092"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=[::1]9092"}, "HOST:PORT"},
           {{"--journal=kafka", "--kafka-brokers=h:1", "--kafka-topic="}, "--kafka-topic"},
           {{"--journal=kafka", "--kafka-brokers=h:1", "--kafka-topic=a/b"}, "--kafka-topic"},
           {{"--journal=kafka", "--kafka-brokers=h:1", "--kafka-topic=.."}, "--kafka-topic"},
           {{"--journal=kafka", "--kafka-brokers=h:1", "--kafka-topic=" + std::string(250, 't')},
            "--kafka-topic"},
           {{"--kafka-partitions=0"}, "--kafka-partitions"},
           {{"--kafka-partitions=-3"}, "--kafka-partitions"},
           {{"--kafka-partitions=many"}, "--kafka-partitions"},
           {{"--kafka-partitions=10001"}, "--kafka-partitions"},
           {{"--breaker-max-failures=0"}, "--breaker-max-failures"},
           {{"--breaker-max-failures=ten"}, "--breaker-max-failures"},
           {{"--breaker-call-timeout=1s"}, "--breaker-call-timeout"},
           {{"--breaker-call-timeout=-1"}, "--breaker-call-timeout"},
           {{"--breaker-call-timeout="}, "--breaker-call-timeout"},
           {{"--breaker-reset-timeout=86400001"}, "--breaker-reset-timeout"},
           {{"--breaker-reset-timeout=soon"}, "--breaker-reset-timeout"},
       }) {
    INFO(args[0] + (args.size() > 1 ? " " + args[1] : std::string()));
    auto o = parse_daemon_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE(o.error().message.find(says) != std::string::npos);
  }
}

TEST_CASE("hibikid cluster flags", "[cli][options]") {
  auto d = parse_daemon_options({});
  REQUIRE(d.ok());
  REQUIRE(d->cluster_listen.empty());
  REQUIRE(d->node_id.empty());
  REQUIRE(d->cluster_session_timeout == std::chrono::milliseconds(10'000));
  REQUIRE(d->route_wait == std::chrono::milliseconds(15'000));
  REQUIRE(cluster_description(*d).empty());

  auto o = parse_daemon_options(
      {"--journal=kafka", "--kafka-brokers=127.0.0.1:9092", "--cluster=127.0.0.1:7101", "--node-id",
       "n1", "--cluster-session-timeout=6000", "--route-wait=2500", "--cluster-tls-cert=n1.crt",
       "--cluster-tls-key", "n1.key", "--cluster-ca=ca.crt"});
  REQUIRE(o.ok());
  REQUIRE(o->cluster_listen == "127.0.0.1:7101");
  REQUIRE(o->node_id == "n1");
  REQUIRE(o->cluster_session_timeout == std::chrono::milliseconds(6000));
  REQUIRE(o->route_wait == std::chrono::milliseconds(2500));
  REQUIRE(cluster_description(*o) == "node n1, cluster endpoint 127.0.0.1:7101 over mutual TLS");
  auto node = to_node_options(*o);
  REQUIRE(node.cluster_listen == "127.0.0.1:7101");
  REQUIRE(node.node_id == "n1");
  REQUIRE(node.route_wait == std::chrono::milliseconds(2500));
  auto storage = to_storage_options(*o);
  REQUIRE(storage.journal == persistence::journal_kind::kafka);
  REQUIRE(storage.node_name == "n1");
  REQUIRE(storage.cluster_endpoint == "127.0.0.1:7101");
  REQUIRE(storage.cluster_session_timeout == std::chrono::milliseconds(6000));
  REQUIRE(node.cluster_tls_cert == "n1.crt");
  REQUIRE(node.cluster_tls_key == "n1.key");
  REQUIRE(node.cluster_ca == "ca.crt");
  REQUIRE_FALSE(node.cluster_insecure);

  // Host names; the node id alone (it names a single node too); --cluster-insecure.
  auto named = parse_daemon_options({"--journal=kafka", "--kafka-brokers=k:9092",
                                     "--cluster=node-2.example.org:7000", "--node-id=a.B_9-x",
                                     "--cluster-insecure=true"});
  REQUIRE(named.ok());
  REQUIRE(named->cluster_listen == "node-2.example.org:7000");
  REQUIRE(named->cluster_insecure);
  REQUIRE(to_node_options(*named).cluster_insecure);
  REQUIRE(cluster_description(*named) ==
          "node a.B_9-x, cluster endpoint node-2.example.org:7000 INSECURE: plain TCP, no "
          "authentication");
  auto unnamed = parse_daemon_options({"--journal=kafka", "--kafka-brokers=k:9092",
                                       "--cluster=127.0.0.1:7000", "--cluster-insecure=true"});
  REQUIRE(unnamed.ok());
  REQUIRE(cluster_description(*unnamed) ==
          "node (host name), cluster endpoint 127.0.0.1:7000 INSECURE: plain TCP, no "
          "authentication");
  auto alone = parse_daemon_options({"--node-id=solo"});
  REQUIRE(alone.ok());
  REQUIRE(to_node_options(*alone).node_id == "solo");
  REQUIRE(to_node_options(*alone).cluster_listen.empty());

  // The bounds are accepted.
  auto bounds = parse_daemon_options({"--cluster-session-timeout=1000", "--route-wait=1"});
  REQUIRE(bounds.ok());
  REQUIRE(bounds->cluster_session_timeout == std::chrono::milliseconds(1000));
  REQUIRE(bounds->route_wait == std::chrono::milliseconds(1));
  auto top = parse_daemon_options({"--cluster-session-timeout=3600000", "--route-wait=600000"});
  REQUIRE(top.ok());
}

TEST_CASE("hibikid cluster options from the config file", "[cli][options]") {
  testkit::temp_dir dir;
  auto file = dir.path() / "hibikid.conf";
  testkit::write_file(file,
                      "journal = kafka\n"
                      "kafka-brokers = 127.0.0.1:9092\n"
                      "cluster = 127.0.0.1:7102\n"
                      "cluster-tls-cert = /etc/hibiki/n2.crt\n"
                      "cluster_tls_key = /etc/hibiki/n2.key\n"
                      "cluster-ca = /etc/hibiki/ca.crt\n"
                      "node_id = n2\n"
                      "cluster_session_timeout = 8000\n"
                      "route-wait = 3000\n");
  auto o = parse_daemon_options({"--config=" + file.string(), "--node-id=n3"});
  REQUIRE(o.ok());
  REQUIRE(o->cluster_listen == "127.0.0.1:7102");
  REQUIRE(o->node_id == "n3");  // the flag wins
  REQUIRE(o->cluster_session_timeout == std::chrono::milliseconds(8000));
  REQUIRE(o->route_wait == std::chrono::milliseconds(3000));
  REQUIRE(o->cluster_tls_cert == "/etc/hibiki/n2.crt");
  REQUIRE(o->cluster_tls_key == "/etc/hibiki/n2.key");
  REQUIRE(o->cluster_ca == "/etc/hibiki/ca.crt");
}

TEST_CASE("hibikid rejects bad cluster options", "[cli][options]") {
  const strings kafka = {"--journal=kafka", "--kafka-brokers=127.0.0.1:9092",
                         "--cluster-insecure=true"};
  auto with_kafka = [&](strings more) {
    strings all = kafka;
    all.insert(all.end(), more.begin(), more.end());
    return all;
  };
  for (const auto& [args, says] : std::vector<std::pair<strings, std::string>>{
           {{"--cluster=127.0.0.1:7101"}, "--cluster needs --journal=kafka"},
           {{"--journal=rocksdb", "--cluster=127.0.0.1:7101"}, "--cluster needs --journal=kafka"},
           {with_kafka({"--cluster="}), "--cluster"},
           {with_kafka({"--cluster=127.0.0.1"}), "--cluster"},
           {with_kafka({"--cluster=:7101"}), "--cluster"},
           {with_kafka({"--cluster=127.0.0.1:0"}), "--cluster"},
           {with_kafka({"--cluster=127.0.0.1:65536"}), "--cluster"},
           {with_kafka({"--cluster=127.0.0.1:port"}), "--cluster"},
           {with_kafka({"--cluster=0.0.0.0:7101"}), "not 0.0.0.0"},
           {with_kafka({"--cluster=[::]:7101"}), "--cluster"},
           {with_kafka({"--cluster=[::1]:7101"}), "IPv6 is not supported"},
           {with_kafka({"--cluster=::1:7101"}), "--cluster"},
           {with_kafka({"--cluster=[::1]7101"}), "--cluster"},
           {with_kafka({"--cluster=a@b:7101"}), "--cluster"},
           {with_kafka({"--cluster=h 1:7101"}), "--cluster"},
           {{"--node-id="}, "--node-id"},
           {{"--node-id=n 1"}, "--node-id"},
           {{"--node-id=n1@host"}, "--node-id"},
           {{"--node-id=n/1"}, "--node-id"},
           {{"--node-id=" + std::string(65, 'n')}, "--node-id"},
           {{"--cluster-session-timeout=999"}, "--cluster-session-timeout"},
           {{"--cluster-session-timeout=0"}, "--cluster-session-timeout"},
           {{"--cluster-session-timeout=3600001"}, "--cluster-session-timeout"},
           {{"--cluster-session-timeout=6s"}, "--cluster-session-timeout"},
           {{"--cluster-session-timeout=-6000"}, "--cluster-session-timeout"},
           {{"--cluster-session-timeout="}, "--cluster-session-timeout"},
           {{"--route-wait=0"}, "--route-wait"},
           {{"--route-wait=600001"}, "--route-wait"},
           {{"--route-wait=soon"}, "--route-wait"},
           {{"--route-wait"}, "--route-wait needs a value"},
           // The cluster port's security.
           {{"--journal=kafka", "--kafka-brokers=k:9092", "--cluster=127.0.0.1:7101"},
            "--cluster needs --cluster-tls-cert, --cluster-tls-key and --cluster-ca"},
           {{"--journal=kafka", "--kafka-brokers=k:9092", "--cluster=127.0.0.1:7101",
             "--cluster-tls-cert=a.crt"},
            "go together: missing --cluster-tls-key, --cluster-ca"},
           {{"--journal=kafka", "--kafka-brokers=k:9092", "--cluster=127.0.0.1:7101",
             "--cluster-tls-cert=a.crt", "--cluster-tls-key=a.key"},
            "go together: missing --cluster-ca"},
           {{"--journal=kafka", "--kafka-brokers=k:9092", "--cluster=127.0.0.1:7101",
             "--cluster-ca=ca.crt"},
            "go together: missing --cluster-tls-cert, --cluster-tls-key"},
           {with_kafka({"--cluster=127.0.0.1:7101", "--cluster-ca=ca.crt"}),
            "--cluster-insecure contradicts"},
           {{"--cluster-tls-cert=a.crt"}, "only apply to a clustered node"},
           {{"--cluster-insecure=true"}, "only apply to a clustered node"},
           {{"--cluster-insecure"}, "--cluster-insecure needs a value"},
           {{"--cluster-ca=ca.crt", "--cluster-tls-cert=a.crt", "--cluster-tls-key=a.key"},
            "only apply to a clustered node"},
           {{"--cluster-tls-cert="}, "--cluster-tls-cert"},
           {{"--cluster-tls-key"}, "--cluster-tls-key needs a value"},
           {{"--cluster-ca="}, "--cluster-ca"},
           {{"--cluster-insecure=yes"}, "--cluster-insecure"},
       }) {
    INFO(args.back());
    auto o = parse_daemon_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE(o.error().message.find(says) != std::string::npos);
  }
}

TEST_CASE("hibikid config file with flags winning", "[cli][options]") {
  testkit::temp_dir dir;
  auto file = dir.path() / "hibikid.conf";
  testkit::write_file(file,
                      "# a comment\n"
                      "\n"
                      "http = 127.0.0.1:9999\n"
                      "data-dir = /from/file\n"
                      "snapshot_every = 7\r\n"
                      "open-signup = true\n");
  auto o = parse_daemon_options({"--data-dir=/from/flag", "--config=" + file.string()});
  REQUIRE(o.ok());
  REQUIRE(o->http_port == 9999);         // from the file
  REQUIRE(o->data_dir == "/from/flag");  // the flag wins, even given before --config
  REQUIRE(o->snapshot_every == 7);       // '_' accepted for '-', CRLF tolerated
  REQUIRE(o->open_signup == true);
}

TEST_CASE("hibikid --gateway-threads sets the gateway's I/O threads, one per core by default",
          "[cli][options]") {
  const std::size_t cores = std::max<std::size_t>(1, std::thread::hardware_concurrency());
  auto defaults = parse_daemon_options({});
  REQUIRE(defaults.ok());
  CHECK(defaults->gateway_threads == 0);
  CHECK(to_gateway_options(*defaults).threads == cores);
  auto zero = parse_daemon_options({"--gateway-threads=0"});
  REQUIRE(zero.ok());
  CHECK(to_gateway_options(*zero).threads == cores);
  auto four = parse_daemon_options({"--gateway-threads=4"});
  REQUIRE(four.ok());
  CHECK(to_gateway_options(*four).threads == 4);
  auto env = parse_daemon_options({}, {{"HIBIKI_GATEWAY_THREADS", "3"}});
  REQUIRE(env.ok());
  CHECK(to_gateway_options(*env).threads == 3);
  daemon_options from_file;
  REQUIRE(apply_config_text("gateway-threads = 2\n", from_file).ok());
  CHECK(to_gateway_options(from_file).threads == 2);
  for (const char* bad : {"--gateway-threads=-1", "--gateway-threads=", "--gateway-threads=two",
                          "--gateway-threads=1025", "--gateway-threads=2.5",
                          "--gateway-threads=99999999999999999999999"}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("--gateway-threads") != std::string::npos);
  }
}

TEST_CASE("hibikid --actor-threads reaches the node's options", "[cli][options]") {
  auto defaults = parse_daemon_options({});
  REQUIRE(defaults.ok());
  CHECK(to_node_options(*defaults).actor_threads == 0);  // the node's: one per core
  auto set = parse_daemon_options({"--actor-threads=3"});
  REQUIRE(set.ok());
  CHECK(to_node_options(*set).actor_threads == 3);
  for (const char* bad :
       {"--actor-threads=-1", "--actor-threads=lots", "--actor-threads=1025", "--actor-threads="}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find("--actor-threads") != std::string::npos);
  }
}

TEST_CASE("hibikid's actor scheduler flags reach the node's options", "[cli][options]") {
  auto defaults = parse_daemon_options({});
  REQUIRE(defaults.ok());
  const auto d = to_node_options(*defaults).scheduler;
  const actors::scheduler_options cafs;  // CAF 0.17's own values
  CHECK(d.policy == cafs.policy);        // CAF's work stealing (decision 0043)
  CHECK(d.max_throughput == 0);
  CHECK(d.spin_polls == cafs.spin_polls);
  CHECK(d.sleep_polls == cafs.sleep_polls);
  CHECK(d.poll_sleep == cafs.poll_sleep);
  CHECK(d.idle_wait == cafs.idle_wait);

  auto set = parse_daemon_options({"--actor-scheduler=stealing", "--actor-max-throughput=50",
                                   "--actor-spin-polls=0", "--actor-sleep-polls=20",
                                   "--actor-poll-sleep=200", "--actor-idle-wait=3"});
  REQUIRE(set.ok());
  const auto s = to_node_options(*set).scheduler;
  CHECK(s.policy == actors::scheduler_policy::stealing);
  CHECK(s.max_throughput == 50);
  CHECK(s.spin_polls == 0);
  CHECK(s.sleep_polls == 20);
  CHECK(s.poll_sleep == std::chrono::microseconds(200));
  CHECK(s.idle_wait == std::chrono::milliseconds(3));

  auto sharing = parse_daemon_options({"--actor-scheduler=sharing", "--actor-max-throughput=10"});
  REQUIRE(sharing.ok());
  CHECK(to_node_options(*sharing).scheduler.policy == actors::scheduler_policy::sharing);
  CHECK(to_node_options(*sharing).scheduler.max_throughput == 10);
  // The default policy polls, so its settings need no --actor-scheduler.
  auto polls = parse_daemon_options({"--actor-sleep-polls=0"});
  REQUIRE(polls.ok());
  CHECK(to_node_options(*polls).scheduler.sleep_polls == 0);
  auto env = parse_daemon_options({}, {{"HIBIKI_ACTOR_SCHEDULER", "sharing"}});
  REQUIRE(env.ok());
  CHECK(env->actor_scheduler == actors::scheduler_policy::sharing);
}

TEST_CASE("hibikid refuses bad actor scheduler settings", "[cli][options]") {
  const std::vector<std::pair<strings, std::string>> cases = {
      {{"--actor-scheduler=work-stealing"}, "--actor-scheduler"},
      {{"--actor-scheduler=Sharing"}, "--actor-scheduler"},
      {{"--actor-scheduler="}, "--actor-scheduler"},
      {{"--actor-max-throughput=-1"}, "--actor-max-throughput"},
      {{"--actor-max-throughput=1000001"}, "--actor-max-throughput"},
      {{"--actor-max-throughput=many"}, "--actor-max-throughput"},
      {{"--actor-spin-polls=1e3"}, "--actor-spin-polls"},
      {{"--actor-spin-polls=1000001"}, "--actor-spin-polls"},
      {{"--actor-sleep-polls=-5"}, "--actor-sleep-polls"},
      {{"--actor-sleep-polls="}, "--actor-sleep-polls"},
      {{"--actor-poll-sleep=50us"}, "--actor-poll-sleep"},
      {{"--actor-poll-sleep=1000001"}, "--actor-poll-sleep"},
      {{"--actor-idle-wait=0"}, "--actor-idle-wait"},
      {{"--actor-idle-wait=60001"}, "--actor-idle-wait"},
      {{"--actor-idle-wait=10ms"}, "--actor-idle-wait"},
      // The polling settings are the work-stealing workers'; sharing ones never poll.
      {{"--actor-scheduler=sharing", "--actor-sleep-polls=0"}, "--actor-sleep-polls"},
      {{"--actor-scheduler=sharing", "--actor-spin-polls=5"}, "--actor-spin-polls"},
      {{"--actor-scheduler=sharing", "--actor-poll-sleep=100"}, "--actor-poll-sleep"},
      {{"--actor-scheduler=sharing", "--actor-idle-wait=1"}, "--actor-idle-wait"},
  };
  for (const auto& [args, flag] : cases) {
    INFO(args.back());
    auto r = parse_daemon_options(args);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message.find(flag) != std::string::npos);
  }
  auto r = parse_daemon_options({"--actor-scheduler=sharing", "--actor-idle-wait=1"});
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message.find("stealing") != std::string::npos);
}

TEST_CASE("hibikid rejects bad options", "[cli][options]") {
  for (const strings& args : {
           strings{"--bogus=1"},
           strings{"positional"},
           strings{"--http=nohostport"},
           strings{"--http=:80"},
           strings{"--http=127.0.0.1:65536"},
           strings{"--http=127.0.0.1:-1"},
           strings{"--open-signup=yes"},
           strings{"--open-signup"},
           strings{"--snapshot-every=0"},
           strings{"--snapshot-every=ten"},
           strings{"--snapshot-every=10x"},
           strings{"--max-frame-bytes=-5"},
           strings{"--idle-timeout="},
           strings{"--max-outgoing-bytes=99999999999999999999999"},
           strings{"--data-dir="},
           strings{"--config=/nonexistent/hibiki/config"},
           strings{"--tls-cert=/a/cert.pem"},
           strings{"--tls-key=/a/key.pem"},
           strings{"--tls-cert="},
           strings{"--max-connections=-1"},
           strings{"--max-connections-per-ip=many"},
           strings{"--signup-rate=10"},
           strings{"--signup-rate=10/day"},
           strings{"--signup-rate=/min"},
           strings{"--api-rate=300"},
           strings{"--api-rate=300/day"},
           strings{"--api-rate=0/min"},
           strings{"--api-rate=10/0min"},
           strings{"--api-rate=/min"},
           strings{"--api-max-body=10"},
           strings{"--trusted-proxies="},
           strings{"--trusted-proxies=10.0.0.0/8,,127.0.0.1"},
           strings{"--allowed-origins=example.com"},
           strings{"--allowed-origins=https://example.com/path"},
           strings{"--allowed-origins="},
       }) {
    INFO(args[0]);
    auto o = parse_daemon_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE_FALSE(o.error().message.empty());
  }
}

TEST_CASE("an unknown flag is reported as unknown with or without a value", "[cli][options]") {
  for (const strings& args : {strings{"--bogus"}, strings{"--bogus=1"}, strings{"--bogus", "1"}}) {
    auto o = parse_daemon_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().message == "unknown option --bogus");
  }
}

TEST_CASE("config file errors name the line", "[cli][options]") {
  daemon_options o;
  auto st = apply_config_text("data-dir = /x\nno equals sign here\n", o);
  REQUIRE_FALSE(st.ok());
  REQUIRE(st.error().message.find("line 2") != std::string::npos);
  REQUIRE_FALSE(apply_config_text("unknown-key = 1\n", o).ok());
  REQUIRE_FALSE(apply_config_text("config = other.conf\n", o).ok());
  REQUIRE_FALSE(apply_config_text("idle-timeout = soon\n", o).ok());
  REQUIRE(apply_config_text("", o).ok());
}

TEST_CASE("hibikid options table: one entry per option, defaults that match the struct",
          "[cli][options]") {
  const auto& table = daemon_option_table();
  // Boost wraps the help text: compare with the line breaks and indentation folded.
  std::string usage;
  for (char c : daemon_usage()) {
    const bool space = c == ' ' || c == '\n';
    if (!(space && !usage.empty() && usage.back() == ' ')) usage += space ? ' ' : c;
  }
  for (const auto& spec : table) {
    INFO(spec.name);
    // Every option is in --help, with its default when it has one to show.
    REQUIRE(usage.find(std::string("--") + spec.name + " " + spec.value_name) != std::string::npos);
    if (spec.default_value) {
      REQUIRE(usage.find(std::string("(default: ") + spec.default_value) != std::string::npos);
      // The default shown is the struct's own: setting it changes nothing.
      daemon_options fresh;
      daemon_options set;
      REQUIRE(spec.set(spec.default_value, set).ok());
      REQUIRE(set == fresh);
    }
    // Every option is also a config-file key and an environment variable.
    daemon_options by_name;
    REQUIRE(apply_daemon_option(spec.name, "", by_name)
                .error()
                .message.find(std::string("--") + spec.name) != std::string::npos);
  }
  REQUIRE(usage.find("--config FILE") != std::string::npos);
  REQUIRE(usage.find("HIBIKI_DATA_DIR") != std::string::npos);
  REQUIRE(usage.find("flag > environment > config file > default") != std::string::npos);
}

TEST_CASE("hibikid short options, repeated flags and no abbreviations", "[cli][options]") {
  REQUIRE(parse_daemon_options({"-h"})->help);
  REQUIRE(parse_daemon_options({"-V"})->version);
  // With --help only the command line is read: a bad file or variable does not hide the help.
  REQUIRE(parse_daemon_options({"--help", "--config=/nonexistent"}, {{"HIBIKI_HTTP", "x"}})->help);
  // The last of a repeated flag wins (a wrapper script can append an override).
  auto twice = parse_daemon_options({"--data-dir=/a", "--data-dir", "/b"});
  REQUIRE(twice.ok());
  REQUIRE(twice->data_dir == "/b");
  // No prefix matching: --data is not --data-dir.
  auto prefix = parse_daemon_options({"--data=/x"});
  REQUIRE_FALSE(prefix.ok());
  REQUIRE(prefix.error().message == "unknown option --data");
  for (const strings& args :
       {strings{"-x"}, strings{"--help=yes"}, strings{"positional"}, strings{"-data-dir=/x"}}) {
    INFO(args[0]);
    auto o = parse_daemon_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
  }
  REQUIRE(parse_daemon_options({"extra"}).error().message == "unexpected argument 'extra'");
  REQUIRE(parse_daemon_options({"--http"}).error().message == "option --http needs a value");
  REQUIRE(parse_daemon_options({"--data-dir", "--http=127.0.0.1:1"}).error().message ==
          "option --data-dir needs a value");
  auto dash = parse_daemon_options({"--data-dir=-odd"});  // with '=' a value may start with '-'
  REQUIRE(dash.ok());
  REQUIRE(dash->data_dir == "-odd");
}

TEST_CASE("hibikid options from HIBIKI_ environment variables", "[cli][options]") {
  testkit::temp_dir dir;
  auto file = dir.path() / "hibikid.conf";
  testkit::write_file(file,
                      "data-dir = /from/file\n"
                      "snapshot-every = 7\n"
                      "idle-timeout = 9\n");
  const environment env{{"HIBIKI_DATA_DIR", "/from/env"},
                        {"HIBIKI_SNAPSHOT_EVERY", "8"},
                        {"HIBIKI_MAX_LIVE_ENTITIES", "12"},
                        {"PATH", "/usr/bin"}};
  auto o = parse_daemon_options({"--config=" + file.string(), "--snapshot-every=9"}, env);
  REQUIRE(o.ok());
  REQUIRE(o->snapshot_every == 9);                      // flag > environment > file
  REQUIRE(o->data_dir == "/from/env");                  // environment > file
  REQUIRE(o->idle_timeout == std::chrono::seconds(9));  // the file alone
  REQUIRE(o->max_live_entities == 12);                  // the environment alone
  REQUIRE(o->warnings.empty());

  // Combinations are checked on the result: the journal from the environment, the brokers from
  // a flag.
  auto kafka = parse_daemon_options({"--kafka-brokers=k:9092"}, {{"HIBIKI_JOURNAL", "kafka"}});
  REQUIRE(kafka.ok());
  REQUIRE(kafka->journal == persistence::journal_kind::kafka);

  // A bad value names the variable.
  auto bad = parse_daemon_options({}, {{"HIBIKI_IDLE_TIMEOUT", "soon"}});
  REQUIRE_FALSE(bad.ok());
  REQUIRE(bad.error().message.find(
              "HIBIKI_IDLE_TIMEOUT: invalid value 'soon' for --idle-timeout") == 0);
  // ... even when a flag overrides it: a broken setting is reported, not hidden.
  REQUIRE_FALSE(parse_daemon_options({"--idle-timeout=5"}, {{"HIBIKI_IDLE_TIMEOUT", "soon"}}).ok());

  // Unknown HIBIKI_ variables are warned about, not fatal; the client's own are ignored; the
  // meta options are not settable from the environment; lower case is not the spelling.
  auto odd = parse_daemon_options({}, {{"HIBIKI_DATADIR", "/x"},
                                       {"HIBIKI_TOKEN", "secret"},
                                       {"HIBIKI_CONFIG", "/home/a/.config/hibiki/token"},
                                       {"HIBIKI_HELP", "1"},
                                       {"HIBIKI_data_dir", "/y"}});
  REQUIRE(odd.ok());
  REQUIRE(odd->data_dir == "./data");
  REQUIRE_FALSE(odd->help);
  REQUIRE(odd->warnings.size() == 3);
  std::string all;
  for (const auto& w : odd->warnings) all += w + "\n";
  REQUIRE(all.find("HIBIKI_DATADIR") != std::string::npos);
  REQUIRE(all.find("HIBIKI_HELP") != std::string::npos);
  REQUIRE(all.find("HIBIKI_data_dir") != std::string::npos);
  REQUIRE(all.find("TOKEN") == std::string::npos);
  REQUIRE(all.find("secret") == std::string::npos);
}

TEST_CASE("hibikid --kafka-config and --kafka-open-timeout", "[cli][options]") {
  const strings kafka{"--journal=kafka", "--kafka-brokers=k:9093"};
  auto with = [&](strings extra) {
    strings a = kafka;
    a.insert(a.end(), extra.begin(), extra.end());
    return a;
  };
  auto d = parse_daemon_options({});
  REQUIRE(d->kafka_config.empty());
  REQUIRE(d->kafka_open_timeout == std::chrono::seconds(120));

  testkit::temp_dir dir;
  auto file = dir.path() / "hibikid.conf";
  testkit::write_file(file,
                      "kafka-config = security.protocol=SASL_SSL\n"
                      "kafka_config = sasl.password = p#ss=word  \n"  // '#' and '=' in a value
                      "kafka-config = ssl.ca.location=/etc/file.pem\n"
                      "kafka-open-timeout = 30\n");
  auto o = parse_daemon_options(
      with({"--config=" + file.string(), "--kafka-config=ssl.ca.location=/etc/flag.pem",
            "--kafka-config", "sasl.mechanism=PLAIN"}),
      {{"HIBIKI_KAFKA_CONFIG", "sasl.username=env\nssl.ca.location=/env"},
       {"HIBIKI_KAFKA_OPEN_TIMEOUT", "45"}});
  REQUIRE(o.ok());
  using kv = std::pair<std::string, std::string>;
  REQUIRE(o->kafka_config == std::vector<kv>{{"security.protocol", "SASL_SSL"},
                                             {"sasl.password", "p#ss=word"},
                                             {"ssl.ca.location", "/etc/flag.pem"},
                                             {"sasl.username", "env"},
                                             {"sasl.mechanism", "PLAIN"}});
  REQUIRE(o->kafka_open_timeout == std::chrono::seconds(45));  // environment > file
  auto storage = to_storage_options(*o);
  REQUIRE(storage.kafka_config == o->kafka_config);
  REQUIRE(storage.kafka_open_timeout == std::chrono::milliseconds(45'000));

  for (const auto& [args, says] : std::vector<std::pair<strings, std::string>>{
           {with({"--kafka-config=transactional.id=x"}), "set by hibiki itself"},
           {with({"--kafka-config=bootstrap.servers=a:1"}), "use --kafka-brokers"},
           {with({"--kafka-config=group.id=mine"}), "set by hibiki itself"},
           {with({"--kafka-config=isolation.level=read_uncommitted"}), "set by hibiki itself"},
           {with({"--kafka-config=enable.idempotence=false"}), "set by hibiki itself"},
           {with({"--kafka-config=session.timeout.ms=1"}), "--cluster-session-timeout"},
           {with({"--kafka-config=novalue"}), "expected KEY=VALUE"},
           {with({"--kafka-config==x"}), "expected KEY=VALUE"},
           {with({"--kafka-config=a b=x"}), "expected KEY=VALUE"},
           {with({"--kafka-config"}), "--kafka-config needs a value"},
           {{"--kafka-config=security.protocol=SSL"}, "add --journal=kafka"},
           {with({"--kafka-open-timeout=0"}), "--kafka-open-timeout"},
           {with({"--kafka-open-timeout=86401"}), "--kafka-open-timeout"},
           {with({"--kafka-open-timeout=2m"}), "--kafka-open-timeout"},
       }) {
    INFO(args.back());
    auto bad = parse_daemon_options(args);
    REQUIRE_FALSE(bad.ok());
    REQUIRE(bad.error().code == errc::bad_request);
    REQUIRE(bad.error().message.find(says) != std::string::npos);
  }
  // From the environment and the file too, with where it came from.
  auto env_bad = parse_daemon_options(kafka, {{"HIBIKI_KAFKA_CONFIG", "ok.key=1\ngroup.id=x"}});
  REQUIRE(env_bad.error().message.find("HIBIKI_KAFKA_CONFIG: --kafka-config") == 0);
  testkit::write_file(file, "# ok\nkafka-config = client.id=me\n");
  auto file_bad = parse_daemon_options(with({"--config=" + file.string()}));
  REQUIRE(file_bad.error().message.find("config line 2: --kafka-config") != std::string::npos);
}

TEST_CASE("librdkafka checks the --kafka-config properties before anything connects",
          "[cli][options]") {
  REQUIRE(persistence::check_kafka_settings({}).ok());
  REQUIRE(persistence::check_kafka_settings(
              {{"security.protocol", "ssl"}, {"socket.timeout.ms", "5000"}})
              .ok());
  auto unknown = persistence::check_kafka_settings({{"no.such.property", "1"}});
  REQUIRE_FALSE(unknown.ok());
  REQUIRE(unknown.error().code == errc::bad_request);
  REQUIRE(unknown.error().message.find("no.such.property") != std::string::npos);
  auto bad_value = persistence::check_kafka_settings({{"security.protocol", "carrier-pigeon"}});
  REQUIRE_FALSE(bad_value.ok());
  REQUIRE(bad_value.error().message.find("security.protocol") != std::string::npos);
  REQUIRE_FALSE(persistence::check_kafka_settings({{"transactional.id", "x"}}).ok());
}

TEST_CASE("hibiki client command lines", "[cli][options]") {
  auto o = parse_client_options(
      {"--server", "ws://example.org:9000", "--token=abc", "send", "12", "hello world"});
  REQUIRE(o.ok());
  REQUIRE(o->server == "ws://example.org:9000");
  REQUIRE(o->token == "abc");
  REQUIRE(o->command == "send");
  REQUIRE(o->args == strings{"12", "hello world"});

  auto d = parse_client_options({"rooms"});
  REQUIRE(d.ok());
  REQUIRE(d->server == "ws://127.0.0.1:8080");
  REQUIRE(d->token.empty());

  REQUIRE(parse_client_options({"create-room", "team", "2", "3"}).ok());
  REQUIRE(parse_client_options({"create-room", "solo"}).ok());
  REQUIRE(parse_client_options({"add-member", "1", "2"}).ok());
  REQUIRE(parse_client_options({"tail", "5"}).ok());
  REQUIRE(parse_client_options({"signup", "alice"}).ok());
  REQUIRE(parse_client_options({"--help"})->help);
}

TEST_CASE("hibiki journal status command lines", "[cli][options]") {
  auto plain = parse_client_options({"journal", "status"});
  REQUIRE(plain.ok());
  REQUIRE(plain->command == "journal");
  REQUIRE(plain->args == strings{"status"});
  REQUIRE(plain->server == "ws://127.0.0.1:8080");
  REQUIRE_FALSE(plain->json);

  auto full =
      parse_client_options({"journal", "status", "--url", "http://127.0.0.1:9000", "--json"});
  REQUIRE(full.ok());
  REQUIRE(full->server == "http://127.0.0.1:9000");
  REQUIRE(full->json);
  REQUIRE(full->args == strings{"status"});

  auto eq = parse_client_options(
      {"--server=ws://127.0.0.1:1", "journal", "status", "--url=http://[::1]:7000"});
  REQUIRE(eq.ok());
  REQUIRE(eq->server == "http://[::1]:7000");  // --url after the command wins
  auto global = parse_client_options({"--server=http://10.1.2.3:8080", "journal", "status"});
  REQUIRE(global.ok());
  REQUIRE(global->server == "http://10.1.2.3:8080");
}

TEST_CASE("hibiki rejects bad journal command lines", "[cli][options]") {
  for (const strings& args : {
           strings{"journal"},
           strings{"journal", "stats"},
           strings{"journal", "status", "extra"},
           strings{"journal", "status", "--url"},
           strings{"journal", "status", "--url", "ftp://host:1"},
           strings{"journal", "status", "--url=http://host:0"},
           strings{"journal", "status", "--url="},
           strings{"journal", "status", "--jsn"},
           strings{"journal", "--json", "status"},
       }) {
    INFO(args.back());
    auto o = parse_client_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE_FALSE(o.error().message.empty());
  }
}

TEST_CASE("hibiki cluster status command lines", "[cli][options]") {
  auto plain = parse_client_options({"cluster", "status"});
  REQUIRE(plain.ok());
  REQUIRE(plain->command == "cluster");
  REQUIRE(plain->args == strings{"status"});
  REQUIRE(plain->server == "ws://127.0.0.1:8080");
  REQUIRE_FALSE(plain->json);
  auto full = parse_client_options({"cluster", "status", "--json", "--url=http://127.0.0.1:8082"});
  REQUIRE(full.ok());
  REQUIRE(full->server == "http://127.0.0.1:8082");
  REQUIRE(full->json);
  REQUIRE(full->args == strings{"status"});
  auto global = parse_client_options({"--server", "http://127.0.0.1:8083", "cluster", "status"});
  REQUIRE(global.ok());
  REQUIRE(global->server == "http://127.0.0.1:8083");
}

TEST_CASE("hibiki rejects bad cluster command lines", "[cli][options]") {
  for (const strings& args : {
           strings{"cluster"},
           strings{"cluster", "nodes"},
           strings{"cluster", "status", "n1"},
           strings{"cluster", "status", "--url"},
           strings{"cluster", "status", "--url", "tcp://127.0.0.1:8081"},
           strings{"cluster", "status", "--url=http://127.0.0.1:99999"},
           strings{"cluster", "status", "--url="},
           strings{"cluster", "--json", "status"},
       }) {
    INFO(args.back());
    auto o = parse_client_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE_FALSE(o.error().message.empty());
  }
  auto usage = parse_client_options({"cluster", "stats"});
  REQUIRE(usage.error().message ==
          "usage: hibiki cluster status [--url URL] [--admin-url URL] [--admin-token-file FILE] "
          "[--ca-file FILE] [--insecure] [--json]");
}

TEST_CASE("hibiki rejects bad command lines", "[cli][options]") {
  for (const strings& args : {
           strings{},
           strings{"frobnicate"},
           strings{"--server=ftp://x", "rooms"},
           strings{"--server=ws://:80", "rooms"},
           strings{"--server=ws://host:0", "rooms"},
           strings{"--colour=red", "rooms"},
           strings{"--token"},
           strings{"send", "1"},
           strings{"send", "room", "hi"},
           strings{"send", "0", "hi"},
           strings{"send", "1", ""},
           strings{"tail"},
           strings{"tail", "9007199254740992"},  // 2^53: above the protocol's ids
           strings{"rooms", "extra"},
           strings{"create-room"},
           strings{"create-room", "team", "x"},
           strings{"add-member", "1"},
           strings{"add-member", "1", "-2"},
           strings{"signup"},
       }) {
    INFO((args.empty() ? std::string("(none)") : args[0]));
    auto o = parse_client_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
  }
}

TEST_CASE("server URLs", "[cli][options]") {
  auto u = parse_server_url("ws://127.0.0.1:8080");
  REQUIRE(u.ok());
  REQUIRE(u->host == "127.0.0.1");
  REQUIRE(u->port == "8080");
  REQUIRE(u->path == "/ws");
  auto h = parse_server_url("http://example.org/custom");
  REQUIRE(h.ok());
  REQUIRE(h->port == "80");
  REQUIRE(h->path == "/custom");
  auto v6 = parse_server_url("ws://[::1]:7000/");
  REQUIRE(v6.ok());
  REQUIRE(v6->host == "::1");
  REQUIRE(v6->port == "7000");
  REQUIRE_FALSE(u->tls);
  REQUIRE_FALSE(h->tls);
  // wss:// and https:// are the same server over TLS, on port 443 unless the URL names one.
  auto s = parse_server_url("wss://example.org");
  REQUIRE(s.ok());
  REQUIRE(s->tls);
  REQUIRE(s->host == "example.org");
  REQUIRE(s->port == "443");
  REQUIRE(s->path == "/ws");
  auto hs = parse_server_url("https://[::1]:8443");
  REQUIRE(hs.ok());
  REQUIRE(hs->tls);
  REQUIRE(hs->host == "::1");
  REQUIRE(hs->port == "8443");
  REQUIRE_FALSE(parse_server_url("wss://").ok());
  REQUIRE_FALSE(parse_server_url("https://host:0").ok());
  REQUIRE_FALSE(parse_server_url("ftp://example.org").ok());
  REQUIRE_FALSE(parse_server_url("example.org:80").ok());
  REQUIRE_FALSE(parse_server_url("ws://host:port").ok());
}

TEST_CASE("hibiki TLS trust options: --ca-file and --insecure", "[cli][options][tls]") {
  auto defaults = parse_client_options({"rooms"});
  REQUIRE(defaults.ok());
  REQUIRE(defaults->tls.ca_file.empty());
  REQUIRE_FALSE(defaults->tls.insecure);
  // Before the command (every command) ...
  auto global = parse_client_options(
      {"--ca-file", "/etc/ca.pem", "--insecure", "--server=wss://h:1", "send", "1", "hi"});
  REQUIRE(global.ok());
  REQUIRE(global->tls.ca_file == "/etc/ca.pem");
  REQUIRE(global->tls.insecure);
  REQUIRE(global->args == strings{"1", "hi"});
  // ... and after an operator command's words, like --url.
  auto op = parse_client_options(
      {"admin", "create-account", "ann", "--url=https://h:1", "--ca-file=ca.pem", "--insecure"});
  REQUIRE(op.ok());
  REQUIRE(op->args == strings{"create-account", "ann"});
  REQUIRE(op->tls.ca_file == "ca.pem");
  REQUIRE(op->tls.insecure);
  REQUIRE(op->server == "https://h:1");
  for (const auto& args : {
           strings{"--ca-file", "rooms"},  // takes "rooms" as the file: no command left
           strings{"--ca-file="},
           strings{"--ca-file=", "rooms"},
           strings{"journal", "status", "--ca-file"},
           strings{"journal", "status", "--ca-file="},
           strings{"--insecure=yes", "rooms"},
       }) {
    INFO(args[0]);
    auto o = parse_client_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
  }
}

TEST_CASE("token file location", "[cli][options]") {
  ::setenv("HIBIKI_CONFIG", "/tmp/x/token", 1);
  REQUIRE(token_file_path() == "/tmp/x/token");
  ::unsetenv("HIBIKI_CONFIG");
  ::setenv("HOME", "/home/someone", 1);
  REQUIRE(token_file_path() == "/home/someone/.config/hibiki/token");
}

TEST_CASE("hibikid --metrics: on by default, false turns it off, anything else is refused",
          "[cli][options][metrics]") {
  REQUIRE(parse_daemon_options({})->metrics);
  REQUIRE_FALSE(parse_daemon_options({"--metrics=false"})->metrics);
  REQUIRE(parse_daemon_options({"--metrics=true"})->metrics);
  REQUIRE_FALSE(parse_daemon_options({}, {{"HIBIKI_METRICS", "false"}})->metrics);
  for (const char* bad : {"--metrics=no", "--metrics=", "--metrics=1"}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r);
    REQUIRE(r.error().message.find("--metrics") != std::string::npos);
  }
}
TEST_CASE("hibikid --search and --search-language", "[cli][options][search]") {
  auto d = parse_daemon_options({"--data-dir=/var/lib/hibiki"});
  REQUIRE(d.ok());
  CHECK(d->search);
  CHECK(to_search_options(*d).language == "english");
  CHECK(search_directory(*d) == "/var/lib/hibiki/search");
  auto off = parse_daemon_options({"--search=off", "--search-language=none"});
  REQUIRE(off.ok());
  CHECK_FALSE(off->search);
  CHECK(to_search_options(*off).language == "none");
  CHECK(parse_daemon_options({}, {{"HIBIKI_SEARCH_LANGUAGE", "german"}})->search_language ==
        "german");
  for (const char* bad : {"--search=true", "--search=", "--search=OFF",
                          "--search-language=", "--search-language=English",
                          "--search-language=en-us", "--search-language=../x"}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
  }
}

TEST_CASE("hibiki operator options and admin command lines", "[cli][options][admin]") {
  auto status = parse_client_options({"journal", "status", "--admin-url", "http://127.0.0.1:9001",
                                      "--admin-token-file=/etc/hibiki/admin-token"});
  REQUIRE(status.ok());
  REQUIRE(status->admin_url == "http://127.0.0.1:9001");
  REQUIRE(status->admin_token_file == "/etc/hibiki/admin-token");
  REQUIRE(operator_url(*status) == "http://127.0.0.1:9001");
  auto global = parse_client_options(
      {"--admin-token-file", "tok", "--server=ws://10.0.0.1:8080", "cluster", "status"});
  REQUIRE(global.ok());
  REQUIRE(global->admin_token_file == "tok");
  REQUIRE(operator_url(*global) == "ws://10.0.0.1:8080");

  auto create = parse_client_options({"admin", "create-account", "alice"});
  REQUIRE(create.ok());
  REQUIRE(create->command == "admin");
  REQUIRE(create->args == strings{"create-account", "alice"});
  auto rename = parse_client_options({"admin", "rename", "7", "Alice L", "--json"});
  REQUIRE(rename.ok());
  REQUIRE(rename->args == strings{"rename", "7", "Alice L"});
  REQUIRE(rename->json);
  for (const char* action :
       {"disable-account", "enable-account", "revoke-tokens", "create-token"}) {
    INFO(action);
    auto o = parse_client_options({"admin", action, "42", "--admin-url=http://[::1]:9"});
    REQUIRE(o.ok());
    REQUIRE(o->args == strings{action, "42"});
    REQUIRE(o->admin_url == "http://[::1]:9");
  }
  REQUIRE(parse_client_options({"--version"})->version);
}

TEST_CASE("hibiki rejects bad admin command lines", "[cli][options][admin]") {
  for (const strings& args : {
           strings{"admin"},
           strings{"admin", "promote", "1"},
           strings{"admin", "create-account"},
           strings{"admin", "create-account", "a", "b"},
           strings{"admin", "disable-account"},
           strings{"admin", "disable-account", "0"},
           strings{"admin", "disable-account", "x"},
           strings{"admin", "disable-account", "9007199254740992"},
           strings{"admin", "rename", "1"},
           strings{"admin", "rename", "one", "x"},
           strings{"admin", "--json", "disable-account", "1"},
           strings{"admin", "disable-account", "1", "--admin-url"},
           strings{"admin", "disable-account", "1", "--admin-url=ftp://x:1"},
           strings{"admin", "disable-account", "1", "--admin-token-file="},
           strings{"admin", "disable-account", "1", "--token=x"},
           strings{"--admin-url=nope", "journal", "status"},
           strings{"--admin-token-file=", "journal", "status"},
       }) {
    INFO(args.size());
    auto o = parse_client_options(args);
    REQUIRE_FALSE(o.ok());
    REQUIRE(o.error().code == errc::bad_request);
    REQUIRE_FALSE(o.error().message.empty());
  }
}

TEST_CASE("hibikid admin flags", "[cli][options][admin]") {
  auto o = parse_daemon_options({"--admin-http=127.0.0.1:9001", "--admin-token-file=/run/tok"});
  REQUIRE(o.ok());
  REQUIRE(o->admin_http_host == "127.0.0.1");
  REQUIRE(o->admin_http_port == 9001);
  REQUIRE(o->admin_token_file == "/run/tok");
  auto g = to_gateway_options(*o);
  REQUIRE(g.admin_host == "127.0.0.1");
  REQUIRE(g.admin_port == 9001);
  REQUIRE(g.admin_token.empty());  // hibikid reads the file itself (load_admin_token)
  auto defaults = parse_daemon_options({});
  REQUIRE(defaults->admin_http_host.empty());
  REQUIRE(defaults->admin_token_file.empty());
  for (const strings& args :
       {strings{"--admin-http=nohostport"}, strings{"--admin-http=:80"},
        strings{"--admin-http=1.2.3.4:70000"}, strings{"--admin-token-file="}}) {
    INFO(args[0]);
    auto bad = parse_daemon_options(args);
    REQUIRE_FALSE(bad.ok());
    REQUIRE(bad.error().message.find("--admin-") != std::string::npos);
  }
}

TEST_CASE("the admin token file must be its owner's alone and hold a token", "[cli][admin]") {
  testkit::temp_dir dir;
  const auto path = (dir.path() / "admin-token").string();
  auto write = [&](const std::string& text, mode_t mode) {
    std::filesystem::remove(path);  // it may be read-only from the step before
    testkit::write_file(path, text);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  };
  write("  s3cret\n", 0600);
  auto ok = load_admin_token(path);
  REQUIRE(ok.ok());
  REQUIRE(*ok == "s3cret");
  write("s3cret", 0400);
  REQUIRE(load_admin_token(path).ok());
  for (mode_t mode : {0644, 0640, 0604, 0620, 0602}) {
    INFO(mode);
    write("s3cret\n", mode);
    auto r = load_admin_token(path);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == errc::bad_request);
    REQUIRE(r.error().message.find("chmod 600") != std::string::npos);
  }
  for (const char* text : {"", "\n", "  \n\t\n", "two words\n"}) {
    INFO(text);
    write(text, 0600);
    REQUIRE_FALSE(load_admin_token(path).ok());
  }
  auto missing = load_admin_token((dir.path() / "none").string());
  REQUIRE_FALSE(missing.ok());
  REQUIRE(missing.error().message.find("cannot open") != std::string::npos);
  auto directory = load_admin_token(dir.path().string());
  REQUIRE_FALSE(directory.ok());
}

TEST_CASE("hibikid file store flags: --public-url and the S3 options", "[cli][options][files]") {
  auto d = parse_daemon_options({});
  REQUIRE(d.ok());
  CHECK(d->public_url.empty());
  CHECK(d->s3_endpoint.empty());
  CHECK(d->s3_region == "us-east-1");
  CHECK(d->s3_bucket == "hibiki");
  CHECK(d->s3_path_style);
  CHECK(d->max_file_size == 100ull * 1024 * 1024);
  auto defaults = to_object_store_options(*d);
  CHECK(defaults.s3.endpoint.empty());
  CHECK(defaults.directory == "./data/files");

  auto o = parse_daemon_options({"--public-url=https://chat.example.com", "--data-dir=/var/h",
                                 "--s3-endpoint=https://s3.eu-west-3.amazonaws.com",
                                 "--s3-region=eu-west-3", "--s3-bucket=my.files-1",
                                 "--s3-path-style=false", "--max-file-size=5242880",
                                 "--s3-credentials-file=/etc/hibiki/s3"});
  REQUIRE(o.ok());
  auto s = to_object_store_options(*o);
  CHECK(s.directory == "/var/h/files");
  CHECK(s.public_url == "https://chat.example.com");
  CHECK(s.s3.endpoint == "https://s3.eu-west-3.amazonaws.com");
  CHECK(s.s3.region == "eu-west-3");
  CHECK(s.s3.bucket == "my.files-1");
  CHECK_FALSE(s.s3.path_style);
  CHECK(s.s3.credentials.secret_key.empty());  // never carried by the options
  CHECK(o->max_file_size == 5242880);

  // The upload window and the pending cap reach the node.
  CHECK(d->upload_window == std::chrono::seconds{900});
  CHECK(d->max_pending_uploads == 100);
  CHECK(to_node_options(*d).upload_window == std::chrono::seconds{900});
  auto w = parse_daemon_options({"--upload-window=10", "--max-pending-uploads=7"});
  REQUIRE(w.ok());
  CHECK(to_node_options(*w).upload_window == std::chrono::seconds{10});
  CHECK(to_node_options(*w).max_pending_uploads == 7);
  CHECK(parse_daemon_options({"--upload-window=604800"}).ok());

  for (const auto& bad :
       strings{"--public-url=ftp://x", "--public-url=http://h/path", "--public-url=h:8080",
               "--s3-endpoint=s3.example.com", "--s3-endpoint=http://h/b", "--s3-bucket=Up",
               "--s3-bucket=ab", "--s3-bucket=-abc", "--s3-region=", "--s3-region=EU",
               "--s3-path-style=yes", "--max-file-size=0", "--max-file-size=-1",
               "--s3-credentials-file=", "--upload-window=9", "--upload-window=604801",
               "--max-pending-uploads=0", "--max-pending-uploads=100001"}) {
    INFO(bad);
    auto r = parse_daemon_options({bad});
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
  }
  // A credentials file without an endpoint would be silently unused.
  CHECK_FALSE(parse_daemon_options({"--s3-credentials-file=/x"}).ok());
}

TEST_CASE("S3 credentials come from the environment or a private file and never warn",
          "[cli][options][files]") {
  // The two secrets are not options: no flag, no warning about unknown variables.
  auto o = parse_daemon_options({"--s3-endpoint=http://127.0.0.1:9000"},
                                {{"HIBIKI_S3_ACCESS_KEY", "AK"}, {"HIBIKI_S3_SECRET_KEY", "SK"}});
  REQUIRE(o.ok());
  CHECK(o->warnings.empty());
  CHECK_FALSE(parse_daemon_options({"--s3-access-key=AK"}).ok());
  CHECK_FALSE(parse_daemon_options({"--s3-secret-key=SK"}).ok());

  auto env =
      load_s3_credentials(*o, {{"HIBIKI_S3_ACCESS_KEY", "AK"}, {"HIBIKI_S3_SECRET_KEY", "SK"}});
  REQUIRE(env.ok());
  CHECK(env->access_key == "AK");
  CHECK(env->secret_key == "SK");
  auto missing = load_s3_credentials(*o, {{"HIBIKI_S3_ACCESS_KEY", "AK"}});
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().message.find("HIBIKI_S3_SECRET_KEY") != std::string::npos);
  // Without an endpoint nothing is needed.
  CHECK(load_s3_credentials(*parse_daemon_options({}), {}).ok());

  testkit::temp_dir dir;
  const auto path = (dir.path() / "s3").string();
  auto write = [&](const std::string& text, mode_t mode) {
    std::filesystem::remove(path);
    testkit::write_file(path, text);
    REQUIRE(::chmod(path.c_str(), mode) == 0);
  };
  auto with_file = parse_daemon_options(
      {"--s3-endpoint=http://127.0.0.1:9000", "--s3-credentials-file=" + path});
  REQUIRE(with_file.ok());
  write("# MinIO\naccess_key = hibiki-dev\nsecret_key =  s3cr3t/+= \n", 0600);
  auto file = load_s3_credentials(*with_file, {{"HIBIKI_S3_ACCESS_KEY", "ignored"}});
  REQUIRE(file.ok());
  CHECK(file->access_key == "hibiki-dev");
  CHECK(file->secret_key == "s3cr3t/+=");
  write("access_key = a\nsecret_key = b\n", 0644);
  auto shared = load_s3_credentials(*with_file, {});
  REQUIRE_FALSE(shared.ok());
  CHECK(shared.error().message.find("chmod 600") != std::string::npos);
  for (const char* text : {"", "access_key = a\n", "secret_key = b\n", "token = x\n"}) {
    INFO(text);
    write(text, 0600);
    auto r = load_s3_credentials(*with_file, {});
    REQUIRE_FALSE(r.ok());
    // The message never repeats the file's content.
    CHECK(r.error().message.find("= x") == std::string::npos);
  }
}

TEST_CASE("hibikid --kafka-producers", "[cli][options]") {
  const strings kafka{"--journal=kafka", "--kafka-brokers=k:9093"};
  auto d = parse_daemon_options(kafka);
  REQUIRE(d.ok());
  REQUIRE_FALSE(d->kafka_producer_per_partition);
  REQUIRE_FALSE(to_storage_options(*d).kafka_producer_per_partition);

  auto per_partition = parse_daemon_options(
      {"--journal=kafka", "--kafka-brokers=k:9093", "--kafka-producers=partition"});
  REQUIRE(per_partition.ok());
  REQUIRE(per_partition->kafka_producer_per_partition);
  REQUIRE(to_storage_options(*per_partition).kafka_producer_per_partition);
  auto from_env = parse_daemon_options(kafka, {{"HIBIKI_KAFKA_PRODUCERS", "partition"}});
  REQUIRE(from_env.ok());
  REQUIRE(from_env->kafka_producer_per_partition);
  auto node =
      parse_daemon_options({"--journal=kafka", "--kafka-brokers=k:9093", "--kafka-producers=node"});
  REQUIRE(node.ok());
  REQUIRE_FALSE(node->kafka_producer_per_partition);

  for (const char* value : {"--kafka-producers=", "--kafka-producers=nodes",
                            "--kafka-producers=Partition", "--kafka-producers=16"}) {
    INFO(value);
    auto bad = parse_daemon_options({"--journal=kafka", "--kafka-brokers=k:9093", value});
    REQUIRE_FALSE(bad.ok());
    REQUIRE(bad.error().code == errc::bad_request);
    REQUIRE(bad.error().message.find("--kafka-producers") != std::string::npos);
  }
}
