/// hibiki_encode_bench: CPU per message of the frames a send_message produces on the server (the
/// message_created push, its room_events and history rows, the ok reply), written through a
/// JSON DOM (the previous path, rebuilt here) against straight to bytes (json_text.hpp, the
/// path hibikid uses). Process CPU time, so a busy machine slows it but does not skew it much.
///
///   hibiki_encode_bench [--messages N] [--body-bytes B]

#include <time.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <string>
#include <string_view>

#include "hibiki/core/protocol.hpp"
#include "hibiki/core/read_model.hpp"
#include "hibiki/core/read_model_text.hpp"

using namespace hibiki;
using nlohmann::json;

namespace {

double cpu_seconds() {
  timespec ts{};
  clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
  return static_cast<double>(ts.tv_sec) + static_cast<double>(ts.tv_nsec) / 1e9;
}

std::string dom_dump(const json& j) {
  return j.dump(-1, ' ', false, json::error_handler_t::replace);
}

/// The reply as encode_ok wrote it before: the fields merged into a new DOM, then dumped.
std::string dom_encode_ok(std::int64_t id, const json& fields) {
  json j = json::object();
  for (auto it = fields.begin(); it != fields.end(); ++it) j[it.key()] = it.value();
  j["re"] = id;
  j["ok"] = true;
  return dom_dump(j);
}

}  // namespace

int main(int argc, char** argv) {
  std::size_t messages = 200'000;
  std::size_t body_bytes = 40;  // the load generator's bodies: "lg:t=<ns> ..." are about this
  for (int i = 1; i + 1 < argc; i += 2) {
    if (std::strcmp(argv[i], "--messages") == 0) messages = std::strtoull(argv[i + 1], nullptr, 10);
    if (std::strcmp(argv[i], "--body-bytes") == 0)
      body_bytes = std::strtoull(argv[i + 1], nullptr, 10);
  }
  auto s =
      room::apply(room::state{},
                  room::room_created{
                      room_id{42}, "bench", "", account_id{1}, {account_id{2}, account_id{3}}, 10});
  std::string body(body_bytes, 'x');
  body.replace(0, std::min<std::size_t>(body.size(), 18), "lg:t=1234567890123");
  // One state with the message in it: encoding is what is measured, not apply.
  const room::event e =
      room::message_posted{message_id{1}, account_id{2}, body, "c1", 1700000000, {}, "account 2"};
  const auto after = room::apply(s, e);

  std::size_t bytes = 0;
  auto t0 = cpu_seconds();
  for (std::size_t i = 0; i < messages; ++i) {
    auto push = dom_dump(*read_model::push_frame(s, e, after));  // the push
    auto row = dom_dump(*read_model::push_frame(s, e, after));   // its room_events row
    auto reply =
        dom_encode_ok(static_cast<std::int64_t>(i),
                      json{{"message_id", protocol::to_wire(message_id{1})}, {"seq", after.seq}});
    bytes += push.size() + row.size() + reply.size();
  }
  auto t1 = cpu_seconds();
  for (std::size_t i = 0; i < messages; ++i) {
    auto push = *read_model::push_frame_text(s, e, after);
    auto row = *read_model::push_frame_text(s, e, after);
    // The history row is written by project() with the same writer; project() also makes the
    // summary and member rows, so it is timed on its own below.
    auto reply = protocol::encode_ok(
        static_cast<std::int64_t>(i),
        json{{"message_id", protocol::to_wire(message_id{1})}, {"seq", after.seq}});
    bytes += push.size() + row.size() + reply.size();
  }
  auto t2 = cpu_seconds();
  std::size_t rows = 0;
  for (std::size_t i = 0; i < messages; ++i) rows += read_model::project(s, e, after).size();
  auto t3 = cpu_seconds();
  for (std::size_t i = 0; i < messages; ++i) {
    bytes += dom_dump(read_model::message_object(message_id{1}, account_id{2}, body, 1700000000, 0,
                                                 false, "account 2"))
                 .size();
  }
  auto t4 = cpu_seconds();

  const double n = static_cast<double>(messages);
  std::printf("messages %zu, body %zu bytes (%zu bytes written, %zu rows)\n", messages, body_bytes,
              bytes, rows);
  std::printf("push + room_events row + reply, DOM:    %.0f ns/message\n", (t1 - t0) / n * 1e9);
  std::printf("push + room_events row + reply, direct: %.0f ns/message\n", (t2 - t1) / n * 1e9);
  std::printf("history row alone, DOM:                 %.0f ns/message\n", (t4 - t3) / n * 1e9);
  std::printf("project() (every row, history direct):  %.0f ns/message\n", (t3 - t2) / n * 1e9);
  std::printf("{\"dom_ns\":%.0f,\"direct_ns\":%.0f,\"history_dom_ns\":%.0f,\"project_ns\":%.0f}\n",
              (t1 - t0) / n * 1e9, (t2 - t1) / n * 1e9, (t4 - t3) / n * 1e9, (t3 - t2) / n * 1e9);
  return 0;
}
