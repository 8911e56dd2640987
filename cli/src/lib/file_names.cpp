#include "hibiki/cli/file_names.hpp"

#include <array>
#include <utility>

#include "hibiki/core/ids.hpp"
#include "number_parse.hpp"

namespace hibiki::cli {
namespace {

result<file_ref> ref_error(std::string_view text) {
  return result<file_ref>(errc::bad_request,
                          "invalid file '" + std::string(text) +
                              "': expected ROOM_ID/FILE_ID (as hibiki upload prints it) or "
                              "FILE_ID, each a positive integer");
}

std::string lower_ascii(std::string_view s) {
  std::string out(s);
  for (auto& c : out)
    if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
  return out;
}

/// The length of the UTF-8 sequence starting at s[i] and its code point, or 0 when it is not
/// one (bad lead or continuation byte, overlong, surrogate, beyond U+10FFFF, cut short).
std::pair<std::size_t, char32_t> utf8_at(std::string_view s, std::size_t i) {
  const auto b0 = static_cast<unsigned char>(s[i]);
  if (b0 < 0x80) return {1, b0};
  std::size_t n = 0;
  char32_t cp = 0;
  char32_t min = 0;
  if ((b0 & 0xE0) == 0xC0) {
    n = 2, cp = b0 & 0x1F, min = 0x80;
  } else if ((b0 & 0xF0) == 0xE0) {
    n = 3, cp = b0 & 0x0F, min = 0x800;
  } else if ((b0 & 0xF8) == 0xF0) {
    n = 4, cp = b0 & 0x07, min = 0x10000;
  } else {
    return {0, 0};
  }
  if (i + n > s.size()) return {0, 0};
  for (std::size_t k = 1; k < n; ++k) {
    const auto b = static_cast<unsigned char>(s[i + k]);
    if ((b & 0xC0) != 0x80) return {0, 0};
    cp = (cp << 6) | (b & 0x3F);
  }
  if (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return {0, 0};
  return {n, cp};
}

/// Characters that are fine in a file name but not in one shown on a terminal or used by a
/// shell: controls (C0, DEL, C1) and the bidirectional marks that can make a name read as
/// another (U+061C, U+200E/F, U+202A-U+202E, U+2066-U+2069).
bool unsafe_code_point(char32_t cp) {
  return cp < 0x20 || (cp >= 0x7F && cp <= 0x9F) || cp == 0x061C || cp == 0x200E || cp == 0x200F ||
         (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2066 && cp <= 0x2069) || cp == '/' ||
         cp == '\\';
}

}  // namespace

result<file_ref> parse_file_ref(std::string_view text) {
  file_ref ref;
  auto slash = text.find('/');
  auto file_part = text;
  if (slash != std::string_view::npos) {
    auto room = parse_unsigned(text.substr(0, slash), max_wire_id);
    if (!room || *room == 0) return ref_error(text);
    ref.room_id = *room;
    file_part = text.substr(slash + 1);
  }
  auto file = parse_unsigned(file_part, max_wire_id);
  if (!file || *file == 0) return ref_error(text);
  ref.file_id = *file;
  return ref;
}

std::string guess_content_type(std::string_view filename) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 40> table{{
      {"txt", "text/plain"},
      {"log", "text/plain"},
      {"md", "text/markdown"},
      {"csv", "text/csv"},
      {"tsv", "text/tab-separated-values"},
      {"html", "text/html"},
      {"htm", "text/html"},
      {"css", "text/css"},
      {"js", "text/javascript"},
      {"json", "application/json"},
      {"xml", "application/xml"},
      {"yaml", "application/yaml"},
      {"yml", "application/yaml"},
      {"pdf", "application/pdf"},
      {"zip", "application/zip"},
      {"gz", "application/gzip"},
      {"tgz", "application/gzip"},
      {"tar", "application/x-tar"},
      {"xz", "application/x-xz"},
      {"7z", "application/x-7z-compressed"},
      {"doc", "application/msword"},
      {"docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document"},
      {"xls", "application/vnd.ms-excel"},
      {"xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"},
      {"ppt", "application/vnd.ms-powerpoint"},
      {"pptx", "application/vnd.openxmlformats-officedocument.presentationml.presentation"},
      {"odt", "application/vnd.oasis.opendocument.text"},
      {"ods", "application/vnd.oasis.opendocument.spreadsheet"},
      {"png", "image/png"},
      {"jpg", "image/jpeg"},
      {"jpeg", "image/jpeg"},
      {"gif", "image/gif"},
      {"webp", "image/webp"},
      {"svg", "image/svg+xml"},
      {"mp3", "audio/mpeg"},
      {"wav", "audio/wav"},
      {"ogg", "audio/ogg"},
      {"mp4", "video/mp4"},
      {"webm", "video/webm"},
      {"mov", "video/quicktime"},
  }};
  const auto base = filename.substr(filename.find_last_of('/') + 1);
  const auto dot = base.rfind('.');
  // No extension, or a dot file without one (".bashrc").
  if (dot == std::string_view::npos || dot == 0) return "application/octet-stream";
  const auto ext = lower_ascii(base.substr(dot + 1));
  for (const auto& [e, type] : table)
    if (e == ext) return std::string(type);
  return "application/octet-stream";
}

std::string safe_local_name(std::string_view filename) {
  constexpr std::size_t max_name_bytes = 255;
  std::string out;
  std::size_t i = 0;
  while (i < filename.size()) {
    auto [n, cp] = utf8_at(filename, i);
    std::string_view piece = n == 0 ? std::string_view("_") : filename.substr(i, n);
    if (n != 0 && unsafe_code_point(cp)) piece = "_";
    if (out.size() + piece.size() > max_name_bytes) break;
    out += piece;
    i += n == 0 ? 1 : n;
  }
  if (!out.empty() && (out.front() == '.' || out.front() == '-')) out.front() = '_';
  if (out.empty()) return "download";
  return out;
}

}  // namespace hibiki::cli
