#pragma once
/// Private: reads the fields of one decoded event or snapshot, remembering the first field that is
/// missing or mistyped so the decoder can fail once, with the field's name, at the end.

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "hibiki/core/ids.hpp"
#include "hibiki/core/result.hpp"
#include "hibiki/core/role.hpp"
#include "json_fields.hpp"

namespace hibiki::codec::detail {

class field_reader {
 public:
  explicit field_reader(const nlohmann::json& obj) : obj_(obj) {}

  std::uint64_t u64(std::string_view key) {
    auto v = hibiki::detail::get_u64(obj_, key);
    if (!v) miss(key);
    return v.value_or(0);
  }
  std::int64_t i64(std::string_view key) {
    auto v = hibiki::detail::get_i64(obj_, key);
    if (!v) miss(key);
    return v.value_or(0);
  }
  bool boolean(std::string_view key) {
    auto v = hibiki::detail::get_bool(obj_, key);
    if (!v) miss(key);
    return v.value_or(false);
  }
  std::string str(std::string_view key) {
    auto v = hibiki::detail::get_string(obj_, key);
    if (!v) miss(key);
    return v.value_or(std::string{});
  }
  template <class Id>
  Id id(std::string_view key) {
    return Id{u64(key)};
  }
  hibiki::role role(std::string_view key) {
    auto r = parse_role(str(key));
    if (!r) miss(key);
    return r.value_or(hibiki::role::member);
  }
  template <class Id>
  std::vector<Id> ids(std::string_view key) {
    std::vector<Id> out;
    const auto* arr = hibiki::detail::field(obj_, key);
    if (arr == nullptr || !arr->is_array()) {
      miss(key);
      return out;
    }
    out.reserve(arr->size());
    for (const auto& v : *arr) {
      auto u = hibiki::detail::as_u64(v);
      if (!u) {
        miss(key);
        return {};
      }
      out.push_back(Id{*u});
    }
    return out;
  }
  /// An array field (nullptr, and the reader failed, when it is not one).
  const nlohmann::json* array(std::string_view key) {
    const auto* arr = hibiki::detail::field(obj_, key);
    if (arr == nullptr || !arr->is_array()) {
      miss(key);
      return nullptr;
    }
    return arr;
  }

  void miss(std::string_view key) {
    if (missing_.empty()) missing_ = std::string(key);
  }
  bool ok() const { return missing_.empty(); }
  hibiki::error failure(std::string_view what) const {
    return {errc::bad_request,
            std::string(what) + ": field \"" + missing_ + "\" is missing or has the wrong type"};
  }

 private:
  const nlohmann::json& obj_;
  std::string missing_;
};

/// Parses CBOR bytes into a JSON object without throwing.
inline result<nlohmann::json> parse_cbor(std::span<const std::uint8_t> data) {
  try {
    auto doc = nlohmann::json::from_cbor(data.begin(), data.end(), true, false);
    if (doc.is_discarded()) return hibiki::error{errc::bad_request, "not valid CBOR"};
    if (!doc.is_object()) return hibiki::error{errc::bad_request, "encoded value is not a map"};
    return doc;
  } catch (const std::exception& ex) {
    return hibiki::error{errc::bad_request, std::string("not valid CBOR: ") + ex.what()};
  }
}

inline std::vector<std::uint8_t> to_cbor(const nlohmann::json& doc) {
  return nlohmann::json::to_cbor(doc);
}

}  // namespace hibiki::codec::detail
