#pragma once
/// Where the web client's files are when --web-root is not given. Installed (`cmake --install`),
/// they are in PREFIX/share/hibiki/web and the binary in PREFIX/bin; in a build tree the source
/// tree's web/ (compiled in as HIBIKI_WEB_ROOT) is used.

#include <string>

namespace hibiki::gateway {

/// EXE_DIR/../share/hibiki/web when it holds an index.html, else `fallback`.
std::string web_root_for_executable(const std::string& executable, const std::string& fallback);

/// web_root_for_executable of this process (/proc/self/exe) with the compiled-in fallback.
std::string default_web_root();

}  // namespace hibiki::gateway
