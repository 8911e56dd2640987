#include "hibiki/cli/journal_status.hpp"

#include <boost/asio/connect.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>
#include <cstdint>
#include <cstdio>
#include <optional>
#include <sstream>

namespace hibiki::cli {
namespace {

namespace beast = boost::beast;
namespace http = boost::beast::http;
namespace net = boost::asio;
using tcp = boost::asio::ip::tcp;
using json = nlohmann::json;

std::string with_port(const server_url& url) {
  return (url.host.find(':') != std::string::npos ? "[" + url.host + "]" : url.host) + ":" +
         url.port;
}

/// "code: message" from the gateway's {"error":{"code","message"}}, else the start of the body.
std::string error_text(const std::string& body) {
  auto j = json::parse(body, nullptr, false);
  if (j.is_object() && j.contains("error") && j["error"].is_object()) {
    const auto& e = j["error"];
    auto code = e.contains("code") && e["code"].is_string() ? e["code"].get<std::string>() : "";
    auto message =
        e.contains("message") && e["message"].is_string() ? e["message"].get<std::string>() : "";
    if (!code.empty() || !message.empty()) return code + ": " + message;
  }
  return body.substr(0, 200);
}

/// Reads a member that may be missing (nullopt) but, when there, must have the right type.
struct reader {
  const json& j;
  std::string where;
  std::string problem;

  std::optional<std::string> text(const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_string()) return wrong(key, "a string");
    return j[key].get<std::string>();
  }
  std::optional<std::int64_t> integer(const char* key) {
    if (!j.contains(key) || j[key].is_null()) return std::nullopt;
    if (!j[key].is_number_integer()) return wrong<std::int64_t>(key, "an integer");
    return j[key].get<std::int64_t>();
  }
  template <class T = std::string>
  std::optional<T> wrong(const char* key, const char* what) {
    if (problem.empty()) problem = where + "\"" + key + "\" is not " + what;
    return std::nullopt;
  }
};

std::string number_or_dash(std::optional<std::int64_t> v) {
  return v && *v >= 0 ? std::to_string(*v) : "-";
}

}  // namespace

result<journal_status_reply> fetch_journal_status(const server_url& url,
                                                  std::chrono::milliseconds timeout) {
  using reply = result<journal_status_reply>;
  const auto where = with_port(url);
  net::io_context ioc;
  beast::error_code ec;
  tcp::resolver resolver(ioc);
  auto endpoints = resolver.resolve(url.host, url.port, ec);
  if (ec) return reply(errc::unavailable, "cannot resolve " + url.host + ": " + ec.message());

  // Asynchronous, with the stream's deadline: a server that accepts and never answers must not
  // hang the command.
  beast::tcp_stream stream(ioc);
  http::request<http::empty_body> req{http::verb::get, "/api/journal", 11};
  req.set(http::field::host, where);
  req.set(http::field::user_agent, "hibiki-cli");
  req.keep_alive(false);
  beast::flat_buffer buffer;
  http::response_parser<http::string_body> parser;
  parser.body_limit(16 * 1024 * 1024);
  std::string failed_step;
  beast::error_code failure;

  stream.expires_after(timeout);
  stream.async_connect(endpoints, [&](beast::error_code e, const tcp::endpoint&) {
    if (e) {
      failed_step = "connect to";
      failure = e;
      return;
    }
    stream.expires_after(timeout);
    http::async_write(stream, req, [&](beast::error_code e2, std::size_t) {
      if (e2) {
        failed_step = "send the request to";
        failure = e2;
        return;
      }
      stream.expires_after(timeout);
      http::async_read(stream, buffer, parser, [&](beast::error_code e3, std::size_t) {
        if (e3) {
          failed_step = "read the answer from";
          failure = e3;
        }
      });
    });
  });
  ioc.run();

  if (failure) {
    if (failure == beast::error::timeout) {
      return reply(errc::unavailable, "no answer from " + where + " within " +
                                          std::to_string(timeout.count()) + " ms");
    }
    auto message = "cannot " + failed_step + " " + where + ": " + failure.message();
    if (failure == net::error::connection_refused) message += " (is hibikid running there?)";
    return reply(errc::unavailable, message);
  }
  auto res = parser.release();
  if (res.result() == http::status::forbidden) {
    return reply(errc::forbidden, "the server refused the journal status (HTTP 403 " +
                                      error_text(res.body()) +
                                      "); it is served to loopback only: run hibiki on the "
                                      "server's machine");
  }
  if (res.result() != http::status::ok) {
    auto message = "journal status failed (HTTP " + std::to_string(res.result_int()) + " " +
                   error_text(res.body()) + ")";
    if (res.result() == http::status::not_found)
      message += "; is this a hibikid that serves /api/journal?";
    return reply(errc::internal, message);
  }
  auto j = json::parse(res.body(), nullptr, false);
  if (j.is_discarded() || !j.is_object()) {
    return reply(errc::internal,
                 "the server's journal status is not a JSON object: " + res.body().substr(0, 80));
  }
  return journal_status_reply{res.body(), std::move(j)};
}

