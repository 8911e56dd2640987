// SigV4 query-string signing against AWS's published examples, and its verification (the
// directory store's check) against tampered, foreign and expired URLs.
#include <catch2/catch.hpp>

#include <chrono>

#include "hibiki/persistence/sigv4.hpp"

using namespace hibiki;
using namespace hibiki::persistence;
using namespace std::chrono_literals;

namespace {

std::chrono::system_clock::time_point at(int y, unsigned m, unsigned d, int hh = 0, int mm = 0,
                                         int ss = 0) {
  return std::chrono::sys_days{std::chrono::year{y} / std::chrono::month{m} / std::chrono::day{d}} +
         std::chrono::hours{hh} + std::chrono::minutes{mm} + std::chrono::seconds{ss};
}

const sigv4::credentials aws_example{"AKIAIOSFODNN7EXAMPLE",
                                     "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"};

std::string param(const std::string& query, const std::string& name) {
  auto pairs = sigv4::parse_query(query);
  REQUIRE(pairs);
  for (const auto& [n, v] : *pairs) {
    if (n == name) return v;
  }
  return {};
}

/// A PUT presigned for the directory store's shape, and the request a client sends with it.
struct signed_put {
  sigv4::presign_input input;
  sigv4::received_request request;
};

signed_put make_put(const sigv4::credentials& creds) {
  signed_put put;
  put.input.method = "PUT";
  put.input.host = "127.0.0.1:8080";
  put.input.path = "/files/u/f1";
  put.input.headers = {{"content-length", "11"}, {"content-type", "text/plain"}};
  put.input.now = at(2026, 12, 5, 14, 0, 0);
  put.input.expires = 900s;
  auto query = sigv4::presign_query(put.input, creds);
  REQUIRE(query.ok());
  put.request.method = "PUT";
  put.request.host = "127.0.0.1:8080";
  put.request.path = "/files/u/f1";
  put.request.query = *sigv4::parse_query(*query);
  put.request.headers = {{"host", "127.0.0.1:8080"},
                         {"content-length", "11"},
                         {"content-type", "text/plain"},
                         {"user-agent", "curl"}};
  return put;
}

}  // namespace

TEST_CASE("SigV4 key derivation matches AWS's documented example", "[sigv4]") {
  // AWS General Reference, "Examples of how to derive a signing key for Signature Version 4".
  const auto key = sigv4::signing_key("wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "20120215",
                                      "us-east-1", "iam");
  CHECK(sigv4::to_hex(key) == "f4780e2d9f65fa895f9c67b32ce1baf0b0d8a43505a000a1a9e090d414db404d");
}

TEST_CASE("SigV4 presigned GET matches the S3 documentation's example", "[sigv4]") {
  // Amazon S3 API Reference, "Authenticating Requests: Using Query Parameters": GET test.txt from
  // examplebucket, signed 2013-05-24 00:00:00 UTC for 86400 s.
  sigv4::presign_input input;
  input.method = "GET";
  input.host = "examplebucket.s3.amazonaws.com";
  input.path = "/test.txt";
  input.region = "us-east-1";
  input.now = at(2013, 5, 24);
  input.expires = 86400s;
  CHECK(sigv4::canonical_request(input, aws_example.access_key) ==
        "GET\n/test.txt\n"
        "X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-"
        "east-1%2Fs3%2Faws4_request&X-Amz-Date=20130524T000000Z&X-Amz-Expires=86400&X-Amz-"
        "SignedHeaders=host\n"
        "host:examplebucket.s3.amazonaws.com\n\nhost\nUNSIGNED-PAYLOAD");
  auto query = sigv4::presign_query(input, aws_example);
  REQUIRE(query.ok());
  CHECK(param(*query, "X-Amz-Signature") ==
        "aeeed9bbccd4d02ee5c0109b86d86835f995330da4c265957d157751f604d404");
  CHECK(query->find("X-Amz-Credential=AKIAIOSFODNN7EXAMPLE%2F20130524%2Fus-east-1%2Fs3%2Faws4_"
                    "request") != std::string::npos);
}

