// hibikid: one hibiki node, and the one place where its parts are wired together: parses the
// options, opens the storage (persistence::open_backend), starts the node (actors) on it, then the
// gateway, prints the line tests and scripts wait for, reloads on SIGHUP (log files reopened, the
// TLS certificate read again), and on SIGTERM/SIGINT stops in reverse order.

#include <pthread.h>
#include <sys/resource.h>
#include <csignal>
#include <cstdio>
#include <iostream>

#include "hibiki/cli/daemon_options.hpp"
#include "hibiki/cli/log_files.hpp"
#include "hibiki/core/log.hpp"
#include "hibiki/gateway/server.hpp"
#include "hibiki/metrics/registry.hpp"
#include "hibiki/persistence/kafka_settings.hpp"
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
  pthread_sigmask(SIG_BLOCK, &signals, nullptr);
  std::signal(SIGPIPE, SIG_IGN);

  // Every connection is a file descriptor: take the whole hard limit (shells often start at a soft
  // 1024), and say so when even that is below the connection cap.
  if (rlimit files{}; getrlimit(RLIMIT_NOFILE, &files) == 0) {
    if (files.rlim_cur < files.rlim_max) {
      files.rlim_cur = files.rlim_max;
      setrlimit(RLIMIT_NOFILE, &files);
    }
    getrlimit(RLIMIT_NOFILE, &files);
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

  // The wiring: options -> storage -> node -> gateway; stopped in the reverse order.
  // One registry for every layer (metrics/README.md); none at all with --metrics=false.
  auto metrics = options.metrics ? metrics::registry::create() : nullptr;
  auto storage = cli::to_storage_options(options);
  storage.metrics = metrics;
  if (storage.journal == persistence::journal_kind::kafka) {
    // Opening fences every partition and reads the topic into the local index first: say so, as
    // it can take a while (the backend logs its progress; --kafka-open-timeout bounds it).
    say("opening the journal (" + persistence::describe_journal(storage) + ")");
  }
  auto backend = persistence::open_backend(storage);
  if (!backend) {
    fail("cannot open the journal: " + backend.error().message);
    return 1;
  }
  auto node_options = cli::to_node_options(options);
  node_options.metrics = metrics;
  auto node = actors::node::start(std::move(*backend), node_options);
  if (!node) {
    fail("cannot start the node: " + node.error().message);
    return 1;
  }
  gateway_options.metrics = metrics;
  auto gateway = gateway::server::start(*node.value(), gateway_options);
  if (!gateway) {
    fail(gateway.error().message);
    node.value()->stop();
    // bad_request = the flags (a TLS file, a proxy block): a usage error like the parser's.
    return gateway.error().code == errc::bad_request ? 2 : 1;
  }
  auto host = gateway.value()->host();
  if (host.find(':') != std::string::npos) host = "[" + host + "]";
  say(std::string("serving ") + (gateway.value()->tls() ? "https://" : "http://") + host + ":" +
      std::to_string(gateway.value()->port()) + " (data dir " + options.data_dir + ", journal " +
      cli::journal_description(options) + ")");
  if (auto cluster = cli::cluster_description(options); !cluster.empty())
    say("clustered (" + cluster + ")");
  if (!gateway.value()->open_signup()) say("open sign-up is off");
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

  int sig = 0;
  while (sigwait(&signals, &sig) == 0 && sig == SIGHUP) {
    cli::notify_service_manager("RELOADING=1\nSTATUS=reloading");
    // Reload: the log files reopened by name (after an outside rotation), and the client TLS
    // certificate (new handshakes use it; open connections keep theirs).
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
