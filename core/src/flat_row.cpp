#include "flat_row.hpp"

#include <cstdint>

#include <nlohmann/json.hpp>

namespace hibiki::detail {

namespace {

using json = nlohmann::json;

/// The SAX handler: depth 1 is the row object, depth 2 the inside of a top-level array.
class flat_reader {
 public:
  flat_reader(std::span<const std::string_view> names, std::span<flat_field> out)
      : names_(names), out_(out) {}

  bool null() { return scalar_other(); }
  bool boolean(bool) { return scalar_other(); }
  bool number_integer(json::number_integer_t v) {
    if (v < 0) return scalar_other();
    return number_unsigned(static_cast<std::uint64_t>(v));
  }
  bool number_unsigned(json::number_unsigned_t v) {
    if (depth_ == 1) {
      if (auto* f = current()) {
        f->type = flat_field::kind::unsigned_;
        f->number = v;
      }
    } else if (depth_ == 2) {
      if (auto* f = current(); f && f->type == flat_field::kind::id_array) f->ids.push_back(v);
    }
    return true;
  }
  bool number_float(json::number_float_t, const json::string_t&) { return scalar_other(); }
  bool string(json::string_t& s) {
    if (depth_ == 1) {
      if (auto* f = current()) {
        f->type = flat_field::kind::string;
        f->text = std::move(s);
      }
      return true;
    }
    return scalar_other();
  }
  bool binary(json::binary_t&) { return scalar_other(); }

  bool start_object(std::size_t) {
    if (depth_ == 0) {
      depth_ = 1;
      started_ = true;
      return true;
    }
    mark_other();
    ++depth_;
    return true;
  }
  bool end_object() {
    --depth_;
    return true;
  }
  bool start_array(std::size_t) {
    if (depth_ == 0) return false;  // the row is an object
    if (depth_ == 1) {
      if (auto* f = current()) {
        f->type = flat_field::kind::id_array;
        f->ids.clear();
      }
    } else {
      mark_other();
    }
    ++depth_;
    return true;
  }
  bool end_array() {
    --depth_;
    return true;
  }
  bool key(json::string_t& k) {
    // Only the row's own keys name fields; keys of nested objects were marked `other` already.
    if (depth_ != 1) return true;
    field_ = -1;
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == k) {
        field_ = static_cast<int>(i);
        out_[i] = flat_field{};  // a repeated key keeps its last value
        break;
      }
    }
    return true;
  }
  bool parse_error(std::size_t, const std::string&, const nlohmann::detail::exception&) {
    return false;
  }

  bool started() const { return started_; }

 private:
  flat_field* current() { return field_ < 0 ? nullptr : &out_[static_cast<std::size_t>(field_)]; }
  /// A value that is no unsigned integer or string where one was read, or anything nested.
  void mark_other() {
    if (auto* f = current()) {
      f->type = flat_field::kind::other;
      f->ids.clear();
    }
  }
  bool scalar_other() {
    if (depth_ == 0) return false;  // the row is an object
    if (depth_ == 1 || depth_ == 2) mark_other();
    return true;
  }

  std::span<const std::string_view> names_;
  std::span<flat_field> out_;
  int field_ = -1;
  int depth_ = 0;
  bool started_ = false;
};

/// The common rows without a parser: objects whose values are unsigned integers, ASCII strings
/// without escapes, and arrays of unsigned integers. Anything else (an escape, a byte of 0x80 or
/// more, a sign, a fraction, true/false/null, a nested object, an integer over 64 bits, an error)
/// gives up with `fallback`, and the SAX reader decides; what this accepts is valid JSON read as
/// the SAX reader reads it (read_model_test compares the two on every kind of input).
class fast_reader {
 public:
  fast_reader(std::string_view text, std::span<const std::string_view> names,
              std::span<flat_field> out)
      : p_(text.data()), end_(text.data() + text.size()), names_(names), out_(out) {}

