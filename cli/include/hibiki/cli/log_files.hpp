#pragma once
/// hibikid's three logs on disk: where each goes (from the --log-* flags), and the sink that
/// writes them with spdlog (rotating files, reopened by name on SIGHUP). The facade every layer
/// writes to is core's hibiki/core/log.hpp; this is its only spdlog implementation.

#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>

#include "hibiki/core/log.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::cli {

struct log_options {
  /// --log-dir=DIR: app.log, access.log and audit.log in DIR (created when missing).
  /// Default: empty = the app log on stderr, no access or audit log
  std::string dir;
  /// --log-level=trace|debug|info|warn|error: the lowest app level written. Default: info
  log::level level = log::level::info;
  /// --app-log=FILE|-: the app log's file, or "-" for stderr.
  /// Default: empty = DIR/app.log with --log-dir, else stderr
  std::string app_file;
  /// --access-log=FILE|-|off. Default: empty = DIR/access.log with --log-dir, else off
  std::string access_file;
  /// --audit-log=FILE|-|off. Default: empty = DIR/audit.log with --log-dir, else off
  std::string audit_file;
  /// --log-max-size=BYTES: a file reaching this size is rotated (FILE → FILE.1 ...); 0 = never
  /// (rotate from outside, then SIGHUP). Default: 104857600 (100 MiB)
  std::uint64_t max_size = 100ull * 1024 * 1024;
  /// --log-max-files=N (1..1000): rotated files kept per log besides the current one. Default: 5
  std::size_t max_files = 5;

  friend bool operator==(const log_options&, const log_options&) = default;
};

/// True for the keys of log_options' flags: "log-dir", "log-level", "app-log", "access-log",
/// "audit-log", "log-max-size", "log-max-files".
bool is_log_option(std::string_view key);

/// Applies one of those options. Errors: bad_request naming the flag and what it expects (also
/// for a key that is not a log option).
status apply_log_option(std::string_view key, std::string_view value, log_options& options);

/// Where one log goes.
struct log_target {
  enum class kind { off, standard_error, file };
  kind where = kind::off;
  std::string path;  ///< for kind::file

  friend bool operator==(const log_target&, const log_target&) = default;
};

/// The three targets the options resolve to (see log_options for the rules).
struct log_targets {
  log_target app, access, audit;
};
log_targets resolve_log_targets(const log_options& options);

/// The facade's thresholds for these options: the level, and access/audit on when they have a
/// target.
log::thresholds log_thresholds(const log_options& options);

/// Opens every file now (creating --log-dir when missing), so a path that cannot be written is
/// an error at start and not a silent loss later. Errors: unavailable, naming the file and why.
/// The sink's reopen() closes and reopens each file by name; if that fails it keeps writing to
/// the files it has and says so in the app log.
result<std::shared_ptr<log::sink>> open_log_sink(const log_options& options);

}  // namespace hibiki::cli
