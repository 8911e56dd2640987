#pragma once
/// Private: the pieces of the direct decoders (events and snapshots read from CBOR straight into
/// their structs). The top-level map is scanned once for its keys; fields are then read where they
/// lie through the same interface as field_reader, so the per-event mapping code is shared with
/// the document decoder. Any doubt (a missing or mistyped field, an unusual encoding, an old
/// version that needs upcasting) makes the direct decoder give up, and the caller decodes the
/// same bytes through the document decoder instead, which gives the answer or the error.

#include <array>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "cbor_cursor.hpp"
#include "codec_upcast.hpp"
#include "hibiki/core/codec.hpp"
#include "hibiki/core/ids.hpp"
#include "hibiki/core/role.hpp"

namespace hibiki::codec::detail {

/// The keys of an encoded map and where each value starts. A key given twice is read from its
/// last occurrence, as the document decoder keeps the last.
class top_level_fields {
 public:
  /// What a caller's handler did with the value under a key.
  enum class taken { no, yes, failed };

  /// Reads the map that is the whole input. `handle(key, cursor)` may read the value itself
  /// (taken::yes) or leave it to be stepped over and remembered (taken::no).
  template <class Handle>
  bool scan(std::span<const std::uint8_t> data, Handle&& handle) {
    cbor_cursor c(data);
    std::size_t pairs = 0;
    if (!c.map(pairs)) return false;
    for (std::size_t i = 0; i < pairs; ++i) {
      std::string_view key;
      if (!c.text(key)) return false;
      const auto at = c.position();
      switch (handle(key, c)) {
        case taken::yes:
          continue;
        case taken::failed:
          return false;
        case taken::no:
          break;
      }
      if (count_ == fields_.size() || !c.skip(1)) return false;
      fields_[count_++] = {key, at};
    }
    return c.at_end();
  }
  bool scan(std::span<const std::uint8_t> data) {
    return scan(data, [](std::string_view, cbor_cursor&) { return taken::no; });
  }

  /// Where the value of `key` starts, if the map has it.
  std::optional<std::size_t> find(std::string_view key) const {
    for (auto i = count_; i > 0; --i)
      if (fields_[i - 1].key == key) return fields_[i - 1].at;
    return std::nullopt;
  }

  /// Whether "t" is `type` and "v" is the version encode writes for it, so no upcaster applies.
  bool is_current(std::span<const std::uint8_t> data, std::string_view& type) const;

 private:
  struct entry {
    std::string_view key;
    std::size_t at = 0;
  };
  /// Events have at most a dozen fields; a map with more is left to the document decoder.
  std::array<entry, 32> fields_{};
  std::size_t count_ = 0;
};

/// field_reader's interface over a scanned map: the first missing or mistyped field fails it.
class direct_field_reader {
 public:
  direct_field_reader(std::span<const std::uint8_t> data, const top_level_fields& fields)
      : data_(data), fields_(fields) {}

  std::uint64_t u64(std::string_view key) {
    std::uint64_t v = 0;
    auto c = at(key);
    if (!c || !c->u64(v)) miss(key);
    return v;
  }
  std::int64_t i64(std::string_view key) {
    std::int64_t v = 0;
    auto c = at(key);
    if (!c || !c->i64(v)) miss(key);
    return v;
  }
  bool boolean(std::string_view key) {
    bool v = false;
    auto c = at(key);
    if (!c || !c->boolean(v)) miss(key);
    return v;
  }
  std::string str(std::string_view key) {
    std::string v;
    auto c = at(key);
    if (!c || !c->text(v)) miss(key);
    return v;
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
    auto c = at(key);
    std::size_t n = 0;
    if (!c || !c->array(n)) {
      miss(key);
      return out;
    }
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::uint64_t v = 0;
      if (!c->u64(v)) {
        miss(key);
        return {};
      }
      out.push_back(Id{v});
    }
    return out;
  }
  /// An array of text strings.
  std::vector<std::string> strings(std::string_view key) {
    std::vector<std::string> out;
    auto c = at(key);
    std::size_t n = 0;
    if (!c || !c->array(n)) {
      miss(key);
      return out;
    }
    out.reserve(n);
    for (std::size_t i = 0; i < n; ++i) {
      std::string s;
      if (!c->text(s)) {
        miss(key);
        return {};
      }
      out.push_back(std::move(s));
    }
    return out;
  }

  void miss(std::string_view) { failed_ = true; }
  bool ok() const { return !failed_; }
  hibiki::error failure(std::string_view what) const {
    return {errc::bad_request, std::string(what) + ": a field is missing or has the wrong type"};
  }

 private:
  std::optional<cbor_cursor> at(std::string_view key) const {
    const auto pos = fields_.find(key);
    if (!pos) return std::nullopt;
    cbor_cursor c(data_);
    c.seek(*pos);
    return c;
  }

  std::span<const std::uint8_t> data_;
  const top_level_fields& fields_;
  bool failed_ = false;
};

inline bool top_level_fields::is_current(std::span<const std::uint8_t> data,
                                         std::string_view& type) const {
  const auto t = find("t");
  const auto v = find("v");
  if (!t || !v) return false;
  cbor_cursor c(data);
  c.seek(*t);
  if (!c.text(type)) return false;
  c.seek(*v);
  std::int64_t version = 0;
  if (!c.i64(version)) return false;
  return is_current_version(type, version);
}

}  // namespace hibiki::codec::detail
