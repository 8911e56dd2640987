#pragma once
/// The logging facade every layer writes to: three channels (the app log for operators, the access
/// log with one record per HTTP request and per WebSocket session, the audit log of who did what to
/// accounts and rooms), and one process-wide sink installed at start.
///
/// It is dependency-free on purpose, so core and every layer above it can log without knowing where
/// lines go: hibikid installs a sink over spdlog (files, rotation, reopen on SIGHUP); until one is
/// installed (tests, tools) app lines go to stderr and access and audit records are dropped.
///
/// App lines are stream-style and cost one relaxed atomic load when their level is off:
///
///     log::warn("kafka") << topic << "/" << partition << " not ready: " << why;
///
/// Access and audit records are an event name plus typed fields, written as one JSON object per
/// line:
///
///     log::audit("auth_failed", {{"peer", peer}, {"reason", "bad token"}});
///
/// Never pass a token, a password or a message body to any channel: logs are read by more people,
/// and kept longer, than the data they describe.

#include <atomic>
#include <chrono>
#include <concepts>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <optional>
#include <span>
#include <sstream>
#include <string>
#include <string_view>
#include <variant>

namespace hibiki::log {

enum class level : std::uint8_t { trace, debug, info, warn, error, off };
enum class channel : std::uint8_t { app, access, audit };

/// "trace", "debug", "info", "warn", "error", "off".
std::string_view level_name(level l);
/// The inverse of level_name for the five levels a flag may name ("off" is refused: the app log
/// always carries errors). nullopt for anything else.
std::optional<level> parse_level(std::string_view text);

/// Where finished lines go. Implementations must be thread-safe: any thread writes at any time.
class sink {
 public:
  virtual ~sink() = default;
  /// One line of `ch`, without its newline. `l` is the app line's level (info for records).
  virtual void write(channel ch, level l, std::string_view line) = 0;
  /// Closes and reopens files by name (after an external rotation). Default: nothing to do.
  virtual void reopen() {}
};

/// What is written. Default: app lines at info and above; no access or audit records.
struct thresholds {
  /// The lowest app level written. Default: info
  level app = level::info;
  /// Write access records. Default: false
  bool access = false;
  /// Write audit records. Default: false
  bool audit = false;
};

/// Installs the process-wide sink and thresholds (nullptr = the default stderr sink). Safe while
/// other threads log: a line goes wholly to the old sink or wholly to the new one.
void install(std::shared_ptr<sink> s, thresholds t);
/// Back to the default sink and thresholds.
void reset();
/// Asks the installed sink to reopen its files (SIGHUP).
void reopen();

namespace detail {
// Constant-initialized, so usable from any static initializer or thread.
extern std::atomic<std::uint8_t> app_threshold;
extern std::atomic<bool> access_on;
extern std::atomic<bool> audit_on;
void write_app(level l, std::string_view component, std::string_view message);
}  // namespace detail

/// True when app lines of level `l` are written. One relaxed load: check it before building an
/// expensive message on a hot path.
inline bool enabled(level l) noexcept {
  return static_cast<std::uint8_t>(l) >= detail::app_threshold.load(std::memory_order_relaxed) &&
         l != level::off;
}
/// True when records of `ch` are written (app: at least one level is on).
inline bool enabled(channel ch) noexcept {
  switch (ch) {
    case channel::access:
      return detail::access_on.load(std::memory_order_relaxed);
    case channel::audit:
      return detail::audit_on.load(std::memory_order_relaxed);
    default:
      return detail::app_threshold.load(std::memory_order_relaxed) <
             static_cast<std::uint8_t>(level::off);
  }
}

/// One app line being built; written when it goes out of scope. Inert (no allocation, nothing
/// formatted) when its level is off.
class line {
 public:
  line(level l, std::string_view component) : level_(l), component_(component) {
    if (enabled(l)) out_ = std::make_unique<std::ostringstream>();
  }
  line(const line&) = delete;
  line& operator=(const line&) = delete;
  ~line() {
    if (!out_) return;
    try {
      detail::write_app(level_, component_, out_->view());
    } catch (...) {
      // A log line must never take the process down.
    }
  }

  template <class T>
  line& operator<<(const T& value) {
    if (out_) *out_ << value;
    return *this;
  }

 private:
  level level_;
  std::string_view component_;
  /// Null when the level is off. (On the heap rather than in a std::optional: GCC 12 warns about
  /// a disengaged optional stream as "maybe uninitialized".)
  std::unique_ptr<std::ostringstream> out_;
};

/// `component` names the part of the server speaking ("kafka", "journal", "cluster", "gateway",
/// "session", "hibikid"...); it must outlive the line (a string literal).
inline line trace(std::string_view component) {
  return line(level::trace, component);
}
inline line debug(std::string_view component) {
  return line(level::debug, component);
}
inline line info(std::string_view component) {
  return line(level::info, component);
}
inline line warn(std::string_view component) {
  return line(level::warn, component);
}
inline line error(std::string_view component) {
  return line(level::error, component);
}

/// One named value of an access or audit record. Strings are viewed, not copied: build the record
/// in one expression.
class field {
 public:
  using value_type = std::variant<std::string_view, std::int64_t, std::uint64_t, double, bool>;

  field(std::string_view key, std::string_view v) : key_(key), value_(v) {}
  field(std::string_view key, const char* v) : key_(key), value_(std::string_view(v)) {}
  field(std::string_view key, const std::string& v) : key_(key), value_(std::string_view(v)) {}
  field(std::string_view key, bool v) : key_(key), value_(v) {}
  field(std::string_view key, double v) : key_(key), value_(v) {}
  template <std::integral T>
  requires(!std::same_as<T, bool>) field(std::string_view key, T v) : key_(key) {
    if constexpr (std::is_signed_v<T>)
      value_ = static_cast<std::int64_t>(v);
    else
      value_ = static_cast<std::uint64_t>(v);
  }

  std::string_view key() const { return key_; }
  const value_type& value() const { return value_; }

 private:
  std::string_view key_;
  value_type value_;
};

/// Writes an access record (one HTTP request, one WebSocket session) when the access log is on.
void access(std::string_view event, std::initializer_list<field> fields);
/// Writes an audit record (sign-up, authentication, membership and role changes, admin actions)
/// when the audit log is on. Admin endpoints write event "admin" with an "action" field.
void audit(std::string_view event, std::initializer_list<field> fields);

// ---- formats (pure; the sinks and the tests use them) -------------------------------------------

/// "2026-12-05T05:44:42.123Z": UTC, milliseconds.
std::string format_time(std::chrono::system_clock::time_point t);
/// "TIME LEVEL [component] message", LEVEL upper-case and padded to 5. Control characters in the
/// message (a newline in an error text from a library or a client) are escaped, so one call is
/// always one line and a client cannot forge lines.
std::string format_app_line(std::chrono::system_clock::time_point t, level l,
                            std::string_view component, std::string_view message);
/// {"time":"...","event":"...",<fields in order>}: one JSON object, no newline. Bytes that are not
/// UTF-8 become U+FFFD.
std::string format_record(std::chrono::system_clock::time_point t, std::string_view event,
                          std::span<const field> fields);

}  // namespace hibiki::log
