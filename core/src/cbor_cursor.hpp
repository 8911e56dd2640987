#pragma once
/// Private: a forward-only reader over the CBOR that the codec writes, for decoding events and
/// snapshots straight into their structs without building a JSON document first.
///
/// It reads only what the encoder writes (definite lengths, no tags) and is never more permissive
/// than nlohmann's CBOR reader: every read returns false on anything else (truncation, another
/// type, an indefinite length, a tag, a reserved byte, nesting past max_cbor_depth). The decoders
/// treat false as "not sure" and hand the bytes to the document decoder, which accepts exactly
/// what it always did and gives the error it always gave. So a value this reader accepts is one
/// the document decoder reads the same way.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <string>
#include <string_view>

#include "codec_reader.hpp"

namespace hibiki::codec::detail {

class cbor_cursor {
 public:
  explicit cbor_cursor(std::span<const std::uint8_t> data) : data_(data) {}

  bool at_end() const { return pos_ == data_.size(); }
  std::size_t position() const { return pos_; }
  void seek(std::size_t pos) { pos_ = pos; }

  /// A non-negative integer, as the document decoder's as_u64 reads it (major type 0 only: a
  /// CBOR negative integer is never >= 0).
  bool u64(std::uint64_t& out) {
    std::uint8_t major = 0;
    if (!head(major, out)) return false;
    return major == 0;
  }

  /// A signed integer, as as_i64 reads it (an unsigned one above INT64_MAX is refused).
  bool i64(std::int64_t& out) {
    std::uint8_t major = 0;
    std::uint64_t arg = 0;
    if (!head(major, arg)) return false;
    constexpr auto max = static_cast<std::uint64_t>(std::numeric_limits<std::int64_t>::max());
    if (arg > max) return false;
    if (major == 0) {
      out = static_cast<std::int64_t>(arg);
      return true;
    }
    if (major == 1) {
      out = -1 - static_cast<std::int64_t>(arg);
      return true;
    }
    return false;
  }

  bool boolean(bool& out) {
    if (pos_ >= data_.size()) return false;
    const auto b = data_[pos_];
    if (b != 0xF4 && b != 0xF5) return false;
    out = b == 0xF5;
    ++pos_;
    return true;
  }

  /// A text string of definite length, viewed in place (valid while the input is).
  bool text(std::string_view& out) {
    std::uint8_t major = 0;
    std::uint64_t len = 0;
    if (!head(major, len) || major != 3 || len > data_.size() - pos_) return false;
    out = {reinterpret_cast<const char*>(data_.data() + pos_), static_cast<std::size_t>(len)};
    pos_ += static_cast<std::size_t>(len);
    return true;
  }

  bool text(std::string& out) {
    std::string_view v;
    if (!text(v)) return false;
    out.assign(v);
    return true;
  }

  /// The head of an array of definite length: its element count (never more than the bytes
  /// left, so a caller may reserve it).
  bool array(std::size_t& count) { return container(4, count); }
  /// The head of a map of definite length: its number of key/value pairs.
  bool map(std::size_t& count) { return container(5, count); }

  /// Steps over one whole item, refusing what nlohmann's reader refuses; `depth` is the nesting
  /// level of the container the item is in (the top-level map is level 1).
  bool skip(std::size_t depth) {
    if (pos_ >= data_.size()) return false;
    const auto b = data_[pos_];
    if (b >= 0xE0) return skip_simple(b);
    std::uint8_t major = 0;
    std::uint64_t arg = 0;
    if (!head(major, arg)) return false;
    switch (major) {
      case 0:
      case 1:
        return true;
      case 2:
      case 3:
        if (arg > data_.size() - pos_) return false;
        pos_ += static_cast<std::size_t>(arg);
        return true;
      case 4:
      case 5: {
        if (depth + 1 > max_cbor_depth) return false;
        const auto items = major == 5 ? 2 * arg : arg;
        if (arg > data_.size() - pos_) return false;
        for (std::uint64_t i = 0; i < items; ++i)
          if (!skip(depth + 1)) return false;
        return true;
      }
      default:  // 6: tags (nlohmann's default refuses them)
        return false;
    }
  }

 private:
  /// Reads an initial byte and its argument; refuses indefinite lengths and reserved values.
  bool head(std::uint8_t& major, std::uint64_t& arg) {
    if (pos_ >= data_.size()) return false;
    const auto b = data_[pos_++];
    major = static_cast<std::uint8_t>(b >> 5);
    const auto info = static_cast<std::uint8_t>(b & 0x1F);
    if (major == 7) return false;
    if (info < 24) {
      arg = info;
      return true;
    }
    if (info > 27) return false;
    const std::size_t n = std::size_t{1} << (info - 24);
    if (n > data_.size() - pos_) return false;
    arg = 0;
    for (std::size_t i = 0; i < n; ++i) arg = (arg << 8) | data_[pos_ + i];
    pos_ += n;
    return true;
  }

  bool container(std::uint8_t want, std::size_t& count) {
    std::uint8_t major = 0;
    std::uint64_t arg = 0;
    if (!head(major, arg) || major != want || arg > data_.size() - pos_) return false;
    count = static_cast<std::size_t>(arg);
    return true;
  }

  /// false, true, null and the three float widths: the simple values nlohmann reads.
  bool skip_simple(std::uint8_t b) {
    std::size_t extra = 0;
    switch (b) {
      case 0xF4:
      case 0xF5:
      case 0xF6:
        break;
      case 0xF9:
        extra = 2;
        break;
      case 0xFA:
        extra = 4;
        break;
      case 0xFB:
        extra = 8;
        break;
      default:
        return false;
    }
    if (extra + 1 > data_.size() - pos_) return false;
    pos_ += extra + 1;
    return true;
  }

  std::span<const std::uint8_t> data_;
  std::size_t pos_ = 0;
};

}  // namespace hibiki::codec::detail
