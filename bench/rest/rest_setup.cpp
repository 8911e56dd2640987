#include "rest_setup.hpp"

#include <atomic>
#include <exception>
#include <mutex>
#include <stdexcept>
#include <thread>

#include <boost/beast/http/verb.hpp>
#include <nlohmann/json.hpp>

namespace hibiki::bench {

using verb = boost::beast::http::verb;

void expect_status(const char* what, unsigned status, const std::string& body, unsigned expected) {
  if (status != expected)
    throw std::runtime_error(std::string(what) + " failed: HTTP " + std::to_string(status) + " " +
                             body);
}

void in_parallel(const server_address& server, std::size_t jobs, std::size_t workers,
                 const std::function<void(rest_conn&, std::size_t)>& job) {
  std::atomic<std::size_t> next{0};
  std::mutex mutex;
  std::exception_ptr failure;
  std::vector<std::thread> threads;
  for (std::size_t w = 0; w < std::min(workers, jobs); ++w) {
    threads.emplace_back([&] {
      try {
        boost::asio::io_context ioc;
        rest_conn c(ioc, server);
        for (auto i = next++; i < jobs; i = next++) job(c, i);
      } catch (...) {
        std::lock_guard lock(mutex);
        if (!failure) failure = std::current_exception();
        next = jobs;  // the others stop after their current job
      }
    });
  }
  for (auto& t : threads) t.join();
  if (failure) std::rethrow_exception(failure);
}

std::vector<bench_account> sign_up(const server_address& server, std::size_t n) {
  std::vector<bench_account> accounts(n);
  in_parallel(server, n, 8, [&](rest_conn& c, std::size_t i) {
    auto [st, body] =
        c.call(verb::post, "/api/signup", "",
               nlohmann::json{{"name", "bench" + std::to_string(i)}}.dump(), "application/json");
    expect_status("sign-up", st, body);
    auto j = nlohmann::json::parse(body);
    accounts[i].id = j["account_id"].get<std::uint64_t>();
    accounts[i].token = j["token"].get<std::string>();
  });
  return accounts;
}

std::uint64_t create_room(rest_conn& c, const bench_account& admin,
                          const std::vector<bench_account>& members) {
  std::string ids;
  for (const auto& m : members) ids += (ids.empty() ? "" : ",") + std::to_string(m.id);
  std::string form = "name=bench&members_admin_ids=" + std::to_string(admin.id);
  if (!ids.empty()) form += "&members_member_ids=" + form_escape(ids);
  auto [st, body] =
      c.call(verb::post, "/v2/rooms", admin.token, form, "application/x-www-form-urlencoded");
  expect_status("room creation", st, body);
  return nlohmann::json::parse(body)["room_id"].get<std::uint64_t>();
}

std::string post_message(rest_conn& c, const bench_account& author, std::uint64_t room,
                         const std::string& form_body) {
  auto [st, body] = c.call(verb::post, "/v2/rooms/" + std::to_string(room) + "/messages",
                           author.token, form_body, "application/x-www-form-urlencoded");
  expect_status("post", st, body);
  return nlohmann::json::parse(body)["message_id"].get<std::string>();
}

}  // namespace hibiki::bench
