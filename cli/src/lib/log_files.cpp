#include "hibiki/cli/log_files.hpp"

#include <filesystem>
#include <map>
#include <mutex>

#include <spdlog/logger.h>
#include <spdlog/sinks/basic_file_sink.h>
#include <spdlog/sinks/rotating_file_sink.h>
#include <spdlog/sinks/stdout_sinks.h>

#include "number_parse.hpp"

namespace hibiki::cli {
namespace {

status bad(std::string_view key, std::string_view value, std::string_view expected) {
  return status(errc::bad_request, "invalid value '" + std::string(value) + "' for --" +
                                       std::string(key) + ": expected " + std::string(expected));
}

/// FILE, "-" (stderr), and for access/audit "off".
log_target target_of(const std::string& flag, const std::string& dir, std::string_view file_name,
                     bool off_by_default) {
  if (flag == "-") return {log_target::kind::standard_error, {}};
  if (flag == "off") return {log_target::kind::off, {}};
  if (!flag.empty()) return {log_target::kind::file, flag};
  if (!dir.empty())
    return {log_target::kind::file, (std::filesystem::path(dir) / file_name).string()};
  if (off_by_default) return {log_target::kind::off, {}};
  return {log_target::kind::standard_error, {}};
}

/// The three spdlog loggers of one opening of the files. Loggers writing the same file (or
/// stderr) share one spdlog sink, so their lines never interleave mid-line and one rotation
/// serves them all.
struct logger_set {
  std::shared_ptr<spdlog::logger> app, access, audit;

  const std::shared_ptr<spdlog::logger>& of(log::channel ch) const {
    return ch == log::channel::access ? access : ch == log::channel::audit ? audit : app;
  }
};

result<std::shared_ptr<const logger_set>> open_loggers(const log_options& options) {
  const auto targets = resolve_log_targets(options);
  std::map<std::string, spdlog::sink_ptr> files;
  spdlog::sink_ptr standard_error;
  auto sink_for = [&](const log_target& t) -> result<spdlog::sink_ptr> {
    if (t.where == log_target::kind::off) return spdlog::sink_ptr{};
    if (t.where == log_target::kind::standard_error) {
      if (!standard_error) standard_error = std::make_shared<spdlog::sinks::stderr_sink_mt>();
      return standard_error;
    }
    auto& sink = files[t.path];
    if (sink) return sink;
    try {
      if (options.max_size == 0)
        sink = std::make_shared<spdlog::sinks::basic_file_sink_mt>(t.path);
      else
        sink = std::make_shared<spdlog::sinks::rotating_file_sink_mt>(t.path, options.max_size,
                                                                      options.max_files);
    } catch (const std::exception& ex) {
      // spdlog's message names the file and the OS error ("Failed opening file X for writing:
      // Permission denied").
      return hibiki::error{errc::unavailable, std::string("cannot open a log file: ") + ex.what()};
    }
    return sink;
  };
  auto make = [&](const log_target& t,
                  const char* name) -> result<std::shared_ptr<spdlog::logger>> {
    auto sink = sink_for(t);
    if (!sink) return sink.error();
    if (!*sink) return std::shared_ptr<spdlog::logger>{};
    auto logger = std::make_shared<spdlog::logger>(name, *sink);
    // The facade formats every line (core's format_app_line / format_record): spdlog only adds
    // the newline, and writes, rotates and flushes.
    logger->set_pattern("%v");
    logger->set_level(spdlog::level::trace);
    // Every line reaches the file at once: an audit record must not sit in a buffer when the
    // process is killed, and a crash's last app lines are the ones that matter.
    logger->flush_on(spdlog::level::trace);
    return logger;
  };
  auto set = std::make_shared<logger_set>();
  auto app = make(targets.app, "app");
  if (!app) return app.error();
  auto access = make(targets.access, "access");
  if (!access) return access.error();
  auto audit = make(targets.audit, "audit");
  if (!audit) return audit.error();
  set->app = std::move(*app);
  set->access = std::move(*access);
  set->audit = std::move(*audit);
  return std::shared_ptr<const logger_set>(std::move(set));
}

spdlog::level::level_enum to_spdlog(log::level l) {
  switch (l) {
    case log::level::trace:
      return spdlog::level::trace;
    case log::level::debug:
      return spdlog::level::debug;
    case log::level::info:
      return spdlog::level::info;
    case log::level::warn:
      return spdlog::level::warn;
    default:
      return spdlog::level::err;
  }
}

class spdlog_sink final : public log::sink {
 public:
  spdlog_sink(log_options options, std::shared_ptr<const logger_set> loggers)
      : options_(std::move(options)), loggers_(std::move(loggers)) {}

