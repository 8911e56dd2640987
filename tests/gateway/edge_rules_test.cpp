// The network edge's rules without a socket: address blocks, X-Forwarded-For, the per-address
// key, the connection caps, the sign-up rate limiter, and static files on a real file system
// (symlinks out of the root, dotfiles, directories).

#include <filesystem>

#include <catch2/catch.hpp>

#include "admission.hpp"
#include "client_address.hpp"
#include "static_files.hpp"
#include "temp_dir.hpp"

using namespace hibiki;
using namespace hibiki::gateway;
namespace fs = std::filesystem;

namespace {

net::ip::address ip(const char* text) {
  return net::ip::make_address(text);
}

std::vector<cidr_block> blocks(std::initializer_list<const char*> texts) {
  std::vector<std::string> v(texts.begin(), texts.end());
  auto parsed = parse_cidrs(v);
  REQUIRE(parsed.ok());
  return *parsed;
}

}  // namespace

TEST_CASE("address blocks parse and contain", "[gateway][edge]") {
  auto b = parse_cidr("10.0.0.0/8");
  REQUIRE(b.ok());
  REQUIRE(b->contains(ip("10.1.2.3")));
  REQUIRE_FALSE(b->contains(ip("11.0.0.1")));
  REQUIRE(b->contains(ip("::ffff:10.9.9.9")));  // what a dual-stack listener sees
  REQUIRE_FALSE(b->contains(ip("::1")));

  auto host = parse_cidr(" 127.0.0.1 ");
  REQUIRE(host.ok());
  REQUIRE(host->prefix == 32);
  REQUIRE(host->contains(ip("127.0.0.1")));
  REQUIRE_FALSE(host->contains(ip("127.0.0.2")));

  auto v6 = parse_cidr("fd00::/8");
  REQUIRE(v6.ok());
  REQUIRE(v6->contains(ip("fd12:3456::1")));
  REQUIRE_FALSE(v6->contains(ip("fe80::1")));
  REQUIRE(parse_cidr("0.0.0.0/0")->contains(ip("8.8.8.8")));
  REQUIRE(parse_cidr("10.0.0.0/9")->contains(ip("10.127.255.255")));
  REQUIRE_FALSE(parse_cidr("10.0.0.0/9")->contains(ip("10.128.0.0")));

  for (const char* bad : {"", "10.0.0.0/33", "::/129", "10.0.0.0/", "10.0.0.0/x", "host.example",
                          "10.0.0/8", "10.0.0.0/8/8", "10.0.0.0/-1"}) {
    INFO(bad);
    auto r = parse_cidr(bad);
    REQUIRE_FALSE(r.ok());
    REQUIRE(r.error().code == errc::bad_request);
  }
}

TEST_CASE("X-Forwarded-For is believed only from trusted proxies", "[gateway][edge]") {
  const auto none = blocks({});
  const auto local = blocks({"127.0.0.1"});
  // No trusted proxies: the header is ignored.
  REQUIRE(client_address(ip("127.0.0.1"), "203.0.113.7", none) == ip("127.0.0.1"));
  // A peer that is not trusted cannot name someone else.
  REQUIRE(client_address(ip("198.51.100.1"), "203.0.113.7", local) == ip("198.51.100.1"));
  // The trusted proxy names the client.
  REQUIRE(client_address(ip("127.0.0.1"), "203.0.113.7", local) == ip("203.0.113.7"));
  // The rightmost untrusted hop: what the client wrote itself (to the left) is not believed.
  REQUIRE(client_address(ip("127.0.0.1"), "1.1.1.1, 203.0.113.7", local) == ip("203.0.113.7"));
  // Chains of trusted proxies are walked through.
  const auto chain = blocks({"127.0.0.1", "10.0.0.0/8"});
  REQUIRE(client_address(ip("127.0.0.1"), "6.6.6.6,203.0.113.7, 10.0.0.5", chain) ==
          ip("203.0.113.7"));
  // Every hop trusted: the leftmost.
  REQUIRE(client_address(ip("127.0.0.1"), "10.0.0.9, 10.0.0.5", chain) == ip("10.0.0.9"));
  // No header from a trusted proxy: the proxy itself.
  REQUIRE(client_address(ip("127.0.0.1"), "", local) == ip("127.0.0.1"));
  // Garbage stops the walk at the last hop believed.
  REQUIRE(client_address(ip("127.0.0.1"), "203.0.113.7, nonsense", local) == ip("127.0.0.1"));
  REQUIRE(client_address(ip("127.0.0.1"), "nonsense, 10.0.0.5", chain) == ip("10.0.0.5"));
  // Mapped IPv4 peers count as IPv4.
  REQUIRE(client_address(ip("::ffff:127.0.0.1"), "203.0.113.7", local) == ip("203.0.113.7"));
  REQUIRE(client_address(ip("::ffff:198.51.100.1"), "", none) == ip("198.51.100.1"));
}

