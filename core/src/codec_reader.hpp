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
  /// An array of strings (empty, and the reader failed, when it is not one).
  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    const auto* arr = array(key);
    if (arr == nullptr) return out;
    out.reserve(arr->size());
    for (const auto& v : *arr) {
      if (!v.is_string()) {
        miss(key);
        return {};
      }
      out.push_back(v.get<std::string>());
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

/// How deeply arrays and maps may nest in an encoded event or snapshot. The formats need 4 (a
/// snapshot's member entry's pending mentions); nlohmann's CBOR reader recurses once per level, so
/// without a bound a record of nested arrays (one byte per level) overflows the stack.
inline constexpr std::size_t max_cbor_depth = 32;

/// nlohmann's own DOM builder (as used by from_cbor), refusing documents nested deeper than
/// max_cbor_depth: returning false stops the reader before it recurses further.
class bounded_dom_parser : public nlohmann::detail::json_sax_dom_parser<nlohmann::json> {
  using base = nlohmann::detail::json_sax_dom_parser<nlohmann::json>;

 public:
  explicit bounded_dom_parser(nlohmann::json& result) : base(result, /*allow_exceptions=*/false) {}

  bool start_object(std::size_t n) { return enter() && base::start_object(n); }
  bool start_array(std::size_t n) { return enter() && base::start_array(n); }
  bool end_object() { return leave() && base::end_object(); }
  bool end_array() { return leave() && base::end_array(); }
  bool too_deep() const { return too_deep_; }

 private:
  bool enter() {
    too_deep_ = ++depth_ > max_cbor_depth;
    return !too_deep_;
  }
  bool leave() {
    --depth_;
    return true;
  }

  std::size_t depth_ = 0;
  bool too_deep_ = false;
};

/// Parses CBOR bytes into a JSON object without throwing.
inline result<nlohmann::json> parse_cbor(std::span<const std::uint8_t> data) {
  try {
    nlohmann::json doc;
    bounded_dom_parser sax(doc);
    const bool parsed = nlohmann::json::sax_parse(data.begin(), data.end(), &sax,
                                                  nlohmann::json::input_format_t::cbor);
    if (sax.too_deep()) {
      return hibiki::error{errc::bad_request,
                           "CBOR nested deeper than " + std::to_string(max_cbor_depth) + " levels"};
    }
    if (!parsed || doc.is_discarded()) return hibiki::error{errc::bad_request, "not valid CBOR"};
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
