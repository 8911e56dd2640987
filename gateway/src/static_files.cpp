#include "static_files.hpp"

#include <algorithm>
#include <array>
#include <cctype>
#include <filesystem>
#include <system_error>
#include <utility>

namespace hibiki::gateway {
namespace {

bool iequals_suffix(std::string_view s, std::string_view suffix) {
  if (s.size() < suffix.size()) return false;
  auto tail = s.substr(s.size() - suffix.size());
  return std::equal(tail.begin(), tail.end(), suffix.begin(), [](char a, char b) {
    return std::tolower(static_cast<unsigned char>(a)) ==
           std::tolower(static_cast<unsigned char>(b));
  });
}

}  // namespace

std::string_view mime_type(std::string_view path) {
  static constexpr std::array<std::pair<std::string_view, std::string_view>, 10> types{{
      {".html", "text/html; charset=utf-8"},
      {".htm", "text/html; charset=utf-8"},
      {".js", "text/javascript; charset=utf-8"},
      {".mjs", "text/javascript; charset=utf-8"},
      {".css", "text/css; charset=utf-8"},
      {".svg", "image/svg+xml"},
      {".png", "image/png"},
      {".ico", "image/vnd.microsoft.icon"},
      {".json", "application/json"},
      {".txt", "text/plain; charset=utf-8"},
  }};
  for (const auto& [ext, type] : types)
    if (iequals_suffix(path, ext)) return type;
  return "application/octet-stream";
}

std::optional<std::string> file_for_target(std::string_view web_root, std::string_view target) {
  if (auto q = target.find_first_of("?#"); q != std::string_view::npos)
    target = target.substr(0, q);
  if (target.empty() || target.front() != '/') return std::nullopt;
  // Percent-escapes are refused outright rather than decoded: the web client's file names need
  // none, and refusing them closes "%2e%2e" tricks.
  if (target.find_first_of("\\%") != std::string_view::npos) return std::nullopt;
  if (target.find('\0') != std::string_view::npos) return std::nullopt;
  if (target.find("..") != std::string_view::npos) return std::nullopt;
  if (target.find("//") != std::string_view::npos) return std::nullopt;
  std::string path(web_root);
  while (!path.empty() && path.back() == '/') path.pop_back();
  path.append(target);
  if (path.back() == '/') path.append("index.html");
  return path;
}

bool has_dot_segment(std::string_view target) {
  target = target.substr(0, target.find_first_of("?#"));
  for (std::size_t i = 0; i + 1 < target.size(); ++i)
    if (target[i] == '/' && target[i + 1] == '.') return true;
  return false;
}

static_lookup find_static_file(std::string_view web_root, std::string_view target) {
  namespace fs = std::filesystem;
  using outcome = static_lookup::outcome;
  auto mapped = file_for_target(web_root, target);
  if (!mapped) return {outcome::bad_request, {}};
  if (has_dot_segment(target)) return {outcome::not_found, {}};
  const auto path = target.substr(0, target.find_first_of("?#"));
  if (path.back() == '/' && path != "/") return {outcome::not_found, {}};

  std::error_code ec;
  const auto root = fs::canonical(fs::path(std::string(web_root)), ec);
  if (ec) return {outcome::not_found, {}};
  const auto file = fs::canonical(fs::path(*mapped), ec);
  if (ec) return {outcome::not_found, {}};
  // Inside the root = the root's components are a prefix of the file's (a plain string prefix
  // would let /srv/web-old pass for /srv/web).
  auto [root_end, file_it] = std::mismatch(root.begin(), root.end(), file.begin(), file.end());
  if (root_end != root.end() || file_it == file.end()) return {outcome::not_found, {}};
  // A symlink inside the root may still point at a dotfile inside it.
  for (auto it = file_it; it != file.end(); ++it)
    if (!it->empty() && it->native().front() == '.') return {outcome::not_found, {}};
  if (!fs::is_regular_file(file, ec) || ec) return {outcome::not_found, {}};
  return {outcome::file, file.string()};
}

}  // namespace hibiki::gateway
