#pragma once
/// Private helpers for reading typed fields out of nlohmann::json without exceptions: each returns
/// nullopt when the field is missing or has another type, so decoders can report which field.

#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

namespace hibiki::detail {

inline const nlohmann::json* field(const nlohmann::json& obj, std::string_view key) {
  if (!obj.is_object()) return nullptr;
  auto it = obj.find(key);
  return it == obj.end() ? nullptr : &*it;
}

/// A non-negative integer (JSON or CBOR unsigned, or a signed integer that is not negative).
inline std::optional<std::uint64_t> as_u64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) return v.get<std::uint64_t>();
  if (v.is_number_integer()) {
    const auto i = v.get<std::int64_t>();
    if (i >= 0) return static_cast<std::uint64_t>(i);
  }
  return std::nullopt;
}

inline std::optional<std::int64_t> as_i64(const nlohmann::json& v) {
  if (v.is_number_unsigned()) {
    const auto u = v.get<std::uint64_t>();
    if (u > static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max()))
      return std::nullopt;
    return static_cast<std::int64_t>(u);
  }
  if (v.is_number_integer()) return v.get<std::int64_t>();
  return std::nullopt;
}

inline std::optional<std::uint64_t> get_u64(const nlohmann::json& obj, std::string_view key) {
  const auto* v = field(obj, key);
  return v == nullptr ? std::nullopt : as_u64(*v);
}

inline std::optional<std::int64_t> get_i64(const nlohmann::json& obj, std::string_view key) {
  const auto* v = field(obj, key);
  return v == nullptr ? std::nullopt : as_i64(*v);
}

inline std::optional<std::string> get_string(const nlohmann::json& obj, std::string_view key) {
  const auto* v = field(obj, key);
  if (v == nullptr || !v->is_string()) return std::nullopt;
  return v->get<std::string>();
}

inline std::optional<bool> get_bool(const nlohmann::json& obj, std::string_view key) {
  const auto* v = field(obj, key);
  if (v == nullptr || !v->is_boolean()) return std::nullopt;
  return v->get<bool>();
}

/// Serializes without ever throwing: invalid UTF-8 (which validated paths never produce) is
/// replaced rather than turned into an exception.
inline std::string dump(const nlohmann::json& j) {
  return j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
}

}  // namespace hibiki::detail
