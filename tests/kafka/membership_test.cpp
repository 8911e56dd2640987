// kafka_membership against the real broker of the `kafka` CTest fixture: one member owns every
// partition, a second one takes half, a leaving member hands its half back, bad inputs fail.
#include <algorithm>
#include <catch2/catch.hpp>
#include <chrono>
#include <csignal>
#include <functional>
#include <memory>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <poll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "../persistence/journal_helpers.hpp"
#include "hibiki/persistence/kafka_membership.hpp"
#include "kafka/rdkafka_client.hpp"
#include "kafka_env.hpp"

namespace {

using hibiki::errc;
using hibiki::persistence::kafka_group_member;
using hibiki::persistence::kafka_membership;
using hibiki::persistence::kafka_membership_handlers;
using hibiki::persistence::kafka_membership_options;
using hibiki::testkit::random_id;
using hibiki::testkit::test_brokers;
using partitions = std::vector<std::int32_t>;

constexpr std::int32_t partition_count = 6;
const partitions all_partitions{0, 1, 2, 3, 4, 5};

/// Polls `condition` every 100 ms for up to 60 s; true once it holds. Never a timing assertion:
/// the bound only keeps a broken test from hanging.
bool eventually(const std::function<bool()>& condition) {
  const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(60);
  while (std::chrono::steady_clock::now() < deadline) {
    if (condition()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
  }
  return condition();
}

std::string make_topic() {
  auto topic = random_id("hibiki-membership");
  auto admin = hibiki::persistence::kafka::admin_client::create({test_brokers(), {}});
  REQUIRE(admin);
  auto made = (*admin)->create_topic(topic, partition_count, 1, {}, std::chrono::seconds(30));
  REQUIRE(made);
  return topic;
}

kafka_membership_options options_for(const std::string& topic, const std::string& group,
                                     const std::string& name) {
  kafka_membership_options o;
  o.brokers = test_brokers();
  o.topic = topic;
  o.group_id = group;
  o.member_name = name;
  o.session_timeout = std::chrono::seconds(10);
  return o;
}

/// What one member's handlers were told, folded into the set they imply it owns, plus the log of
/// calls. Checked against owned() so the two views cannot drift apart.
struct recorder {
  mutable std::mutex mutex;
  std::set<std::int32_t> held;
  std::vector<std::string> calls;
  bool double_assign = false;   // a partition assigned while already held
  bool foreign_revoke = false;  // a partition revoked or lost that was not held

  kafka_membership_handlers handlers() {
    kafka_membership_handlers h;
    h.on_assigned = [this](partitions ps) {
      std::lock_guard lock(mutex);
      calls.push_back("assigned");
      for (auto p : ps) double_assign |= !held.insert(p).second;
    };
    auto remove = [this](const char* what, const partitions& ps) {
      std::lock_guard lock(mutex);
      calls.push_back(what);
      for (auto p : ps) foreign_revoke |= held.erase(p) == 0;
    };
    h.on_revoked = [remove](partitions ps) { remove("revoked", ps); };
    h.on_lost = [remove](partitions ps) { remove("lost", ps); };
    return h;
  }
  partitions holding() const {
    std::lock_guard lock(mutex);
    return {held.begin(), held.end()};
  }
  bool saw(const std::string& what) const {
    std::lock_guard lock(mutex);
    return std::find(calls.begin(), calls.end(), what) != calls.end();
  }
};

std::unique_ptr<kafka_membership> join(const kafka_membership_options& o, recorder& r) {
  auto joined = kafka_membership::join(o, r.handlers());
  if (!joined) FAIL("join: " << joined.error().message);
  return std::move(*joined);
}

partitions merged(const partitions& a, const partitions& b) {
  partitions out;
  std::set_union(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(out));
  return out;
}

bool disjoint(const partitions& a, const partitions& b) {
  partitions both;
  std::set_intersection(a.begin(), a.end(), b.begin(), b.end(), std::back_inserter(both));
  return both.empty();
}

const kafka_group_member* find_member(const std::vector<kafka_group_member>& members,
                                      const std::string& client_id) {
  for (const auto& m : members) {
    if (m.client_id == client_id) return &m;
  }
  return nullptr;
}

}  // namespace

TEST_CASE("kafka membership: members share the partitions and hand them over",
          "[kafka][membership]") {
  const auto topic = make_topic();
  const auto group = random_id("hibiki-group");
  const auto name_a = "node-a-" + random_id("ep");
  const auto name_b = "node-b-" + random_id("ep");

  recorder ra;
  auto a = join(options_for(topic, group, name_a), ra);
  REQUIRE(a->member_name() == name_a);

  // (1) Alone in the group: every partition.
  REQUIRE(eventually([&] { return a->owned() == all_partitions; }));
  CHECK(ra.holding() == all_partitions);
  REQUIRE(eventually([&] {
    auto members = a->describe();
    return members && members->size() == 1 && (*members)[0].client_id == name_a &&
           (*members)[0].partitions == all_partitions;
  }));

  // (2) A second member joins: the cooperative-sticky assignor splits them, three each, and no
  // partition is owned by both once the two-step rebalance settled.
  recorder rb;
  auto b = join(options_for(topic, group, name_b), rb);
  REQUIRE(eventually([&] {
    const auto oa = a->owned();
    const auto ob = b->owned();
    return oa.size() == 3 && ob.size() == 3 && disjoint(oa, ob) && merged(oa, ob) == all_partitions;
  }));
  CHECK(ra.holding() == a->owned());
  CHECK(rb.holding() == b->owned());
  CHECK(ra.saw("revoked"));  // a gave up half in an orderly way...
  CHECK_FALSE(ra.saw("lost"));
  CHECK(rb.saw("assigned"));  // ...and b was given it

  std::vector<kafka_group_member> members;
  REQUIRE(eventually([&] {
    auto described = b->describe();
    if (!described) return false;
    members = *described;
    const auto* ma = find_member(members, name_a);
    const auto* mb = find_member(members, name_b);
    return members.size() == 2 && ma && mb && ma->partitions == a->owned() &&
           mb->partitions == b->owned();
  }));
  for (const auto& m : members) {
    CHECK_FALSE(m.member_id.empty());
    CHECK_FALSE(m.host.empty());
  }

  // (3) b leaves: its partitions are revoked (not lost) and a ends up with all six.
  b->close();
  CHECK(b->owned().empty());
  CHECK(rb.holding().empty());
  CHECK(rb.saw("revoked"));
  CHECK_FALSE(rb.saw("lost"));
  b->close();  // idempotent
  REQUIRE(eventually([&] { return a->owned() == all_partitions; }));
  CHECK(ra.holding() == all_partitions);
  REQUIRE(eventually([&] {
    auto described = a->describe();
    return described && described->size() == 1 && (*described)[0].client_id == name_a &&
           (*described)[0].partitions == all_partitions;
  }));
  // describe() still answers after close().
  auto after = b->describe();
  REQUIRE(after);
  CHECK(find_member(*after, name_b) == nullptr);

  CHECK_FALSE(ra.double_assign);
  CHECK_FALSE(ra.foreign_revoke);
  CHECK_FALSE(rb.double_assign);
  CHECK_FALSE(rb.foreign_revoke);

  a->close();
  CHECK(a->owned().empty());
  REQUIRE(eventually([&] {
    auto described = a->describe();
    return described && described->empty();
  }));
}

TEST_CASE("kafka membership: bad inputs", "[kafka][membership]") {
  const auto good = options_for("some-topic", random_id("hibiki-group"), "node");
  recorder r;
  auto expect_bad = [&](kafka_membership_options o) {
    auto joined = kafka_membership::join(o, r.handlers());
    REQUIRE_FALSE(joined);
    CHECK(joined.error().code == errc::bad_request);
  };
  SECTION("empty brokers") {
    auto o = good;
    o.brokers.clear();
    expect_bad(o);
  }
  SECTION("empty topic") {
    auto o = good;
    o.topic.clear();
    expect_bad(o);
  }
  SECTION("empty group") {
    auto o = good;
    o.group_id.clear();
    expect_bad(o);
  }
  SECTION("empty member name") {
    auto o = good;
    o.member_name.clear();
    expect_bad(o);
  }
  SECTION("non-positive session timeout") {
    auto o = good;
    o.session_timeout = std::chrono::milliseconds(0);
    expect_bad(o);
  }
  SECTION("a property librdkafka rejects") {
    auto o = good;
    o.extra_config = {{"no.such.property", "1"}};
    expect_bad(o);
  }
}

TEST_CASE("kafka membership: an unreachable broker makes describe unavailable",
          "[kafka][membership]") {
  // Port 1 on loopback: privileged, so no test broker or helper listens there.
  auto o = options_for("some-topic", random_id("hibiki-group"), "node");
  o.brokers = "127.0.0.1:1";
  recorder r;
  auto m = join(o, r);  // joining is asynchronous: creating the member succeeds
  const auto described = m->describe(std::chrono::seconds(2));
  REQUIRE_FALSE(described);
  CHECK(described.error().code == errc::unavailable);
  CHECK(m->owned().empty());
  m->close();  // leaving a group it never reached still ends
  CHECK(m->owned().empty());
}

/// Waits up to 60 s for one byte on `fd`; 0 when none came.
char read_byte(int fd) {
  pollfd p{fd, POLLIN, 0};
  char c = 0;
  if (::poll(&p, 1, 60'000) == 1 && ::read(fd, &c, 1) == 1) return c;
  return 0;
}

TEST_CASE("kafka membership: a frozen member's partitions are lost, not revoked",
          "[kafka][membership]") {
  const auto topic = make_topic();
  const auto group = random_id("hibiki-group");
  int pipe_fds[2];
  REQUIRE(::pipe(pipe_fds) == 0);
  // Member b runs in a child process, so SIGSTOP freezes its heartbeats (as a stalled node's).
  // Forked before this process starts any librdkafka thread of its own. It reports over the
  // pipe: 'A' once it owns partitions, 'L' when told they were lost, 'R' when it holds some again
  // after that.
  const pid_t child = ::fork();
  REQUIRE(child >= 0);
  if (child == 0) {
    ::close(pipe_fds[0]);
    recorder rc;
    auto ob = options_for(topic, group, "node-b");
    ob.session_timeout = std::chrono::seconds(6);
    auto joined = kafka_membership::join(ob, rc.handlers());
    if (!joined) ::_exit(1);
    bool assigned = false;
    bool lost = false;
    for (int i = 0; i < 1800; ++i) {  // at most 3 minutes; the parent kills it sooner
      const bool holds = !(*joined)->owned().empty();
      char c = 0;
      if (!assigned && holds) c = 'A', assigned = true;
      if (assigned && !lost && rc.saw("lost")) c = 'L', lost = true;
      if (c && ::write(pipe_fds[1], &c, 1) != 1) ::_exit(1);
      if (lost && holds && !rc.foreign_revoke && !rc.double_assign) {
        c = 'R';
        if (::write(pipe_fds[1], &c, 1) != 1) ::_exit(1);
        break;
      }
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    std::this_thread::sleep_for(std::chrono::seconds(180));
    ::_exit(0);
  }
  ::close(pipe_fds[1]);
  struct reaper {
    pid_t pid;
    int fd;
    ~reaper() {
      ::kill(pid, SIGKILL);
      ::waitpid(pid, nullptr, 0);
      ::close(fd);
    }
  } reap{child, pipe_fds[0]};

  REQUIRE(read_byte(pipe_fds[0]) == 'A');
  recorder ra;
  auto a = join(options_for(topic, group, "node-a"), ra);
  REQUIRE(eventually([&] { return a->owned().size() == 3; }));

  REQUIRE(::kill(child, SIGSTOP) == 0);
  // Past b's session timeout the coordinator gives a everything.
  REQUIRE(eventually([&] { return a->owned() == all_partitions; }));
  REQUIRE(::kill(child, SIGCONT) == 0);
  CHECK(read_byte(pipe_fds[0]) == 'L');
  CHECK(read_byte(pipe_fds[0]) == 'R');
  REQUIRE(eventually([&] {
    auto members = a->describe();
    if (!members || members->size() != 2) return false;
    const auto& pa = (*members)[0].partitions;
    const auto& pb = (*members)[1].partitions;
    return !pa.empty() && !pb.empty() && disjoint(pa, pb) && merged(pa, pb) == all_partitions;
  }));
  CHECK(ra.holding() == a->owned());
  CHECK_FALSE(ra.double_assign);
  CHECK_FALSE(ra.foreign_revoke);
  CHECK_FALSE(ra.saw("lost"));
  a->close();
}
