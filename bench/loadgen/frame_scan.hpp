#pragma once
/// Cheap field look-ups in server frames for the hot path, so the load generator does not spend
/// the CPU it shares with the server on full JSON parses of every reply and push. Only used on
/// frames whose shape the load generator controls (message bodies it wrote itself); anything
/// unusual is parsed properly with nlohmann::json.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hibiki::bench {

/// The integer after `key` (e.g. `"re":`), skipping blanks; nothing when absent or not a number.
inline std::optional<std::int64_t> scan_int(std::string_view frame, std::string_view key) {
  auto at = frame.find(key);
  if (at == std::string_view::npos) return std::nullopt;
  auto p = at + key.size();
  while (p < frame.size() && (frame[p] == ' ' || frame[p] == '\t')) ++p;
  std::int64_t value = 0;
  auto [end, ec] = std::from_chars(frame.data() + p, frame.data() + frame.size(), value);
  if (ec != std::errc{} || end == frame.data() + p) return std::nullopt;
  return value;
}

inline bool scan_has(std::string_view frame, std::string_view needle) {
  return frame.find(needle) != std::string_view::npos;
}

/// True when `"key":` is followed (after blanks) by `value`.
inline bool scan_field_is(std::string_view frame, std::string_view key, std::string_view value) {
  auto at = frame.find(key);
  if (at == std::string_view::npos) return false;
  auto p = at + key.size();
  while (p < frame.size() && (frame[p] == ' ' || frame[p] == '\t')) ++p;
  return frame.substr(p, value.size()) == value;
}

}  // namespace hibiki::bench
