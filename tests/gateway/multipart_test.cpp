// The REST upload's multipart reader and form (gateway/src/multipart.hpp, upload_form.hpp): the
// result must not depend on how the body is cut into pieces, and every malformed body is refused
// with bad_request.
#include <catch2/catch.hpp>
#include <filesystem>
#include <string>
#include <vector>

#include "multipart.hpp"
#include "upload_form.hpp"

using namespace hibiki;
using namespace hibiki::gateway;

namespace {

struct seen_part {
  std::string name;
  std::optional<std::string> filename;
  std::string content_type;
  std::string data;
  bool ended = false;
  bool operator==(const seen_part&) const = default;
};

struct outcome {
  std::vector<seen_part> parts;
  bool fed = true;        ///< every feed succeeded
  bool finished = false;  ///< finish succeeded
  std::string error;
  bool operator==(const outcome&) const = default;
};

/// Feeds `body` cut at `cuts` (ascending offsets) and collects what the reader reports.
outcome read_pieces(const std::string& boundary, const std::string& body,
                    const std::vector<std::size_t>& cuts) {
  outcome out;
  multipart_reader reader(
      boundary,
      [&](const multipart_part& p) -> status {
        out.parts.push_back({p.name, p.filename, p.content_type, {}, false});
        return {};
      },
      [&](std::string_view bytes) -> status {
        REQUIRE(!bytes.empty());
        out.parts.back().data.append(bytes);
        return {};
      },
      [&]() -> status {
        out.parts.back().ended = true;
        return {};
      });
  std::size_t from = 0;
  auto feed = [&](std::size_t to) {
    if (!out.fed) return;
    if (auto st = reader.feed(std::string_view(body).substr(from, to - from)); !st) {
      out.fed = false;
      out.error = st.error().message;
    }
    from = to;
  };
  for (auto cut : cuts) feed(cut);
  feed(body.size());
  if (out.fed) {
    auto st = reader.finish();
    out.finished = st.ok();
    if (!st) out.error = st.error().message;
  }
  return out;
}

outcome read_whole(const std::string& boundary, const std::string& body) {
  return read_pieces(boundary, body, {});
}

const std::string boundary = "----hibikiBoundary7MA4YWxk";

std::string form_body(const std::string& file_bytes, const std::string& message = "hello") {
  return "--" + boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"message\"\r\n"
         "\r\n" +
         message + "\r\n--" + boundary +
         "\r\n"
         "Content-Disposition: form-data; name=\"file\"; filename=\"report.txt\"\r\n"
         "Content-Type: text/plain\r\n"
         "\r\n" +
         file_bytes + "\r\n--" + boundary + "--\r\n";
}

/// File bytes that tease the reader: line breaks, dashes and most of a delimiter.
const std::string tricky = "line one\r\n--\r\n-" + std::string("\r\n--") + boundary.substr(0, 10) +
                           "x\r\n\r\n--" + boundary.substr(0, boundary.size() - 1) + "\r\n";

}  // namespace

TEST_CASE("the boundary of a multipart/form-data Content-Type", "[multipart]") {
  CHECK(*multipart_boundary("multipart/form-data; boundary=abc") == "abc");
  CHECK(*multipart_boundary("Multipart/Form-Data;boundary=\"a b:c\"") == "a b:c");
  CHECK(*multipart_boundary("multipart/form-data; charset=utf-8; BOUNDARY=x-1") == "x-1");
  for (const char* bad :
       {"application/x-www-form-urlencoded", "", "multipart/mixed; boundary=a",
        "multipart/form-data", "multipart/form-data; boundary=",
        "multipart/form-data; boundary=\"\"", "multipart/form-data; boundary=\"abc",
        "multipart/form-data; boundary=a{b}", "multipart/form-data; boundary=\"ab \""}) {
    INFO(bad);
    auto b = multipart_boundary(bad);
    REQUIRE_FALSE(b.ok());
    CHECK(b.error().code == errc::bad_request);
  }
  CHECK(multipart_boundary("multipart/form-data; boundary=" + std::string(70, 'a')).ok());
  CHECK_FALSE(multipart_boundary("multipart/form-data; boundary=" + std::string(71, 'a')).ok());
}

TEST_CASE("a form's parts with their headers and their bytes", "[multipart]") {
  const auto got = read_whole(boundary, form_body(tricky));
  REQUIRE(got.finished);
  REQUIRE(got.parts.size() == 2);
  CHECK(got.parts[0] == seen_part{"message", std::nullopt, "", "hello", true});
  CHECK(got.parts[1] == seen_part{"file", "report.txt", "text/plain", tricky, true});
}

TEST_CASE("the result is the same however the body is cut into pieces", "[multipart]") {
  const auto body = form_body(tricky, "a message\r\nof two lines");
  const auto whole = read_whole(boundary, body);
  REQUIRE(whole.finished);
  for (std::size_t cut = 0; cut <= body.size(); ++cut) {
    INFO("cut at " << cut);
    REQUIRE(read_pieces(boundary, body, {cut}) == whole);
  }
  for (std::size_t a = 0; a < body.size(); a += 7) {
    for (std::size_t b = a; b < body.size(); b += 13) {
      INFO("cuts at " << a << " and " << b);
      REQUIRE(read_pieces(boundary, body, {a, b}) == whole);
    }
  }
  std::vector<std::size_t> every_byte;
  for (std::size_t i = 1; i < body.size(); ++i) every_byte.push_back(i);
  CHECK(read_pieces(boundary, body, every_byte) == whole);
}

