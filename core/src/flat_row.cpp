#include "flat_row.hpp"

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

}  // namespace

bool read_flat_object(std::string_view text, std::span<const std::string_view> names,
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

}  // namespace hibiki::detail
