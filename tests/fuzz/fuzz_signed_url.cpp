// Fuzz target: the directory store's check of a signed /files/ URL (persistence/src/objects:
// sigv4.cpp's query parsing, decoding and verification, directory_store.cpp's authorize and key
// rule). The input is five lines: method, request target, Host, Content-Length, Content-Type.
// Invariants: an authorized request names a valid key (no traversal, nothing outside the key
// alphabet) that is the target's decoded path; the signature is never accepted for a target the
// store did not sign (the store signs nothing here but the one seed URL, checked separately);
// and a URL the store signs is accepted with its own headers and refused with another length.

#include <chrono>
#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "fuzz_check.hpp"
#include "hibiki/persistence/directory_store.hpp"

namespace {

using namespace hibiki;
using namespace hibiki::persistence;

const auto fixed_now =
    std::chrono::sys_days{std::chrono::year{2026} / 12 / 5} + std::chrono::hours{14};

directory_store& store() {
  static std::shared_ptr<directory_store> s = [] {
    const auto root = std::filesystem::temp_directory_path() / "hibiki-fuzz-signed-url";
    auto opened = directory_store::open({root.string(), "http://127.0.0.1:8080"});
    FUZZ_CHECK(opened.ok());
    return *opened;
  }();
  return *s;
}

std::vector<std::string_view> lines_of(std::string_view text) {
  std::vector<std::string_view> lines;
  while (lines.size() < 4) {
    const auto nl = text.find('\n');
    if (nl == std::string_view::npos) break;
    lines.push_back(text.substr(0, nl));
    text.remove_prefix(nl + 1);
  }
  lines.push_back(text);
  while (lines.size() < 5) lines.emplace_back();
  return lines;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) {
  const std::string_view input(reinterpret_cast<const char*>(data), size);
  const auto lines = lines_of(input);
  const std::string_view method = lines[0], target = lines[1];

  // The primitives alone: decoding never grows, a parsed query round-trips through encoding.
  if (auto decoded = sigv4::uri_decode(target)) FUZZ_CHECK(decoded->size() <= target.size());
  if (auto query = sigv4::parse_query(target)) {
    for (const auto& [name, value] : *query) {
      FUZZ_CHECK(sigv4::uri_decode(sigv4::uri_encode(name, false)) == name);
      FUZZ_CHECK(sigv4::uri_decode(sigv4::uri_encode(value, true)) == value);
    }
  }
  const auto disposition = sigv4::attachment_disposition(target);
  FUZZ_CHECK(disposition.find_first_of("\r\n") == std::string::npos);

  const std::vector<sigv4::name_value> headers{{"host", std::string(lines[2])},
                                               {"content-length", std::string(lines[3])},
                                               {"content-type", std::string(lines[4])}};
  auto grant = store().authorize(method, target, headers, fixed_now);
  if (grant) {
    FUZZ_CHECK(valid_object_key(grant->key));
    const std::string& k = grant->key;
    FUZZ_CHECK(k != ".." && k.rfind("../", 0) != 0 && k.find("/../") == std::string::npos &&
               (k.size() < 3 || k.compare(k.size() - 3, 3, "/..") != 0) && k.front() != '/');
    const auto path = sigv4::uri_decode(target.substr(0, target.find('?')));
    FUZZ_CHECK(path && *path == std::string(directory_store::url_prefix) + grant->key);
  }

  // What the store signs for a key made of the input is accepted as it is, and not with another
  // length.
  const std::string key(lines[1].substr(0, 64));
  if (valid_object_key(key) && lines[4].size() < 100 && !lines[4].empty()) {
    const std::string type(lines[4]);
    auto url = store().presign_put(key, 42, type, std::chrono::seconds(60), fixed_now);
    if (url) {
      const auto signed_target = url->url.substr(url->url.find("/files/"));
      std::vector<sigv4::name_value> own{
          {"host", "127.0.0.1:8080"}, {"content-length", "42"}, {"content-type", type}};
      auto ok = store().authorize("PUT", signed_target, own, fixed_now);
      FUZZ_CHECK(ok.ok() && ok->key == key && ok->size == 42);
      own[1].second = "43";
      FUZZ_CHECK(!store().authorize("PUT", signed_target, own, fixed_now).ok());
    }
  }
  return 0;
}
