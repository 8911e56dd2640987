#include "local_files.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstring>

namespace hibiki::cli {
namespace {

/// The temporary file being written, for the signal handler: a fixed buffer, as a handler may
/// not allocate.
char pending_temp[4096] = {0};

extern "C" void remove_pending_temp(int sig) {
  if (pending_temp[0] != '\0') ::unlink(pending_temp);  // async-signal-safe, as are the next two
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

status fail(std::string message) {
  return status(errc::internal, std::move(message));
}

}  // namespace

int fd_guard::close() {
  if (fd_ < 0) return 0;
  const int r = ::close(fd_);
  fd_ = -1;
  return r;
}

std::string human_size(std::uint64_t bytes) {
  const char* units[] = {"B", "KiB", "MiB", "GiB", "TiB"};
  double v = static_cast<double>(bytes);
  int u = 0;
  while (v >= 1024 && u < 4) v /= 1024, ++u;
  char buf[32];
  std::snprintf(buf, sizeof buf, u == 0 ? "%.0f %s" : "%.1f %s", v, units[u]);
  return buf;
}

progress_line::progress_line(std::string what, std::uint64_t total)
    : what_(std::move(what)), total_(total), on_(::isatty(STDERR_FILENO) == 1) {}

void progress_line::operator()(std::uint64_t done) {
  if (!on_) return;
  const auto now = std::chrono::steady_clock::now();
  if (shown_ && done < total_ && now - last_ < std::chrono::milliseconds(100)) return;
  last_ = now;
  shown_ = true;
  const auto percent = total_ == 0 ? 100 : static_cast<unsigned>(done * 100 / total_);
  std::fprintf(stderr, "\r%s: %s of %s (%u%%)\033[K", what_.c_str(), human_size(done).c_str(),
               human_size(total_).c_str(), percent);
  std::fflush(stderr);
}

void progress_line::finish() {
  if (shown_) std::fputc('\n', stderr);
  shown_ = false;
}

result<std::unique_ptr<temp_file>> temp_file::create(const std::filesystem::path& dir) {
  auto templ = (dir / ".hibiki-download-XXXXXX").string();
  if (templ.size() >= sizeof pending_temp)
    return error{errc::internal, "the directory path is too long: " + dir.string()};
  const int fd = ::mkstemp(templ.data());
  if (fd < 0) {
    return error{errc::internal,
                 "cannot create a file in " + dir.string() + ": " + std::strerror(errno)};
  }
  const auto mask = ::umask(0);
  ::umask(mask);
  ::fchmod(fd, 0666 & ~mask);
  auto t = std::unique_ptr<temp_file>(new temp_file(fd, templ));
  std::memcpy(pending_temp, templ.c_str(), templ.size() + 1);
  std::signal(SIGINT, remove_pending_temp);
  std::signal(SIGTERM, remove_pending_temp);
  std::signal(SIGHUP, remove_pending_temp);
  return t;
}

temp_file::~temp_file() {
  fd_.close();
  if (!kept_) ::unlink(path_.c_str());
  pending_temp[0] = '\0';
}

status temp_file::place(const std::filesystem::path& dest, bool replace) {
  if (::fsync(fd_.get()) != 0 || fd_.close() != 0)
    return fail("cannot write " + dest.string() + ": " + std::strerror(errno));
  int r = 0;
  if (replace) {
    r = ::rename(path_.c_str(), dest.c_str());
  } else {
    r = ::renameat2(AT_FDCWD, path_.c_str(), AT_FDCWD, dest.c_str(), RENAME_NOREPLACE);
    if (r != 0 && (errno == EINVAL || errno == ENOSYS)) {
      // A file system without RENAME_NOREPLACE: a hard link refuses an existing name too.
      r = ::link(path_.c_str(), dest.c_str());
      if (r == 0) ::unlink(path_.c_str());
    }
  }
  if (r != 0) {
    if (errno == EEXIST) return fail(dest.string() + " exists: pass --force to replace it");
    return fail("cannot save " + dest.string() + ": " + std::strerror(errno));
  }
  kept_ = true;
  return status::success();
}

}  // namespace hibiki::cli