TEST_CASE("per-address limits count IPv4 hosts and IPv6 /64s", "[gateway][edge]") {
  REQUIRE(limit_key(ip("203.0.113.7")) == "203.0.113.7");
  REQUIRE(limit_key(ip("::ffff:203.0.113.7")) == "203.0.113.7");
  REQUIRE(limit_key(ip("2001:db8:1:2:aaaa::1")) == limit_key(ip("2001:db8:1:2:bbbb::2")));
  REQUIRE(limit_key(ip("2001:db8:1:2::1")) != limit_key(ip("2001:db8:1:3::1")));
}

TEST_CASE("connection caps: total, per address, refusals bounded", "[gateway][edge]") {
  connection_limits limits(3, 2, 1);
  admission_slot a1, a2, a3, b1, over;
  REQUIRE(limits.admit("a", a1) == connection_limits::verdict::admitted);
  REQUIRE(limits.admit("a", a2) == connection_limits::verdict::admitted);
  REQUIRE(limits.admit("a", a3) == connection_limits::verdict::over_address);
  REQUIRE(limits.open_for("a") == 2);
  {
    // One refusal is being answered: the next one over a cap is closed at once.
    admission_slot refused;
    REQUIRE(limits.admit("a", refused) == connection_limits::verdict::close_at_once);
  }
  a3 = admission_slot();  // the refusal ends
  REQUIRE(limits.admit("b", b1) == connection_limits::verdict::admitted);
  REQUIRE(limits.admit("c", over) == connection_limits::verdict::over_total);
  REQUIRE(limits.open_total() == 3);
  over = admission_slot();
  a1 = admission_slot();  // a connection closes: room again, for "a" too
  REQUIRE(limits.open_total() == 2);
  REQUIRE(limits.open_for("a") == 1);
  admission_slot again;
  REQUIRE(limits.admit("a", again) == connection_limits::verdict::admitted);

  // A slot moved into another object (http_session → ws_session) is released once.
  admission_slot moved(std::move(again));
  REQUIRE(limits.open_for("a") == 2);
  moved = admission_slot();
  REQUIRE(limits.open_for("a") == 1);

  // A proxied connection enters its address later; the cap still holds.
  connection_limits later(0, 1, 4);
  admission_slot p1, p2;
  REQUIRE(later.admit("", p1) == connection_limits::verdict::admitted);
  REQUIRE(later.admit("", p2) == connection_limits::verdict::admitted);
  REQUIRE(p1.enter_address("203.0.113.7"));
  REQUIRE_FALSE(p2.enter_address("203.0.113.7"));
  REQUIRE(p2.enter_address("203.0.113.8"));
  p1 = admission_slot();
  REQUIRE(later.open_for("203.0.113.7") == 0);

  // 0 = no cap.
  connection_limits open(0, 0, 0);
  std::vector<admission_slot> many(500);
  for (auto& s : many) REQUIRE(open.admit("x", s) == connection_limits::verdict::admitted);
}

