// The pure parts of `hibiki upload` and `hibiki download`: their arguments and options, the
// ROOM_ID/FILE_ID reference, the content type guessed from a name, the local name a download is
// saved under (the server's name is not trusted), the store's URL and its refusals.

#include <catch2/catch.hpp>

#include "hibiki/cli/client_options.hpp"
#include "hibiki/cli/file_names.hpp"
#include "hibiki/cli/url_transfer.hpp"

using namespace hibiki;
using namespace hibiki::cli;
using strings = std::vector<std::string>;

namespace {
std::string refusal(const strings& args) {
  auto o = parse_client_options(args);
  REQUIRE_FALSE(o.ok());
  CHECK(o.error().code == errc::bad_request);
  return o.error().message;
}
}  // namespace

TEST_CASE("upload takes ROOM PATH and --content-type", "[cli][files]") {
  auto o = parse_client_options({"upload", "7", "report.pdf"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"7", "report.pdf"});
  CHECK(o->content_type.empty());

  o = parse_client_options(
      {"--server", "ws://h:1", "upload", "--content-type", "text/csv", "7", "data"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"7", "data"});
  CHECK(o->content_type == "text/csv");
  o = parse_client_options({"upload", "7", "a.txt", "--content-type=text/plain; charset=utf-8"});
  REQUIRE(o.ok());
  CHECK(o->content_type == "text/plain; charset=utf-8");
  // `--` ends the options: a file may be named like one.
  o = parse_client_options({"upload", "7", "--", "--weird"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"7", "--weird"});
  // A single dash is a name, not an option.
  o = parse_client_options({"upload", "7", "-"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"7", "-"});
}

TEST_CASE("bad upload arguments are usage errors", "[cli][files]") {
  CHECK(refusal({"upload"}).find("usage: hibiki upload ROOM PATH") != std::string::npos);
  CHECK(refusal({"upload", "7"}).find("usage") != std::string::npos);
  CHECK(refusal({"upload", "7", "a", "b"}).find("usage") != std::string::npos);
  CHECK(refusal({"upload", "x", "a"}).find("invalid room id 'x'") != std::string::npos);
  CHECK(refusal({"upload", "0", "a"}).find("invalid room id") != std::string::npos);
  CHECK(refusal({"upload", "7", ""}).find("path is empty") != std::string::npos);
  CHECK(refusal({"upload", "7", "a", "--content-type"}).find("needs a value") != std::string::npos);
  for (auto bad : {"", "text", "text/", "/plain", "te xt/plain", "text/plain\r\nX: y"}) {
    CAPTURE(bad);
    CHECK(refusal({"upload", "7", "a", std::string("--content-type=") + bad})
              .find("--content-type") != std::string::npos);
  }
  // download's options are not upload's.
  CHECK(refusal({"upload", "7", "a", "--force"}).find("unknown option --force for upload") !=
        std::string::npos);
  CHECK(refusal({"upload", "7", "a", "--room", "3"}).find("unknown option") != std::string::npos);
}

TEST_CASE("download takes FILE [PATH], --room and --force", "[cli][files]") {
  auto o = parse_client_options({"download", "3/1"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"3/1"});
  CHECK(o->room == 0);
  CHECK_FALSE(o->force);

  o = parse_client_options({"download", "1", "out.bin", "--room", "3", "--force"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"1", "out.bin"});
  CHECK(o->room == 3);
  CHECK(o->force);
  o = parse_client_options({"download", "--room=3", "1", "-"});
  REQUIRE(o.ok());
  CHECK(o->args == strings{"1", "-"});
  // The same room twice is no contradiction.
  REQUIRE(parse_client_options({"download", "3/1", "--room", "3"}).ok());
}

TEST_CASE("bad download arguments are usage errors", "[cli][files]") {
  CHECK(refusal({"download"}).find("usage: hibiki download") != std::string::npos);
  CHECK(refusal({"download", "1", "a", "b"}).find("usage") != std::string::npos);
  for (auto bad : {"x", "0", "3/", "/1", "3/0", "0/1", "3/1/2", "-1", "1.5", "3/x"}) {
    CAPTURE(bad);
    CHECK(refusal({"download", bad}).find("expected ROOM_ID/FILE_ID") != std::string::npos);
  }
  CHECK(refusal({"download", "3/1", "--room", "4"}).find("name different rooms") !=
        std::string::npos);
  CHECK(refusal({"download", "1", "--room", "x"}).find("invalid room id") != std::string::npos);
  CHECK(refusal({"download", "1", "--room"}).find("needs a value") != std::string::npos);
  CHECK(refusal({"download", "1", "--content-type", "a/b"}).find("unknown option") !=
        std::string::npos);
  CHECK(refusal({"download", "1", ""}).find("download path is empty") != std::string::npos);
}

TEST_CASE("a file is ROOM_ID/FILE_ID or a bare FILE_ID", "[cli][files]") {
  auto r = parse_file_ref("12/3");
  REQUIRE(r.ok());
  CHECK(r->room_id == 12);
  CHECK(r->file_id == 3);
  r = parse_file_ref("3");
  REQUIRE(r.ok());
  CHECK(r->room_id == 0);
  CHECK(r->file_id == 3);
  // Ids are the protocol's: below 2^53.
  CHECK(parse_file_ref("9007199254740991/1").ok());
  CHECK_FALSE(parse_file_ref("9007199254740992/1").ok());
  CHECK_FALSE(parse_file_ref("").ok());
  CHECK_FALSE(parse_file_ref(" 3").ok());
  CHECK_FALSE(parse_file_ref("+3").ok());
}

