// Our SigV4 presigned URLs against botocore's own presigner (Debian python3-botocore) for a table
// of inputs: methods, path and virtual-hosted styles, ports, UTF-8 and reserved characters in
// keys, signed Content-Length/Content-Type, response-content-disposition. Exits 77 (CTest: skipped)
// only when botocore cannot be imported.
#define CATCH_CONFIG_RUNNER
#include <catch2/catch.hpp>

#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>

#include "hibiki/persistence/sigv4.hpp"

using namespace hibiki::persistence;
using namespace std::chrono_literals;

namespace {

struct reference_case {
  std::string method;
  std::string scheme_host;  // "http://127.0.0.1:9000"
  std::string host;
  std::string path;  // decoded
  std::vector<sigv4::name_value> query;
  std::vector<sigv4::name_value> headers;
  std::string region;
  std::chrono::system_clock::time_point now;
  std::chrono::seconds expires;
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);  // UTF-8 passes through
    }
  }
  return out + "\"";
}

std::string url_of(const reference_case& c, const std::string& query) {
  std::string url = c.scheme_host + sigv4::uri_encode(c.path, true);
  if (!query.empty()) url += "?" + query;
  return url;
}

std::string operation_query(const reference_case& c) {
  std::string q;
  for (const auto& [n, v] : c.query) {
    if (!q.empty()) q += '&';
    q += sigv4::uri_encode(n, false) + "=" + sigv4::uri_encode(v, false);
  }
  return q;
}

const sigv4::credentials creds{"hibikiAccessKey", "hibiki/Secret+Key=0123456789"};

std::vector<reference_case> cases() {
  const auto t = std::chrono::sys_days{std::chrono::year{2026} / 12 / 5} + 14h + 3min + 7s;
  std::vector<reference_case> all;
  all.push_back({"GET",
                 "http://127.0.0.1:9000",
                 "127.0.0.1:9000",
                 "/hibiki/rooms/1/f1",
                 {},
                 {},
                 "us-east-1",
                 t,
                 30s});
  all.push_back({"PUT",
                 "http://127.0.0.1:9000",
                 "127.0.0.1:9000",
                 "/hibiki/rooms/1/f2",
                 {},
                 {{"content-length", "52428800"}, {"content-type", "application/pdf"}},
                 "us-east-1",
                 t,
                 900s});
  all.push_back({"PUT",
                 "https://hibiki-files.s3.eu-west-3.amazonaws.com",
                 "hibiki-files.s3.eu-west-3.amazonaws.com",
                 "/a key with spaces/\xe6\x97\xa5\xe6\x9c\xac+~!'()*.txt",
                 {},
                 {{"content-length", "1"}, {"content-type", "text/plain; charset=utf-8"}},
                 "eu-west-3",
                 t,
                 604800s});
  all.push_back({"GET",
                 "http://localhost:9000",
                 "localhost:9000",
                 "/hibiki/f3",
                 {{"response-content-disposition",
                   sigv4::attachment_disposition("\xe5\xa0\xb1\xe5\x91\x8a \"q4\";.pdf")}},
                 {},
                 "us-east-1",
                 t,
                 30s});
  all.push_back({"GET",
                 "https://bucket.s3.amazonaws.com",
                 "bucket.s3.amazonaws.com",
                 "/",
                 {{"response-content-type", "image/png"}, {"a&b", "c=d"}},
                 {},
                 "us-east-1",
                 t - 24h * 400,
                 1s});
  all.push_back({"HEAD",
                 "http://10.0.0.5:8333",
                 "10.0.0.5:8333",
                 "/b/k%2F..%2Fx",
                 {},
                 {},
                 "ap-northeast-1",
                 t,
                 3600s});
  return all;
}

std::vector<std::string> botocore_urls(const char* python, const std::vector<reference_case>& all) {
  const std::string input_file = "sigv4_botocore_cases.json";
  {
    std::ofstream out(input_file);
    out << "[";
    for (std::size_t i = 0; i < all.size(); ++i) {
      const auto& c = all[i];
      if (i) out << ",";
      out << "{\"method\":" << json_string(c.method)
          << ",\"url\":" << json_string(url_of(c, operation_query(c)))
          << ",\"region\":" << json_string(c.region)
          << ",\"access_key\":" << json_string(creds.access_key)
          << ",\"secret_key\":" << json_string(creds.secret_key)
          << ",\"timestamp\":" << json_string(sigv4::amz_date(c.now))
          << ",\"expires\":" << c.expires.count() << ",\"headers\":{";
      for (std::size_t h = 0; h < c.headers.size(); ++h) {
        if (h) out << ",";
        out << json_string(c.headers[h].first) << ":" << json_string(c.headers[h].second);
      }
      out << "}}";
    }
    out << "]";
  }
  const std::string command =
      std::string(python) + " " + HIBIKI_BOTOCORE_SCRIPT + " < " + input_file;
  FILE* pipe = popen(command.c_str(), "r");
  REQUIRE(pipe != nullptr);
  std::vector<std::string> urls;
  char line[8192];
  while (std::fgets(line, sizeof line, pipe)) {
    std::string s(line);
    while (!s.empty() && (s.back() == '\n' || s.back() == '\r')) s.pop_back();
    urls.push_back(s);
  }
  REQUIRE(pclose(pipe) == 0);
  std::remove(input_file.c_str());
  return urls;
}

/// The URL split into its base and its decoded, sorted parameters (botocore puts operation
/// parameters first, SigV4's canonical order puts them by name: both are the same URL to S3).
std::pair<std::string, std::vector<sigv4::name_value>> normalized(const std::string& url) {
  const auto q = url.find('?');
  auto pairs = sigv4::parse_query(url.substr(q + 1));
  REQUIRE(pairs);
  std::sort(pairs->begin(), pairs->end());
  return {url.substr(0, q), *pairs};
}

}  // namespace

TEST_CASE("SigV4 presigned URLs equal botocore's for the same inputs", "[sigv4][botocore]") {
  const char* python = std::getenv("HIBIKI_BOTOCORE_PYTHON");
  REQUIRE(python != nullptr);
  const auto all = cases();
  const auto reference = botocore_urls(python, all);
  REQUIRE(reference.size() == all.size());
  for (std::size_t i = 0; i < all.size(); ++i) {
    const auto& c = all[i];
    INFO("case " << i << ": " << c.method << " " << c.host << c.path);
    sigv4::presign_input input;
    input.method = c.method;
    input.host = c.host;
    input.path = c.path;
    input.query = c.query;
    input.headers = c.headers;
    input.region = c.region;
    input.now = c.now;
    input.expires = c.expires;
    auto query = sigv4::presign_query(input, creds);
    REQUIRE(query.ok());
    const auto ours = normalized(url_of(c, *query));
    const auto theirs = normalized(reference[i]);
    CHECK(ours.first == theirs.first);
    CHECK(ours.second == theirs.second);
  }
}

int main(int argc, char* argv[]) {
  const char* python = std::getenv("HIBIKI_BOTOCORE_PYTHON");
  const std::string probe =
      std::string(python ? python : "python3") + " -c 'import botocore' 2>/dev/null";
  if (python == nullptr || std::system(probe.c_str()) != 0) {
    std::cout << "botocore cannot be imported by " << (python ? python : "(unset)")
              << "; install python3-botocore (scripts/install-deps). Skipped.\n";
    return 77;
  }
  return Catch::Session().run(argc, argv);
}
