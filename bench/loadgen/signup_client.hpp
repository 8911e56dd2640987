#pragma once
/// Creates accounts over HTTP (POST /api/signup) before the WebSocket phase. Blocking, on worker
/// threads of its own: set-up is not what the load generator measures.

#include <cstdint>
#include <string>
#include <vector>

namespace hibiki::bench {

struct account {
  std::uint64_t id = 0;
  std::string name;
  std::string token;
};

/// Signs up `count` accounts named `<prefix><n>` with `parallelism` keep-alive connections.
/// Returns fewer accounts than asked (and prints why to stderr) when sign-ups fail. `tls`: https.
std::vector<account> sign_up_accounts(const std::string& host, const std::string& port,
                                      const std::string& prefix, std::size_t count,
                                      std::size_t parallelism, bool tls = false);

}  // namespace hibiki::bench
