#pragma once
/// Private UTF-8 decoding shared by the room and user rules: strict (no overlong forms, no
/// surrogates, nothing above U+10FFFF), because a body we accept goes to every client verbatim.

#include <cstddef>
#include <string_view>

namespace hibiki::detail {

/// Calls `fn(char32_t)` for each code point of `text`; returns false (after calling `fn` for the
/// valid prefix) when `text` is not valid UTF-8.
template <class Fn>
bool for_each_code_point(std::string_view text, Fn&& fn) {
  std::size_t i = 0;
  const std::size_t n = text.size();
  while (i < n) {
    const auto b0 = static_cast<unsigned char>(text[i]);
    char32_t cp = 0;
    std::size_t len = 0;
    char32_t min = 0;
    if (b0 < 0x80) {
      cp = b0;
      len = 1;
    } else if ((b0 & 0xE0) == 0xC0) {
      cp = b0 & 0x1F;
      len = 2;
      min = 0x80;
    } else if ((b0 & 0xF0) == 0xE0) {
      cp = b0 & 0x0F;
      len = 3;
      min = 0x800;
    } else if ((b0 & 0xF8) == 0xF0) {
      cp = b0 & 0x07;
      len = 4;
      min = 0x10000;
    } else {
      return false;
    }
    if (n - i < len) return false;
    for (std::size_t k = 1; k < len; ++k) {
      const auto b = static_cast<unsigned char>(text[i + k]);
      if ((b & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (b & 0x3F);
    }
    if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    fn(cp);
    i += len;
  }
  return true;
}

}  // namespace hibiki::detail
