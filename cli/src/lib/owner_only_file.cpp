// The checks every secret file of hibikid goes through (owner_only_file.hpp).

#include "owner_only_file.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>

namespace hibiki::cli {

result<std::string> read_owner_only_file(const std::string& path, const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return result<std::string>(errc::bad_request, flag + " " + path + ": " + why);
  };
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return bad(std::string("cannot open: ") + std::strerror(errno));
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return bad("not a regular file");
  }
  if ((st.st_mode & 077) != 0) {
    ::close(fd);
    char mode[8];
    std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
    return bad(std::string("is readable or writable by group or others (mode ") + mode +
               "); make it the owner's alone: chmod 600 " + path);
  }
  std::string text;
  char buf[4096];
  for (;;) {
    const auto n = ::read(fd, buf, sizeof buf);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) {
      ::close(fd);
      return bad(std::string("cannot read: ") + std::strerror(errno));
    }
    if (n == 0) break;
    text.append(buf, static_cast<std::size_t>(n));
    if (text.size() > 64 * 1024) {
      ::close(fd);
      return bad("larger than 64 KiB");
    }
  }
  ::close(fd);
  return text;
}

}  // namespace hibiki::cli