  void write(log::channel ch, log::level l, std::string_view line) override {
    auto loggers = current();
    if (const auto& logger = loggers->of(ch))
      logger->log(to_spdlog(l), spdlog::string_view_t(line.data(), line.size()));
  }

  void reopen() override {
    auto fresh = open_loggers(options_);
    if (!fresh) {
      log::error("hibikid") << "cannot reopen the log files, still writing to the old ones: "
                            << fresh.error().message;
      return;
    }
    {
      std::lock_guard lock(mutex_);
      loggers_ = std::move(*fresh);
    }
    // The old files close when the last line being written to them is done.
    log::info("hibikid") << "log files reopened";
  }

 private:
  std::shared_ptr<const logger_set> current() {
    std::lock_guard lock(mutex_);
    return loggers_;
  }

  const log_options options_;
  std::mutex mutex_;
  std::shared_ptr<const logger_set> loggers_;
};

}  // namespace

status apply_log_option(std::string_view key, std::string_view value, log_options& o) {
  if (key == "log-dir") {
    if (value.empty()) return bad(key, value, "a directory");
    o.dir = std::string(value);
    return status::success();
  }
  if (key == "log-level") {
    auto l = log::parse_level(value);
    if (!l) return bad(key, value, "trace, debug, info, warn or error");
    o.level = *l;
    return status::success();
  }
  if (key == "app-log") {
    if (value.empty() || value == "off")
      return bad(key, value, "a file, or - for stderr (the app log cannot be turned off)");
    o.app_file = std::string(value);
    return status::success();
  }
  if (key == "access-log" || key == "audit-log") {
    if (value.empty()) return bad(key, value, "a file, - for stderr, or off");
    (key == "access-log" ? o.access_file : o.audit_file) = std::string(value);
    return status::success();
  }
  if (key == "log-max-size") {
    auto n = parse_unsigned(value, std::uint64_t{1} << 40);
    if (!n || (*n != 0 && *n < 4096))
      return bad(key, value, "0 (never rotate) or a number of bytes from 4096 to 1099511627776");
    o.max_size = *n;
    return status::success();
  }
  if (key == "log-max-files") {
    auto n = parse_unsigned(value, 1000);
    if (!n || *n == 0) return bad(key, value, "a number of files from 1 to 1000");
    o.max_files = *n;
    return status::success();
  }
  return status(errc::bad_request, "unknown option --" + std::string(key));
}

bool is_log_option(std::string_view key) {
  for (std::string_view k : {"log-dir", "log-level", "app-log", "access-log", "audit-log",
                             "log-max-size", "log-max-files"})
    if (key == k) return true;
  return false;
}

log_targets resolve_log_targets(const log_options& o) {
  return {target_of(o.app_file, o.dir, "app.log", false),
          target_of(o.access_file, o.dir, "access.log", true),
          target_of(o.audit_file, o.dir, "audit.log", true)};
}

log::thresholds log_thresholds(const log_options& o) {
  const auto targets = resolve_log_targets(o);
  return {o.level, targets.access.where != log_target::kind::off,
          targets.audit.where != log_target::kind::off};
}

result<std::shared_ptr<log::sink>> open_log_sink(const log_options& options) {
  if (!options.dir.empty()) {
    std::error_code ec;
    std::filesystem::create_directories(options.dir, ec);
    if (ec || !std::filesystem::is_directory(options.dir)) {
      return hibiki::error{errc::unavailable, "cannot create the log directory '" + options.dir +
                                                  "': " + (ec ? ec.message() : "not a directory")};
    }
  }
  auto loggers = open_loggers(options);
  if (!loggers) return loggers.error();
  return std::shared_ptr<log::sink>(std::make_shared<spdlog_sink>(options, std::move(*loggers)));
}

}  // namespace hibiki::cli