TEST_CASE("the content type is guessed from the extension", "[cli][files]") {
  CHECK(guess_content_type("report.pdf") == "application/pdf");
  CHECK(guess_content_type("REPORT.PDF") == "application/pdf");
  CHECK(guess_content_type("dir.d/photo.JpEg") == "image/jpeg");
  CHECK(guess_content_type("notes.txt") == "text/plain");
  CHECK(guess_content_type("a.tar.gz") == "application/gzip");
  CHECK(guess_content_type("sheet.xlsx") ==
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet");
  // Unknown, none, a dot file, a trailing dot, a dot in the directory only.
  for (auto name : {"a.unknownext", "Makefile", ".bashrc", "a.", "dir.txt/file"}) {
    CAPTURE(name);
    CHECK(guess_content_type(name) == "application/octet-stream");
  }
}

TEST_CASE("a download's local name is made safe", "[cli][files]") {
  CHECK(safe_local_name("report.pdf") == "report.pdf");
  CHECK(safe_local_name("報告 2026.pdf") == "報告 2026.pdf");  // UTF-8 is kept
  CHECK(safe_local_name("a/b") == "a_b");
  CHECK(safe_local_name("../../etc/passwd") == "_._.._etc_passwd");
  CHECK(safe_local_name("a\\b") == "a_b");
  CHECK(safe_local_name(".bashrc") == "_bashrc");  // never a hidden file
  CHECK(safe_local_name("-rf") == "_rf");          // never option-like
  CHECK(safe_local_name("..") == "_.");
  CHECK(safe_local_name(".") == "_");
  CHECK(safe_local_name("") == "download");
  CHECK(safe_local_name(std::string("a\0b", 3)) == "a_b");
  CHECK(safe_local_name("a\nb\x1b[31m\x7f") == "a_b_[31m_");
  CHECK(safe_local_name("a\xc2\x85z") == "a_z");  // C1 (U+0085)
  // A right-to-left override would show "evil\u202Etxt.exe" as "evilexe.txt".
  CHECK(safe_local_name("evil\xe2\x80\xaetxt.exe") == "evil_txt.exe");
  // Bytes that are not UTF-8: a stray continuation, a cut sequence, overlong, a surrogate.
  CHECK(safe_local_name("a\x80z") == "a_z");
  CHECK(safe_local_name("a\xe5\xa0") == "a__");
  CHECK(safe_local_name("\xc0\xaf") == "__");
  CHECK(safe_local_name("\xed\xa0\x80") == "___");
  // At most 255 bytes, cut between characters.
  const std::string long_ascii(300, 'x');
  CHECK(safe_local_name(long_ascii) == std::string(255, 'x'));
  std::string long_utf8;
  for (int i = 0; i < 100; ++i) long_utf8 += "報";  // 3 bytes each
  CHECK(safe_local_name(long_utf8).size() == 255);
  std::string cut;
  for (int i = 0; i < 127; ++i) cut += "é";  // 254 bytes, then one of 3 does not fit
  CHECK(safe_local_name(cut + "報") == cut);
}

TEST_CASE("a pre-signed URL is split for one request", "[cli][files]") {
  auto u = parse_transfer_url(
      "http://127.0.0.1:9000/hibiki-test/rooms/1/ab%20c?X-Amz-Algorithm=AWS4-HMAC-SHA256&X=1");
  REQUIRE(u.ok());
  CHECK_FALSE(u->tls);
  CHECK(u->host == "127.0.0.1");
  CHECK(u->port == "9000");
  CHECK(u->authority == "127.0.0.1:9000");
  CHECK(u->target == "/hibiki-test/rooms/1/ab%20c?X-Amz-Algorithm=AWS4-HMAC-SHA256&X=1");

  u = parse_transfer_url("https://bucket.s3.eu-west-3.amazonaws.com/k?a=b");
  REQUIRE(u.ok());
  CHECK(u->tls);
  CHECK(u->host == "bucket.s3.eu-west-3.amazonaws.com");
  CHECK(u->port == "443");
  CHECK(u->authority == "bucket.s3.eu-west-3.amazonaws.com");  // the Host it was signed for
  CHECK(u->target == "/k?a=b");

  u = parse_transfer_url("http://[::1]:8080/files/x");
  REQUIRE(u.ok());
  CHECK(u->host == "::1");
  CHECK(u->port == "8080");
  CHECK(u->authority == "[::1]:8080");
  u = parse_transfer_url("http://h");
  REQUIRE(u.ok());
  CHECK(u->port == "80");
  CHECK(u->target == "/");
  u = parse_transfer_url("http://h?q=1");
  REQUIRE(u.ok());
  CHECK(u->target == "/?q=1");

  for (auto bad : {"", "ftp://h/x", "h/x", "http://", "http:///x", "http://h:0/x", "http://h:x/",
                   "http://h:65536/", "http://u:p@h/x", "http://h/x#frag", "http://h/a b",
                   "http://h/a\r\nX: y", "http://[::1/x"}) {
    CAPTURE(bad);
    auto r = parse_transfer_url(bad);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == errc::bad_request);
  }
}

TEST_CASE("the store's refusals say its status and S3 error code", "[cli][files]") {
  CHECK(store_refusal(403,
                      "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>"
                      "SignatureDoesNotMatch</Code><Message>The request signature we calculated "
                      "does not match</Message><Key>k</Key></Error>") ==
        "HTTP 403 SignatureDoesNotMatch: The request signature we calculated does not match");
  CHECK(store_refusal(403, "<Error><Code>AccessDenied</Code></Error>") == "HTTP 403 AccessDenied");
  CHECK(store_refusal(502, "Bad gateway\r\n") == "HTTP 502: Bad gateway  ");
  CHECK(store_refusal(500, "") == "HTTP 500");
  // A store's text never puts control characters on the terminal.
  CHECK(store_refusal(400, "<Code>A\x1b]0;x\x07</Code>") == "HTTP 400 A ]0;x ");
}
