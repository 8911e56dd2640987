/// Durability across a crash: a child process appends with sync on and reports every acknowledged
/// seq through a pipe; the parent SIGKILLs it mid-stream, reopens the database and checks that
/// every acknowledged event is there. The child is this same test binary, started (fork + exec)
/// on a hidden test case, so it begins with no inherited threads or RocksDB state.

#include <fcntl.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>
#include <semaphore>
#include <set>

#include <catch2/catch.hpp>

#include "hibiki/persistence/rocksdb_backend.hpp"
#include "journal_helpers.hpp"
#include "temp_dir.hpp"

extern char** environ;

using namespace hibiki;
using namespace hibiki::testkit;

namespace {

constexpr const char* child_test_name = "crash child: append with sync and report acks";
constexpr const char* crash_entity = "crash-entity";

void put_be64(unsigned char* out, std::uint64_t v) {
  for (int i = 7; i >= 0; --i, v >>= 8) out[i] = static_cast<unsigned char>(v & 0xff);
}
std::uint64_t get_be64(const unsigned char* in) {
  std::uint64_t v = 0;
  for (int i = 0; i < 8; ++i) v = (v << 8) | in[i];
  return v;
}

}  // namespace

// Hidden ("[.]"): only the crash test below runs it, in a child process.
TEST_CASE("crash child: append with sync and report acks", "[.][crash_child]") {
  const char* dir = std::getenv("HIBIKI_CRASH_DIR");
  const char* fd_text = std::getenv("HIBIKI_CRASH_FD");
  REQUIRE(dir != nullptr);
  REQUIRE(fd_text != nullptr);
  const int fd = std::atoi(fd_text);

  persistence::rocksdb_options options;
  options.path = dir;
  options.sync = true;
  auto backend = persistence::rocksdb_backend::open(options);
  REQUIRE(backend.ok());
  auto& j = (*backend)->journal();
  // Keep up to 32 appends in flight so the writer group-commits them.
  std::counting_semaphore<64> window(32);
  for (seq_nr seq = 1;; ++seq) {
    window.acquire();
    j.async_append(events(crash_entity, seq, seq, "crash-writer"), [&window, fd, seq](status s) {
      if (!s.ok()) ::_exit(3);
      unsigned char record[8];
      put_be64(record, seq);
      if (::write(fd, record, sizeof record) != static_cast<ssize_t>(sizeof record)) ::_exit(4);
      window.release();
    });
  }
}

TEST_CASE("crash: every acknowledged append survives SIGKILL", "[journal][durability]") {
  temp_dir dir;
  const auto db_path = dir.sub("db");
  int fds[2];
  REQUIRE(::pipe(fds) == 0);

  // Everything the child needs is built before fork: after fork only async-signal-safe calls.
  std::vector<std::string> env_strings;
  for (char** e = environ; *e; ++e) env_strings.emplace_back(*e);
  env_strings.push_back("HIBIKI_CRASH_DIR=" + db_path);
  env_strings.push_back("HIBIKI_CRASH_FD=" + std::to_string(fds[1]));
  std::vector<char*> envp;
  for (auto& s : env_strings) envp.push_back(s.data());
  envp.push_back(nullptr);
  std::string exe = "/proc/self/exe", name = child_test_name;
  std::vector<char*> argv = {exe.data(), name.data(), nullptr};

  const pid_t pid = ::fork();
  REQUIRE(pid >= 0);
  if (pid == 0) {
    ::close(fds[0]);
    const int devnull = ::open("/dev/null", O_WRONLY);
    if (devnull >= 0) ::dup2(devnull, STDOUT_FILENO);
    ::execve("/proc/self/exe", argv.data(), envp.data());
    ::_exit(127);
  }
  ::close(fds[1]);

  // Read acks until enough have arrived, kill the child mid-stream, then drain what it had sent.
  std::vector<seq_nr> acked;
  std::string buffer;
  bool killed = false;
  int exit_status = 0;
  for (;;) {
    unsigned char chunk[4096];
    const ssize_t n = ::read(fds[0], chunk, sizeof chunk);
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) break;
    buffer.append(reinterpret_cast<const char*>(chunk), static_cast<std::size_t>(n));
    while (buffer.size() >= 8) {
      acked.push_back(get_be64(reinterpret_cast<const unsigned char*>(buffer.data())));
      buffer.erase(0, 8);
    }
    if (!killed && acked.size() >= 300) {
      ::kill(pid, SIGKILL);
      killed = true;
    }
  }
  ::close(fds[0]);
  REQUIRE(::waitpid(pid, &exit_status, 0) == pid);
  INFO("child exit status " << exit_status << ", acks " << acked.size());
  REQUIRE(killed);
  REQUIRE(WIFSIGNALED(exit_status));
  CHECK(WTERMSIG(exit_status) == SIGKILL);
  REQUIRE(acked.size() >= 300);

  // Acks come in seq order: one entity's appends complete in order.
  for (std::size_t i = 0; i < acked.size(); ++i) REQUIRE(acked[i] == i + 1);

  persistence::rocksdb_options options;
  options.path = db_path;
  auto backend = persistence::rocksdb_backend::open(options);
  REQUIRE(backend.ok());
  auto& j = (*backend)->journal();
  auto highest = j.highest_seq(crash_entity);
  REQUIRE(highest.ok());
  CHECK(*highest >= acked.back());
  auto evs = replay_all(j, crash_entity, 1, persistence::max_seq,
                        std::numeric_limits<std::uint64_t>::max());
  // Every acked seq is there; anything after it that made it to disk is contiguous, no holes.
  REQUIRE(evs.size() == *highest);
  for (std::size_t i = 0; i < evs.size(); ++i) {
    CHECK(evs[i].seq == i + 1);
    CHECK(evs[i].payload == payload_for(crash_entity, i + 1));
  }
  // The journal carries on after the crash.
  CHECK(j.append(events(crash_entity, *highest + 1, *highest + 1, "after-crash")).ok());
}
