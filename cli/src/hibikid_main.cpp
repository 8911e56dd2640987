// hibikid: one hibiki node, and the one place where its parts are wired together: parses the
// options, starts the gateway's listeners (health and readiness only), opens the storage
// (persistence::open_backend) on a thread of its own while /readyz reports how far it got, starts
// the node (actors) on it and hands it to the gateway, prints the lines tests and scripts wait
// for, reloads on SIGHUP (log files reopened, the TLS certificate read again), and on
// SIGTERM/SIGINT stops in reverse order (during the open: cancels it).

#include <pthread.h>
#include <sys/resource.h>
#include <atomic>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <optional>
#include <thread>

#include "hibiki/cli/daemon_options.hpp"
#include "hibiki/cli/log_files.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/gateway/server.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/directory_store.hpp"
#include "hibiki/persistence/kafka_settings.hpp"
#include "hibiki/persistence/open_progress.hpp"
#include "hibiki/persistence/search_index.hpp"
#include "hibiki/persistence/storage.hpp"
#include "service_notify.hpp"

#ifndef HIBIKI_VERSION
#define HIBIKI_VERSION "unknown"
#endif

int main(int argc, char** argv) {
  using namespace hibiki;
  std::vector<std::string> args(argv + 1, argv + argc);
  auto parsed = cli::parse_daemon_options(args, cli::process_environment());
  if (!parsed) {
    std::cerr << "hibikid: " << parsed.error().message << "\n"
              << "Try 'hibikid --help'.\n";
    return 2;
  }
  const auto& options = *parsed;
  if (options.help) {
    std::cout << cli::daemon_usage();
    return 0;
  }
  if (options.version) {
    std::cout << "hibikid " << HIBIKI_VERSION << "\n";
    return 0;
  }
  for (const auto& warning : options.warnings) std::cerr << "hibikid: " << warning << "\n";
  if (!options.kafka_config.empty()) {
    // librdkafka's own check of the properties (unknown key, bad value): a usage error, reported
    // before anything connects.
    if (auto st = persistence::check_kafka_settings(options.kafka_config); !st) {
      std::cerr << "hibikid: --kafka-config: " << st.error().message << "\n";
      return 2;
    }
  }

  // The cluster port's certificates are read and checked before anything opens: a wrong file is
  // a configuration error (exit 2), found at once rather than after the journal's catch-up.
  auto cluster_tls = actors::check_cluster_security(cli::to_node_options(options));
  if (!cluster_tls) {
    std::cerr << "hibikid: " << cluster_tls.error().message << "\n";
    return 2;
  }
  for (const auto& warning : *cluster_tls) std::cerr << "hibikid: WARNING: " << warning << "\n";

  // The admin token is read (and its file checked) before anything is opened.
  auto gateway_options = cli::to_gateway_options(options);
  if (!options.admin_token_file.empty()) {
    auto token = cli::load_admin_token(options.admin_token_file);
    if (!token) {
      std::cerr << "hibikid: " << token.error().message << "\n";
      return 2;
    }
    gateway_options.admin_token = std::move(*token);
  }

  // The logs first: a log file that cannot be written is an error now, not a silent loss later.
  auto log_sink = cli::open_log_sink(options.logs);
  if (!log_sink) {
    std::cerr << "hibikid: " << log_sink.error().message << "\n";
    return 1;
  }
  log::install(*log_sink, cli::log_thresholds(options.logs));
  // A start failure is said on stderr (whoever started hibikid is looking there), and in the app
  // log too when that is a file.
  const bool app_log_on_stderr =
      cli::resolve_log_targets(options.logs).app.where == cli::log_target::kind::standard_error;
  auto fail = [&](const std::string& message) {
    std::cerr << "hibikid: " << message << "\n";
    if (!app_log_on_stderr) log::error("hibikid") << message;
  };

  // Block the signals in every thread (threads inherit the mask), and take them in main with
  // sigwait: no async-signal-safety puzzles, and no thread is killed mid-write. SIGHUP is blocked
  // from here too, so one that arrives while the node starts waits for the loop below.
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGHUP);
  // SIGUSR1 is how the thread that opens the journal wakes main when it is done.
  sigset_t opening_signals = signals;
  sigaddset(&opening_signals, SIGUSR1);
  pthread_sigmask(SIG_BLOCK, &opening_signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Every connection is a file descriptor: take the whole hard limit (shells often start at a soft
  // 1024), and say so when even that is below the connection cap.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    getrlimit(RLIMIT_NOFILE, &files);
    log::info("hibikid") << "open-file limit " << files.rlim_cur;
    if (files.rlim_cur != RLIM_INFINITY && options.edge.max_connections != 0 &&
        files.rlim_cur < options.edge.max_connections + 256) {
      log::warn("hibikid") << "the open-file limit (" << files.rlim_cur
                           << ") is below --max-connections=" << options.edge.max_connections
                           << " plus what storage needs: connections past it wait until "
                              "descriptors free up (raise LimitNOFILE / ulimit -n, or lower "
                              "--max-connections)";
    }
  }

  // The lines scripts and tests wait for: on stdout as they always were, and in the app log.
  auto say = [](const std::string& text) {
    std::cout << "hibikid: " << text << std::endl;
    log::info("hibikid") << text;
  };

  // The wiring: gateway listeners -> storage -> node -> gateway serving it; stopped in the
  // reverse order. One registry for every layer (metrics/README.md); none with --metrics=false.
  auto metrics = options.metrics ? metrics::registry::create() : nullptr;
  auto storage = cli::to_storage_options(options);
  storage.metrics = metrics;
  // How far the open got, for /readyz while it runs; and how SIGTERM cancels it.
  auto opening = std::make_shared<persistence::open_progress>();
  opening->set_step("opening the journal (" + persistence::describe_journal(storage) + ")");
  storage.progress = opening;

  // The listeners first, so an orchestrator's probes get "alive, not ready: catching up" during a
  // long Kafka catch-up rather than "connection refused"; the same listeners serve everything
  // once the node is attached (no port gap).
  gateway_options.metrics = metrics;
  // Where shared files' bytes live. The gateway takes it before it starts: the directory store's
  // signed URLs are served on its listener (/files/).
  auto object_options = cli::to_object_store_options(options);
  auto s3_credentials = cli::load_s3_credentials(options, cli::process_environment());
  if (!s3_credentials) {
    fail(s3_credentials.error().message);
    return 2;
  }
  object_options.s3.credentials = std::move(*s3_credentials);
  // A cluster keeps files only in an S3-compatible store: the directory store is one node's
  // disk, so a file uploaded through one node could not be downloaded through another, and no
  // other node's sweeper could remove it. Clustered without --s3-endpoint, files are off (their
  // ops answer `unavailable`) rather than half-working; chat is not affected.
  const bool files_off = !options.cluster_listen.empty() && options.s3_endpoint.empty();
  result<std::shared_ptr<persistence::object_store>> objects{
      std::shared_ptr<persistence::object_store>{}};
  if (files_off) {
    log::warn("hibikid") << "clustered without --s3-endpoint: shared files are off (request_upload "
                            "and the other file ops answer unavailable); a cluster needs an "
                            "S3-compatible store, each node's directory is its own";
  } else {
    objects = persistence::open_object_store(object_options);
  }
  if (!objects) {
    fail("cannot open the file store (" + persistence::describe_object_store(object_options) +
         "): " + objects.error().message);
    return objects.error().code == errc::bad_request ? 2 : 1;
  }
  gateway_options.objects = *objects;
  auto gateway =
      gateway::server::start_before_node(gateway_options, [opening] { return opening->pending(); });
  if (!gateway) {
    fail(gateway.error().message);
    // bad_request = the flags (a TLS file, a proxy block): a usage error like the parser's.
    return gateway.error().code == errc::bad_request ? 2 : 1;
  }
  auto host = gateway.value()->host();
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  const std::string url = std::string(gateway.value()->tls() ? "https://" : "http://") + host +
                          ":" + std::to_string(gateway.value()->port());
  // The directory store signs URLs for this listener unless --public-url says how clients reach
  // it; a wildcard address is no address a client can use, so loopback stands in for it.
  if (auto files = std::dynamic_pointer_cast<persistence::directory_store>(*objects);
      files && options.public_url.empty()) {
    const bool wildcard = host == "0.0.0.0" || host == "[::]";
    const std::string files_url =
        wildcard ? std::string(gateway.value()->tls() ? "https://" : "http://") +
                       "127.0.0.1:" + std::to_string(gateway.value()->port())
                 : url;
    if (wildcard) {
      log::warn("hibikid") << "file URLs point at " << files_url
                           << " (listening on a wildcard address): set --public-url to the "
                              "address clients reach this node at";
    }
    if (auto st = files->set_public_url(files_url); !st) {
      fail("the file store's URL: " + st.error().message);
      gateway.value()->stop();
      return 1;
    }
  }
  // Reload on SIGHUP: the log files reopened by name (after an outside rotation), and the client
  // TLS certificate (new handshakes use it; open connections keep theirs).
  auto reload = [&] {
    log::info("hibikid") << "SIGHUP: reopening the log files";
    log::reopen();
    if (gateway.value()->tls()) {
      auto reloaded = gateway.value()->reload_tls();
      if (reloaded)
        say("SIGHUP: TLS certificate reloaded (sha256 " + *reloaded + ")");
      else
        fail("SIGHUP: TLS certificate NOT reloaded, still serving the previous one: " +
             reloaded.error().message);
    }
  };

  // Opening fences every partition and reads the topic into the local index first (Kafka): it
  // can take minutes (the backend logs its progress every 5 s; --kafka-open-timeout bounds it).
  // It runs on its own thread so main keeps taking signals: SIGTERM cancels it, SIGHUP reloads.
  // The first line a Kafka node prints, as before; the embedded journal opens at once and says
  // nothing until it serves.
  if (storage.journal == persistence::journal_kind::kafka) {
    say("opening the journal (" + persistence::describe_journal(storage) + "); listening on " +
        url + " meanwhile (/readyz says how far it got)");
  }
  cli::notify_service_manager("STATUS=opening the journal");
  std::optional<result<std::unique_ptr<persistence::backend>>> opened;
  std::atomic<bool> open_done{false};
  const pthread_t main_thread = pthread_self();
  std::thread opener([&] {
    opened.emplace(persistence::open_backend(storage));
    open_done = true;
    pthread_kill(main_thread, SIGUSR1);
  });
  int sig = 0;
  int stop_signal = 0;
  while (!open_done && sigwait(&opening_signals, &sig) == 0) {
    if (sig == SIGHUP) {
      reload();
    } else if ((sig == SIGTERM || sig == SIGINT) && stop_signal == 0) {
      stop_signal = sig;
      say(std::string("stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") +
          "): cancelling the journal's open");
      opening->cancel();
    }
  }
  opener.join();
  auto backend = std::move(*opened);
  if (stop_signal != 0) {
    // Asked to stop while opening: whatever the open's outcome, stop now (a backend that opened
    // anyway closes here, before the gateway).
    cli::notify_service_manager("STOPPING=1\nSTATUS=stopping");
    if (backend) backend.value()->close();
    gateway.value()->stop();
    log::info("hibikid") << "stopped";
    return 0;
  }
  if (!backend) {
    fail("cannot open the journal: " + backend.error().message);
    gateway.value()->stop();
    return 1;
  }
  // The search index: opened here like the backend, kept up to date by the node's projection
  // runner, read by the node's sessions.
  std::shared_ptr<persistence::search_index> search;
  if (options.search) {
    opening->set_step("opening the search index");
    auto index = persistence::search_index::open(cli::search_directory(options),
                                                 cli::to_search_options(options));
    if (!index) {
      fail("cannot open the search index in " + cli::search_directory(options) + ": " +
           index.error().message);
      backend.value()->close();
      gateway.value()->stop();
      return index.error().code == errc::bad_request ? 2 : 1;
    }
    search = std::move(*index);
  }
  opening->set_step("starting the node");
  auto node_options = cli::to_node_options(options);
  node_options.search = search;
  // The node signs the file store's URLs and checks its objects (the same store the gateway
  // serves when it is the directory store).
  node_options.objects = *objects;
  node_options.metrics = metrics;
  node_options.webhooks.metrics = metrics;
  auto node = actors::node::start(std::move(*backend), node_options);
  if (!node) {
    fail("cannot start the node: " + node.error().message);
    gateway.value()->stop();
    return 1;
  }
  // Fully started: from the next request on the gateway serves the node.
  gateway.value()->attach(*node.value());
  say("serving " + url + " (data dir " + options.data_dir + ", journal " +
      cli::journal_description(options) + ")");
  say(files_off ? std::string("files are off (clustered without --s3-endpoint)")
                : "files in " + persistence::describe_object_store(object_options));
  if (auto cluster = cli::cluster_description(options); !cluster.empty())
    say("clustered (" + cluster + ")");
  if (!gateway.value()->open_signup()) say("open sign-up is off");
  if (options.webhooks && options.webhook_allow_private) {
    say("webhooks may target private and loopback addresses (--webhook-allow-private)");
  }
  if (auto admin_port = gateway.value()->admin_port(); admin_port != 0) {
    auto admin_host = options.admin_http_host;
    if (admin_host.find(':') != std::string::npos) admin_host = "[" + admin_host + "]";
    say(std::string("admin listener on ") + (gateway.value()->tls() ? "https" : "http") + "://" +
        admin_host + ":" + std::to_string(admin_port) +
        (gateway_options.admin_token.empty() ? "" : " (admin token required)"));
  } else if (gateway_options.admin_token.empty()) {
    say("operator endpoints are off (no --admin-token-file or --admin-http)");
  }

  // Under systemd (Type=notify) the unit is "started" from here on, not from the exec.
  if (!cli::notify_service_manager("READY=1\nSTATUS=serving"))
    log::warn("hibikid") << "could not notify the service manager (READY=1)";

  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    cli::notify_service_manager("RELOADING=1\nSTATUS=reloading");
    reload();
    cli::notify_service_manager("READY=1\nSTATUS=serving");
  }
  say(std::string("stopping (") + (sig == SIGINT ? "SIGINT" : "SIGTERM") + ")");
  cli::notify_service_manager("STOPPING=1\nSTATUS=stopping");

  // Reverse order. The gateway goes first: it stops accepting and closes every WebSocket with
  // 1001 after the frames already queued for it, so each session actor sees on_closed and ends.
  // Then the node finishes in-flight writes (they stay durable; a client whose reply was cut off
  // retries with the same client_msg_id) and closes storage. The other order would deadlock:
  // node.stop() waits for the session actors, which live as long as their connections.
  gateway.value()->stop();
  node.value()->stop();
  log::info("hibikid") << "stopped";
  return 0;
}