TEST_CASE("a preamble and transport padding and an empty part and an epilogue", "[multipart]") {
  const std::string body = "ignored preamble\r\n--" + boundary +
                           "  \t\r\n"
                           "content-disposition: FORM-DATA; name=empty\r\n"
                           "\r\n"
                           "\r\n--" +
                           boundary +
                           "\r\n"
                           "Content-Disposition: form-data; name=\"file\"; "
                           "filename=\"a \\\"quoted\\\" name.txt\"\r\n"
                           "\r\n"
                           "x\r\n--" +
                           boundary + "--\r\nepilogue, ignored";
  const auto got = read_whole(boundary, body);
  REQUIRE(got.finished);
  REQUIRE(got.parts.size() == 2);
  CHECK(got.parts[0] == seen_part{"empty", std::nullopt, "", "", true});
  CHECK(got.parts[1] == seen_part{"file", "a \"quoted\" name.txt", "", "x", true});
}

TEST_CASE("filename* (RFC 5987) gives a UTF-8 name and wins over filename", "[multipart]") {
  const std::string body = "--" + boundary +
                           "\r\n"
                           "Content-Disposition: form-data; name=\"file\"; filename=\"fallback\"; "
                           "filename*=UTF-8''%E5%A0%B1%E5%91%8A.txt\r\n"
                           "\r\n"
                           "x\r\n--" +
                           boundary + "--";
  const auto got = read_whole(boundary, body);
  REQUIRE(got.finished);
  CHECK(got.parts.at(0).filename == "\xE5\xA0\xB1\xE5\x91\x8A.txt");
}

TEST_CASE("malformed multipart bodies are refused with bad_request", "[multipart]") {
  const std::string b = "--" + boundary;
  const std::string cd = "Content-Disposition: form-data; name=\"file\"; filename=\"a\"\r\n";
  const std::vector<std::pair<std::string, std::string>> cases = {
      {"empty body", ""},
      {"no boundary at all", "just some text"},
      {"no closing boundary (cut short)", b + "\r\n" + cd + "\r\nabc"},
      {"cut inside a part's header", b + "\r\nContent-Dispo"},
      {"a boundary followed by junk", b + "junk\r\n" + cd + "\r\nabc\r\n" + b + "--"},
      {"a header line without a colon", b + "\r\nno colon here\r\n\r\nabc\r\n" + b + "--"},
      {"a part without Content-Disposition",
       b + "\r\nContent-Type: text/plain\r\n\r\nabc\r\n" + b + "--"},
      {"a part without a name",
       b + "\r\nContent-Disposition: form-data; filename=\"a\"\r\n\r\nabc\r\n" + b + "--"},
      {"a disposition other than form-data",
       b + "\r\nContent-Disposition: attachment; name=\"file\"\r\n\r\nabc\r\n" + b + "--"},
      {"an unclosed quoted parameter",
       b + "\r\nContent-Disposition: form-data; name=\"file\r\n\r\nabc\r\n" + b + "--"},
      {"a filename* not in UTF-8",
       b + "\r\nContent-Disposition: form-data; name=\"file\"; filename*=latin1''a\r\n\r\nx\r\n" +
           b + "--"},
      {"a header over 8 KiB",
       b + "\r\n" + cd + "X-Pad: " + std::string(9000, 'p') + "\r\n\r\nabc\r\n" + b + "--"},
      {"an endless header", b + "\r\n" + cd + "X-Pad: " + std::string(20000, 'p')},
  };
  for (const auto& [what, body] : cases) {
    INFO(what);
    const auto got = read_whole(boundary, body);
    CHECK_FALSE(got.finished);
    CHECK_FALSE(got.error.empty());
    // Byte by byte too: the same refusal.
    std::vector<std::size_t> every_byte;
    for (std::size_t i = 1; i < body.size(); ++i) every_byte.push_back(i);
    CHECK_FALSE(read_pieces(boundary, body, every_byte).finished);
  }
  std::string many;
  for (std::size_t i = 0; i <= multipart_reader::max_parts; ++i) {
    many +=
        b + "\r\nContent-Disposition: form-data; name=\"p" + std::to_string(i) + "\"\r\n\r\nx\r\n";
  }
  many += b + "--";
  CHECK_FALSE(read_whole(boundary, many).finished);
}

TEST_CASE("an error from a callback stops the reader and stays", "[multipart]") {
  int calls = 0;
  multipart_reader reader(
      boundary, [&](const multipart_part&) -> status { return {}; },
      [&](std::string_view) -> status {
        ++calls;
        return hibiki::error{errc::too_large, "too big"};
      },
      []() -> status { return {}; });
  auto st = reader.feed(form_body("some bytes"));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == errc::too_large);
  CHECK(calls == 1);
  CHECK(reader.feed("more").error().code == errc::too_large);
  CHECK(reader.finish().error().code == errc::too_large);
}

