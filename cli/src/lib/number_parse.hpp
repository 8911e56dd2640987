#pragma once
/// Strict decimal parsing for command-line values: digits only, no sign, no spaces, no overflow.

#include <charconv>
#include <cstdint>
#include <optional>
#include <string_view>

namespace hibiki::cli {

inline std::optional<std::uint64_t> parse_unsigned(std::string_view s, std::uint64_t max) {
  if (s.empty() || s.size() > 20) return std::nullopt;
  for (char c : s)
    if (c < '0' || c > '9') return std::nullopt;
  std::uint64_t v = 0;
  auto [ptr, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || ptr != s.data() + s.size() || v > max) return std::nullopt;
  return v;
}

}  // namespace hibiki::cli