TEST_CASE("sign-up rate per address is a token bucket", "[gateway][edge]") {
  using clock = rate_limiter_by_key::clock;
  rate_limiter_by_key limiter(3, std::chrono::seconds(60), 4);
  const auto t0 = clock::time_point{} + std::chrono::hours(1);
  std::chrono::seconds retry{0};
  for (int i = 0; i < 3; ++i) REQUIRE(limiter.try_take("a", t0, retry));
  REQUIRE_FALSE(limiter.try_take("a", t0, retry));
  REQUIRE(retry == std::chrono::seconds(20));  // one token per 20 s
  REQUIRE(limiter.try_take("b", t0, retry));   // another address is not affected
  REQUIRE_FALSE(limiter.try_take("a", t0 + std::chrono::seconds(19), retry));
  REQUIRE(retry == std::chrono::seconds(1));
  REQUIRE(limiter.try_take("a", t0 + std::chrono::seconds(20), retry));

  // The table is bounded: past max_keys new addresses are refused until entries refill.
  REQUIRE(limiter.try_take("c", t0, retry));
  REQUIRE(limiter.try_take("d", t0, retry));
  REQUIRE(limiter.tracked_keys() == 4);
  REQUIRE_FALSE(limiter.try_take("e", t0, retry));
  // Once full buckets age out, a new address fits again.
  REQUIRE(limiter.try_take("e", t0 + std::chrono::seconds(120), retry));

  rate_limiter_by_key off(0, std::chrono::seconds(60));
  for (int i = 0; i < 1000; ++i) REQUIRE(off.try_take("a", t0, retry));
  REQUIRE(off.tracked_keys() == 0);
}

TEST_CASE("static files: symlinks out of the root, dotfiles and directories are not served",
          "[gateway][edge][static]") {
  testkit::temp_dir dir;
  const auto root = dir.path() / "web";
  fs::create_directories(root / "sub");
  fs::create_directories(root / ".git");
  testkit::write_file(root / "index.html", "index");
  testkit::write_file(root / "app.js", "app");
  testkit::write_file(root / "sub" / "page.html", "page");
  testkit::write_file(root / "sub" / "index.html", "sub index");
  testkit::write_file(root / ".env", "SECRET");
  testkit::write_file(root / ".git" / "config", "SECRET");
  testkit::write_file(dir.path() / "outside.txt", "SECRET");
  fs::create_directories(dir.path() / "web-old");
  testkit::write_file(dir.path() / "web-old" / "x.txt", "SECRET");
  fs::create_symlink(dir.path() / "outside.txt", root / "escape.txt");
  fs::create_symlink(dir.path(), root / "up");
  fs::create_symlink(dir.path() / "web-old", root / "old");
  fs::create_symlink(root / "app.js", root / "alias.js");  // stays inside: served
  fs::create_symlink(root / ".env", root / "env.txt");     // inside, but to a dotfile

  using outcome = static_lookup::outcome;
  const auto r = root.string();
  auto served = [&](const char* target) {
    auto found = find_static_file(r, target);
    INFO(target);
    REQUIRE(found.result == outcome::file);
    return found.path;
  };
  REQUIRE(served("/") == fs::canonical(root / "index.html").string());
  REQUIRE(served("/app.js?v=2") == fs::canonical(root / "app.js").string());
  REQUIRE(served("/sub/page.html") == fs::canonical(root / "sub" / "page.html").string());
  REQUIRE(served("/alias.js") == fs::canonical(root / "app.js").string());

  for (const char* target :
       {"/escape.txt", "/up/outside.txt", "/old/x.txt", "/.env", "/.git/config", "/sub/.hidden",
        "/env.txt", "/sub/", "/sub", "/missing.js", "/up/"}) {
    INFO(target);
    REQUIRE(find_static_file(r, target).result == outcome::not_found);
  }
  for (const char* target : {"/../outside.txt", "/%2e%2e/outside.txt", "//etc/passwd", "x"}) {
    INFO(target);
    REQUIRE(find_static_file(r, target).result == outcome::bad_request);
  }
  REQUIRE(has_dot_segment("/a/.b/c"));
  REQUIRE(has_dot_segment("/.env?x=1"));
  REQUIRE_FALSE(has_dot_segment("/a.b/c.d"));
  REQUIRE_FALSE(has_dot_segment("/?q=/.x"));
  // A missing web root serves nothing.
  REQUIRE(find_static_file((dir.path() / "none").string(), "/").result == outcome::not_found);
}