// ---- the upload form ----------------------------------------------------------------------

namespace {

std::string file_part(const std::string& filename, const std::string& bytes,
                      const std::string& type = "application/octet-stream") {
  return "--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"" +
         filename + "\"\r\nContent-Type: " + type + "\r\n\r\n" + bytes + "\r\n";
}

std::string read_all(const persistence::byte_source& source) {
  std::string out;
  char buffer[7];  // small on purpose: many calls
  while (true) {
    auto n = source(buffer, sizeof buffer);
    REQUIRE(n.ok());
    if (*n == 0) return out;
    out.append(buffer, *n);
  }
}

/// Feeds `body` to a form in pieces of `piece` bytes; the first error of feed or finish.
status fill(upload_form& form, const std::string& body, std::size_t piece = 5) {
  for (std::size_t at = 0; at < body.size(); at += piece) {
    if (auto st = form.feed(std::string_view(body).substr(at, piece)); !st) return st;
  }
  return form.finish();
}

}  // namespace

TEST_CASE("an upload form spools its file and keeps its message", "[multipart][upload]") {
  std::string bytes;
  for (int i = 0; i < 5000; ++i) bytes += static_cast<char>(i * 7 % 256);
  upload_form form(boundary, 5000, "");
  REQUIRE(fill(form, form_body(bytes, "see the attached")).ok());
  CHECK(form.filename() == "report.txt");
  CHECK(form.content_type() == "text/plain");
  CHECK(form.message() == "see the attached");
  CHECK(form.size() == 5000);
  CHECK(read_all(form.source()) == bytes);
  CHECK(read_all(form.source()) == bytes);  // each source starts again
}

TEST_CASE("an upload form without a message part or a Content-Type", "[multipart][upload]") {
  upload_form form(boundary, 100, std::filesystem::temp_directory_path().string());
  const std::string body =
      "--" + boundary +
      "\r\nContent-Disposition: form-data; name=\"file\"; filename=\"a.bin\"\r\n"
      "\r\nabc\r\n--" +
      boundary + "--\r\n";
  REQUIRE(fill(form, body).ok());
  CHECK(form.message().empty());
  CHECK(form.content_type() == "application/octet-stream");
  CHECK(read_all(form.source()) == "abc");
}

TEST_CASE("an upload form's bad inputs", "[multipart][upload]") {
  const std::string end = "--" + boundary + "--\r\n";
  auto refusal = [&](const std::string& body, std::uint64_t cap = 100) {
    upload_form form(boundary, cap, "");
    auto st = fill(form, body);
    REQUIRE_FALSE(st.ok());
    return st.error();
  };
  CHECK(refusal(end).code == errc::bad_request);  // no file part
  CHECK(refusal("--" + boundary +
                "\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\nhi\r\n" + end)
            .message.find("\"file\"") != std::string::npos);
  CHECK(refusal(file_part("a.txt", "") + end).message == "the file is empty");
  auto two = refusal(file_part("a.txt", "1") + file_part("b.txt", "2") + end);
  CHECK(two.code == errc::bad_request);
  CHECK(two.message.find("two parts named \"file\"") != std::string::npos);
  CHECK(refusal("--" + boundary + "\r\nContent-Disposition: form-data; name=\"file\"\r\n\r\nx\r\n" +
                end)
            .message.find("no filename") != std::string::npos);
  for (const std::string& name :
       {std::string("a/b.txt"), std::string("../x"), std::string(".."),
        std::string("a\\\\b") /* a quoted \\ is one backslash */, std::string("tab\there"),
        std::string("bell\x07"), std::string(256, 'n'), std::string()}) {
    INFO(name);
    CHECK(refusal(file_part(name, "x") + end).code == errc::bad_request);
  }
  CHECK(refusal(file_part("a.txt", "x", "not a type") + end).code == errc::bad_request);
  // The cap: exactly at it is taken, one byte over is too_large.
  upload_form at_cap(boundary, 10, "");
  CHECK(fill(at_cap, file_part("a.txt", std::string(10, 'x')) + end).ok());
  CHECK(refusal(file_part("a.txt", std::string(11, 'x')) + end, 10).code == errc::too_large);
  CHECK(refusal(file_part("a.txt", "x") + "--" + boundary +
                "\r\nContent-Disposition: form-data; name=\"message\"\r\n\r\n" +
                std::string(upload_form::max_message_bytes + 1, 'm') + "\r\n" + end)
            .code == errc::too_large);
  CHECK(refusal(file_part("a.txt", "abc")).code == errc::bad_request);  // no closing boundary
}

TEST_CASE("an upload form whose spool directory is missing says unavailable",
          "[multipart][upload]") {
  upload_form form(boundary, 100, "/nonexistent/hibiki-spool");
  auto st = fill(form, form_body("x"));
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().code == errc::unavailable);
  CHECK(st.error().message.find("spool") != std::string::npos);
}