  /// True: read (the row is an object). False: not decided here.
  bool read() {
    skip_ws();
    if (!take('{')) return false;
    skip_ws();
    if (take('}')) return at_end();
    while (true) {
      std::string_view key;
      if (!read_string(key)) return false;
      skip_ws();
      if (!take(':')) return false;
      skip_ws();
      flat_field* f = field(key);
      if (!read_value(f)) return false;
      skip_ws();
      if (take(',')) {
        skip_ws();
        continue;
      }
      if (take('}')) return at_end();
      return false;
    }
  }

 private:
  static bool is_ws(char c) { return c == ' ' || c == '\t' || c == '\n' || c == '\r'; }
  void skip_ws() {
    while (p_ != end_ && is_ws(*p_)) ++p_;
  }
  bool take(char c) {
    if (p_ == end_ || *p_ != c) return false;
    ++p_;
    return true;
  }
  bool at_end() {
    skip_ws();
    return p_ == end_;
  }

  flat_field* field(std::string_view key) {
    for (std::size_t i = 0; i < names_.size(); ++i) {
      if (names_[i] == key) {
        out_[i] = flat_field{};  // a repeated key keeps its last value
        return &out_[i];
      }
    }
    return nullptr;
  }

  bool read_string(std::string_view& out) {
    if (!take('"')) return false;
    const char* from = p_;
    while (p_ != end_) {
      const auto c = static_cast<unsigned char>(*p_);
      if (c == '"') {
        out = std::string_view(from, static_cast<std::size_t>(p_ - from));
        ++p_;
        return true;
      }
      if (c == '\\' || c < 0x20 || c >= 0x80) return false;
      ++p_;
    }
    return false;
  }

  bool read_unsigned(std::uint64_t& out) {
    if (p_ == end_ || *p_ < '0' || *p_ > '9') return false;
    const char* from = p_;
    std::uint64_t v = 0;
    while (p_ != end_ && *p_ >= '0' && *p_ <= '9') {
      const auto digit = static_cast<std::uint64_t>(*p_ - '0');
      if (v > (UINT64_MAX - digit) / 10) return false;  // over 64 bits: a float to the parser
      v = v * 10 + digit;
      ++p_;
    }
    if (*from == '0' && p_ - from > 1) return false;  // a leading zero is not JSON
    if (p_ != end_ && (*p_ == '.' || *p_ == 'e' || *p_ == 'E')) return false;
    out = v;
    return true;
  }

  bool read_value(flat_field* f) {
    if (p_ == end_) return false;
    if (*p_ == '"') {
      std::string_view text;
      if (!read_string(text)) return false;
      if (f) {
        f->type = flat_field::kind::string;
        f->text.assign(text);
      }
      return true;
    }
    if (*p_ == '[') {
      ++p_;
      if (f) f->type = flat_field::kind::id_array;
      skip_ws();
      if (take(']')) return true;
      while (true) {
        std::uint64_t v = 0;
        if (!read_unsigned(v)) return false;
        if (f) f->ids.push_back(v);
        skip_ws();
        if (take(',')) {
          skip_ws();
          continue;
        }
        return take(']');
      }
    }
    std::uint64_t v = 0;
    if (!read_unsigned(v)) return false;
    if (f) {
      f->type = flat_field::kind::unsigned_;
      f->number = v;
    }
    return true;
  }

  const char* p_;
  const char* end_;
  std::span<const std::string_view> names_;
  std::span<flat_field> out_;
};

}  // namespace

bool read_flat_object_sax(std::string_view text, std::span<const std::string_view> names,
                          std::span<flat_field> out) {
  for (auto& f : out) f = flat_field{};
  flat_reader reader(names, out);
  bool ok = false;
  try {
    ok = json::sax_parse(text.begin(), text.end(), &reader);
  } catch (const std::exception&) {
    return false;
  }
  return ok && reader.started();
}

bool read_flat_object(std::string_view text, std::span<const std::string_view> names,
                      std::span<flat_field> out) {
  for (auto& f : out) f = flat_field{};
  if (fast_reader(text, names, out).read()) return true;
  return read_flat_object_sax(text, names, out);
}

}  // namespace hibiki::detail