result<std::string> format_journal_status(const json& status) {
  using out_t = result<std::string>;
  if (!status.is_object()) return out_t(errc::bad_request, "journal status: not a JSON object");
  reader top{status, "journal status: ", {}};
  auto kind = top.text("kind");
  if (!kind && top.problem.empty()) top.problem = "journal status: no \"kind\"";
  auto brokers = top.text("brokers");
  auto topic = top.text("topic");
  auto partition_count = top.integer("partition_count");
  auto appends = top.integer("appends");
  auto rejected = top.integer("rejected");
  auto failed = top.integer("failed");
  auto status_error = top.text("error");
  if (!top.problem.empty()) return out_t(errc::bad_request, top.problem);

  std::ostringstream out;
  auto line = [&](const char* label, const std::string& value) {
    out << label << std::string(11 - std::string_view(label).size(), ' ') << value << "\n";
  };
  line("journal", *kind);
  // The node could not get a fresh look (e.g. the broker is down): say so before the rest.
  if (status_error && !status_error->empty()) line("error", *status_error);
  if (brokers && !brokers->empty()) line("brokers", *brokers);
  if (topic && !topic->empty()) {
    std::string t = *topic;
    if (partition_count && *partition_count > 0)
      t += " (" + std::to_string(*partition_count) + " partitions)";
    line("topic", t);
  }
  line("appends", number_or_dash(appends) + " acknowledged, " + number_or_dash(rejected) +
                      " rejected, " + number_or_dash(failed) + " failed");

  if (status.contains("breaker")) {
    if (!status["breaker"].is_object())
      return out_t(errc::bad_request, "journal status: \"breaker\" is not an object");
    reader b{status["breaker"], "journal status: breaker ", {}};
    auto state = b.text("state");
    auto failures = b.integer("consecutive_failures");
    auto max_failures = b.integer("max_failures");
    auto call_timeout = b.integer("call_timeout_ms");
    auto reset_timeout = b.integer("reset_timeout_ms");
    if (!b.problem.empty()) return out_t(errc::bad_request, b.problem);
    line("breaker", state.value_or("-") + " (" + number_or_dash(failures) +
                        " failures in a row; opens at " + number_or_dash(max_failures) +
                        "; call timeout " + number_or_dash(call_timeout) + " ms; reset after " +
                        number_or_dash(reset_timeout) + " ms)");
  }

  const json empty = json::array();
  const json& partitions = status.contains("partitions") ? status["partitions"] : empty;
  if (!partitions.is_array())
    return out_t(errc::bad_request, "journal status: \"partitions\" is not an array");
  if (partitions.empty()) {
    line("partitions", *kind == "kafka" ? "none owned" : "none (not partitioned)");
    return out.str();
  }
  line("partitions", std::to_string(partitions.size()) + " owned");
  out << "\n";
  char row[256];
  std::snprintf(row, sizeof row, "%9s  %-12s %15s %15s %12s  %s\n", "PARTITION", "STATE",
                "INDEXED_OFFSET", "END_OFFSET", "LAG", "LAST_ERROR");
  out << row;
  for (std::size_t i = 0; i < partitions.size(); ++i) {
    if (!partitions[i].is_object()) {
      return out_t(errc::bad_request,
                   "journal status: partition entry " + std::to_string(i) + " is not an object");
    }
    reader p{partitions[i], "journal status: partition entry " + std::to_string(i) + " ", {}};
    auto number = p.integer("partition");
    auto state = p.text("state");
    auto indexed = p.integer("indexed_offset");
    auto end = p.integer("end_offset");
    auto lag = p.integer("lag");
    auto error = p.text("last_error");
    if (!p.problem.empty()) return out_t(errc::bad_request, p.problem);
    std::snprintf(row, sizeof row, "%9s  %-12s %15s %15s %12s  ", number_or_dash(number).c_str(),
                  state.value_or("-").c_str(), number_or_dash(indexed).c_str(),
                  number_or_dash(end).c_str(), number_or_dash(lag).c_str());
    std::string r = row;
    r += error.value_or("");
    while (!r.empty() && r.back() == ' ') r.pop_back();
    out << r << "\n";
  }
  return out.str();
}

}  // namespace hibiki::cli
