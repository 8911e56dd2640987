#include "hibiki/core/log.hpp"

#include <cstdio>
#include <ctime>
#include <mutex>

#include <nlohmann/json.hpp>

namespace hibiki::log {

namespace detail {
std::atomic<std::uint8_t> app_threshold{static_cast<std::uint8_t>(level::info)};
std::atomic<bool> access_on{false};
std::atomic<bool> audit_on{false};
}  // namespace detail

namespace {

/// Until hibikid installs its own: app lines on stderr, one fwrite each (stdio locks the stream
/// per call, so lines from different threads never interleave).
class stderr_sink final : public sink {
 public:
  void write(channel, level, std::string_view line) override {
    std::string out;
    out.reserve(line.size() + 1);
    out.append(line);
    out.push_back('\n');
    std::fwrite(out.data(), 1, out.size(), stderr);
  }
};

/// The installed sink. Never destroyed: detached library threads (librdkafka's) may still log
/// while static destructors run at exit.
struct installed {
  std::mutex mutex;
  std::shared_ptr<sink> current = std::make_shared<stderr_sink>();
};

installed& the_sink() {
  static auto* s = new installed;
  return *s;
}

std::shared_ptr<sink> current_sink() {
  auto& s = the_sink();
  std::lock_guard lock(s.mutex);
  return s.current;
}

void write_line(channel ch, level l, std::string_view text) {
  if (auto s = current_sink()) s->write(ch, l, text);
}

void write_record(channel ch, std::string_view event, std::initializer_list<field> fields) {
  try {
    auto text = format_record(std::chrono::system_clock::now(), event,
                              std::span<const field>(fields.begin(), fields.size()));
    write_line(ch, level::info, text);
  } catch (...) {
    // A record that cannot be formatted or written must not fail the request it describes.
  }
}

void append_escaped(std::string& out, std::string_view text) {
  static constexpr char hex[] = "0123456789abcdef";
  for (char c : text) {
    const auto u = static_cast<unsigned char>(c);
    if (u >= 0x20 && u != 0x7f && c != '\\') {
      out.push_back(c);
      continue;
    }
    out.push_back('\\');
    switch (c) {
      case '\\':
        out.push_back('\\');
        break;
      case '\n':
        out.push_back('n');
        break;
      case '\r':
        out.push_back('r');
        break;
      case '\t':
        out.push_back('t');
        break;
      default:
        out.push_back('x');
        out.push_back(hex[u >> 4]);
        out.push_back(hex[u & 0xf]);
    }
  }
}

}  // namespace

namespace detail {
void write_app(level l, std::string_view component, std::string_view message) {
  write_line(channel::app, l,
             format_app_line(std::chrono::system_clock::now(), l, component, message));
}
}  // namespace detail

std::string_view level_name(level l) {
  switch (l) {
    case level::trace:
      return "trace";
    case level::debug:
      return "debug";
    case level::info:
      return "info";
    case level::warn:
      return "warn";
    case level::error:
      return "error";
    default:
      return "off";
  }
}

std::optional<level> parse_level(std::string_view text) {
  for (auto l : {level::trace, level::debug, level::info, level::warn, level::error})
    if (text == level_name(l)) return l;
  return std::nullopt;
}

void install(std::shared_ptr<sink> s, thresholds t) {
  if (!s) s = std::make_shared<stderr_sink>();
  {
    auto& installed = the_sink();
    std::lock_guard lock(installed.mutex);
    installed.current = std::move(s);
  }
  detail::app_threshold.store(static_cast<std::uint8_t>(t.app), std::memory_order_relaxed);
  detail::access_on.store(t.access, std::memory_order_relaxed);
  detail::audit_on.store(t.audit, std::memory_order_relaxed);
}

void reset() {
  install(nullptr, thresholds{});
}

void reopen() {
  if (auto s = current_sink()) s->reopen();
}

void access(std::string_view event, std::initializer_list<field> fields) {
  if (enabled(channel::access)) write_record(channel::access, event, fields);
}

void audit(std::string_view event, std::initializer_list<field> fields) {
  if (enabled(channel::audit)) write_record(channel::audit, event, fields);
}

std::string format_time(std::chrono::system_clock::time_point t) {
  using namespace std::chrono;
  const auto ms = duration_cast<milliseconds>(t.time_since_epoch()).count();
  // Floor division, so instants before 1970 still print a valid time.
  auto secs = ms / 1000;
  auto milli = ms % 1000;
  if (milli < 0) {
    milli += 1000;
    secs -= 1;
  }
  const std::time_t tt = static_cast<std::time_t>(secs);
  std::tm tm{};
  gmtime_r(&tt, &tm);
  char buf[96];  // room for any int the fields could hold
  std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                static_cast<int>(milli));
  return buf;
}

std::string format_app_line(std::chrono::system_clock::time_point t, level l,
                            std::string_view component, std::string_view message) {
  static constexpr std::string_view padded[] = {"TRACE", "DEBUG", "INFO ",
                                                "WARN ", "ERROR", "OFF  "};
  std::string out = format_time(t);
  out.reserve(out.size() + component.size() + message.size() + 12);
  out.push_back(' ');
  out.append(padded[static_cast<std::size_t>(l) < std::size(padded) ? static_cast<std::size_t>(l)
                                                                    : std::size(padded) - 1]);
  out.append(" [");
  append_escaped(out, component);
  out.append("] ");
  append_escaped(out, message);
  return out;
}

std::string format_record(std::chrono::system_clock::time_point t, std::string_view event,
                          std::span<const field> fields) {
  // ordered_json keeps the fields in the order given: time and event first, for people reading.
  nlohmann::ordered_json j;
  j["time"] = format_time(t);
  j["event"] = event;
  for (const auto& f : fields) {
    const std::string key(f.key());
    std::visit([&](const auto& v) { j[key] = v; }, f.value());
  }
  return j.dump(-1, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

}  // namespace hibiki::log
