/// Task statuses and limit types on the wire and in the journal.

#include "hibiki/core/room.hpp"

namespace hibiki::room {

std::string_view to_string(task_status s) {
  return s == task_status::done ? "done" : "open";
}

std::optional<task_status> parse_task_status(std::string_view text) {
  if (text == "open") return task_status::open;
  if (text == "done") return task_status::done;
  return std::nullopt;
}

std::string_view to_string(limit_type t) {
  switch (t) {
    case limit_type::none:
      return "none";
    case limit_type::date:
      return "date";
    case limit_type::time:
      return "time";
  }
  return "none";
}

std::optional<limit_type> parse_limit_type(std::string_view text) {
  if (text == "none") return limit_type::none;
  if (text == "date") return limit_type::date;
  if (text == "time") return limit_type::time;
  return std::nullopt;
}

}  // namespace hibiki::room