TEST_CASE("SigV4 encoding keeps unreserved characters and escapes the rest", "[sigv4]") {
  CHECK(sigv4::uri_encode("AZaz09-._~", false) == "AZaz09-._~");
  CHECK(sigv4::uri_encode("a b/c+d=e", false) == "a%20b%2Fc%2Bd%3De");
  CHECK(sigv4::uri_encode("/bucket/a b", true) == "/bucket/a%20b");
  CHECK(sigv4::uri_encode("\xe6\x97\xa5", false) == "%E6%97%A5");
  CHECK(sigv4::uri_decode("a%20b+c%2f") == std::optional<std::string>("a b+c/"));
  CHECK_FALSE(sigv4::uri_decode("a%2"));
  CHECK_FALSE(sigv4::uri_decode("a%zz"));
  CHECK_FALSE(sigv4::parse_query("a=%G0"));
  auto pairs = sigv4::parse_query("b=2&a=&c");
  REQUIRE(pairs);
  REQUIRE(pairs->size() == 3);
  CHECK((*pairs)[1] == sigv4::name_value{"a", ""});
  CHECK((*pairs)[2] == sigv4::name_value{"c", ""});
  CHECK(sigv4::amz_date(at(2026, 1, 2, 3, 4, 5)) == "20260102T030405Z");
  CHECK(sigv4::sha256_hex("") ==
        "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
}

TEST_CASE("Content-Disposition names the file with an ASCII fallback and RFC 6266 filename*",
          "[sigv4]") {
  CHECK(sigv4::attachment_disposition("report.pdf") ==
        "attachment; filename=\"report.pdf\"; filename*=UTF-8''report.pdf");
  // 日本語 "a\"b".txt: non-ASCII and quote replaced in the fallback, all escaped in filename*.
  CHECK(sigv4::attachment_disposition("\xe6\x97\xa5 \"q\".txt") ==
        "attachment; filename=\"___ _q_.txt\"; filename*=UTF-8''%E6%97%A5%20%22q%22.txt");
}

TEST_CASE("SigV4 presigning refuses lifetimes S3 refuses and missing credentials", "[sigv4]") {
  sigv4::presign_input input;
  input.method = "GET";
  input.host = "h";
  input.path = "/k";
  input.now = at(2026, 1, 1);
  input.expires = 0s;
  CHECK(sigv4::presign_query(input, aws_example).error().code == errc::bad_request);
  input.expires = 604801s;
  CHECK(sigv4::presign_query(input, aws_example).error().code == errc::bad_request);
  input.expires = 604800s;
  CHECK(sigv4::presign_query(input, aws_example).ok());
  CHECK(sigv4::presign_query(input, {"", "secret"}).error().code == errc::bad_request);
}

TEST_CASE("SigV4 verification accepts the URL it signed with the headers it bound", "[sigv4]") {
  auto put = make_put(aws_example);
  auto ok = sigv4::verify(put.request, aws_example, "us-east-1", put.input.now + 60s);
  REQUIRE(ok.ok());
  CHECK(ok->signed_headers == std::vector<std::string>{"content-length", "content-type", "host"});
  CHECK(ok->expires_at ==
        std::chrono::duration_cast<std::chrono::seconds>(put.input.now.time_since_epoch()).count() +
            900);
  // The last second of its life still works.
  CHECK(sigv4::verify(put.request, aws_example, "us-east-1", put.input.now + 900s).ok());
}

TEST_CASE("SigV4 verification refuses tampered and foreign and expired URLs", "[sigv4]") {
  auto put = make_put(aws_example);
  const auto now = put.input.now + 60s;
  auto refused = [&](const sigv4::received_request& r, errc code = errc::forbidden) {
    auto v = sigv4::verify(r, aws_example, "us-east-1", now);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == code);
  };
  SECTION("a changed signature") {
    for (auto& [n, v] : put.request.query) {
      if (n == "X-Amz-Signature") v[0] = v[0] == 'a' ? 'b' : 'a';
    }
    refused(put.request);
  }
  SECTION("another key (a URL replayed for another object)") {
    put.request.path = "/files/u/f2";
    refused(put.request);
  }
  SECTION("another length or type than signed") {
    put.request.headers[1].second = "12";
    refused(put.request);
    put.request.headers[1].second = "11";
    put.request.headers[2].second = "text/html";
    refused(put.request);
  }
  SECTION("a signed header missing") {
    put.request.headers.erase(put.request.headers.begin() + 2);
    refused(put.request);
  }
  SECTION("another method") {
    put.request.method = "GET";
    refused(put.request);
  }
  SECTION("another host") {
    put.request.headers[0].second = "evil.example:8080";
    refused(put.request);
  }
  SECTION("a longer lifetime than signed") {
    for (auto& [n, v] : put.request.query) {
      if (n == "X-Amz-Expires") v = "604800";
    }
    refused(put.request);
  }
  SECTION("expired") {
    auto v = sigv4::verify(put.request, aws_example, "us-east-1", put.input.now + 901s);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == errc::forbidden);
    CHECK(v.error().message.find("expired") != std::string::npos);
  }
  SECTION("signed by another secret") {
    auto foreign = make_put({aws_example.access_key, "another secret"});
    refused(foreign.request);
  }
  SECTION("another region in the scope") {
    auto v = sigv4::verify(put.request, aws_example, "eu-west-1", now);
    REQUIRE_FALSE(v.ok());
    CHECK(v.error().code == errc::forbidden);
  }
  SECTION("X-Amz parameters missing or malformed") {
    auto without = put.request;
    without.query.clear();
    refused(without, errc::bad_request);
    for (auto& [n, v] : put.request.query) {
      if (n == "X-Amz-Date") v = "2026-12-05";
    }
    refused(put.request, errc::bad_request);
    // A date past what the clock can count (year 6223) is malformed, not an overflow.
    for (auto& [n, v] : put.request.query) {
      if (n == "X-Amz-Date") v = "62231114T140000Z";
    }
    refused(put.request, errc::bad_request);
  }
  SECTION("an extra query parameter not signed") {
    put.request.query.emplace_back("response-content-type", "text/html");
    refused(put.request);
  }
}
