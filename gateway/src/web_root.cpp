#include "web_root.hpp"

#include <filesystem>
#include <system_error>

#ifndef HIBIKI_WEB_ROOT
#define HIBIKI_WEB_ROOT "web"
#endif

namespace hibiki::gateway {

std::string web_root_for_executable(const std::string& executable, const std::string& fallback) {
  namespace fs = std::filesystem;
  if (executable.empty()) return fallback;
  const auto installed =
      fs::path(executable).parent_path().parent_path() / "share" / "hibiki" / "web";
  std::error_code ec;
  if (fs::is_regular_file(installed / "index.html", ec)) return installed.lexically_normal();
  return fallback;
}

std::string default_web_root() {
  std::error_code ec;
  const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
  return web_root_for_executable(ec ? std::string() : exe.string(), HIBIKI_WEB_ROOT);
}

}  // namespace hibiki::gateway
