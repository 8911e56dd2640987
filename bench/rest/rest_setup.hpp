#pragma once
/// The REST benchmark's set-up (not measured): accounts, rooms and messages made through the
/// public API, as a client would make them.

#include <cstddef>
#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "rest_client.hpp"

namespace hibiki::bench {

struct bench_account {
  std::uint64_t id = 0;
  std::string token;
};

/// Runs `job(conn, i)` for i in [0, jobs) on `workers` threads, each with its own connection.
/// Rethrows the first failure after all threads stop.
void in_parallel(const server_address& server, std::size_t jobs, std::size_t workers,
                 const std::function<void(rest_conn&, std::size_t)>& job);

/// Signs up `n` accounts (POST /api/signup: the server needs --open-signup and --signup-rate=0).
std::vector<bench_account> sign_up(const server_address& server, std::size_t n);

/// POST /v2/rooms by `admin` with `members` as members; returns the room id.
std::uint64_t create_room(rest_conn& c, const bench_account& admin,
                          const std::vector<bench_account>& members);

/// POST /v2/rooms/{room}/messages by `author`; returns the message id (a digit string).
std::string post_message(rest_conn& c, const bench_account& author, std::uint64_t room,
                         const std::string& form_body);

/// Throws std::runtime_error("WHAT failed: HTTP status body") unless `status` is `expected`.
void expect_status(const char* what, unsigned status, const std::string& body,
                   unsigned expected = 200);

}  // namespace hibiki::bench
