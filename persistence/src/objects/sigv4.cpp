#include "hibiki/persistence/sigv4.hpp"

#include <openssl/crypto.h>
#include <openssl/evp.h>
#include <openssl/hmac.h>

#include <algorithm>
#include <array>
#include <cctype>
#include <charconv>
#include <ctime>

namespace hibiki::persistence::sigv4 {
namespace {

constexpr std::string_view algorithm = "AWS4-HMAC-SHA256";
constexpr std::string_view unsigned_payload = "UNSIGNED-PAYLOAD";
/// AWS's limit for a presigned URL's lifetime.
constexpr std::chrono::seconds longest_expiry{7 * 24 * 3600};

bool unreserved(unsigned char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' ||
         c == '.' || c == '_' || c == '~';
}

int hex_value(char c) {
  if (c >= '0' && c <= '9') return c - '0';
  if (c >= 'a' && c <= 'f') return c - 'a' + 10;
  if (c >= 'A' && c <= 'F') return c - 'A' + 10;
  return -1;
}

/// Lower-case names, whitespace runs in values folded to one space, trimmed (AWS's canonical
/// header form), sorted by name.
std::vector<name_value> canonical_headers(const presign_input& input) {
  std::vector<name_value> headers;
  headers.emplace_back("host", input.host);
  for (const auto& [name, value] : input.headers) {
    std::string lower = name;
    std::transform(lower.begin(), lower.end(), lower.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (lower == "host") continue;
    headers.emplace_back(std::move(lower), value);
  }
  for (auto& [name, value] : headers) {
    std::string folded;
    bool space = false;
    for (char c : value) {
      if (c == ' ' || c == '\t') {
        space = !folded.empty();
        continue;
      }
      if (space) folded.push_back(' ');
      space = false;
      folded.push_back(c);
    }
    value = std::move(folded);
  }
  std::sort(headers.begin(), headers.end());
  return headers;
}

std::string signed_header_list(const std::vector<name_value>& headers) {
  std::string list;
  for (const auto& h : headers) {
    if (!list.empty()) list += ';';
    list += h.first;
  }
  return list;
}

std::string date_of(std::string_view amz) {
  return std::string(amz.substr(0, 8));
}

std::string scope_of(std::string_view date, std::string_view region, std::string_view service) {
  std::string scope;
  scope.append(date).append("/").append(region).append("/").append(service).append("/aws4_request");
  return scope;
}

/// The X-Amz-* parameters but the signature, for `input` signed by `access_key`.
std::vector<name_value> auth_params(const presign_input& input, std::string_view access_key,
                                    const std::vector<name_value>& headers) {
  const std::string when = amz_date(input.now);
  std::string credential(access_key);
  credential += '/';
  credential += scope_of(date_of(when), input.region, input.service);
  return {{"X-Amz-Algorithm", std::string(algorithm)},
          {"X-Amz-Credential", std::move(credential)},
          {"X-Amz-Date", when},
          {"X-Amz-Expires", std::to_string(input.expires.count())},
          {"X-Amz-SignedHeaders", signed_header_list(headers)}};
}

/// Encoded `name=value` pairs sorted by encoded name then value, joined by '&'.
std::string canonical_query(const std::vector<name_value>& params) {
  std::vector<name_value> encoded;
  encoded.reserve(params.size());
  for (const auto& [name, value] : params) {
    encoded.emplace_back(uri_encode(name, false), uri_encode(value, false));
  }
  std::sort(encoded.begin(), encoded.end());
  std::string query;
  for (const auto& [name, value] : encoded) {
    if (!query.empty()) query += '&';
    query.append(name).append("=").append(value);
  }
  return query;
}

std::string canonical_request_with(const presign_input& input,
                                   const std::vector<name_value>& params,
                                   const std::vector<name_value>& headers) {
  std::string request = input.method;
  request += '\n';
  request += uri_encode(input.path, true);
  request += '\n';
  request += canonical_query(params);
  request += '\n';
  for (const auto& [name, value] : headers) request.append(name).append(":").append(value) += '\n';
  request += '\n';
  request += signed_header_list(headers);
  request += '\n';
  request += unsigned_payload;
  return request;
}

std::string signature_of(const presign_input& input, std::string_view secret,
                         std::string_view canonical) {
  const std::string when = amz_date(input.now);
  const std::string date = date_of(when);
  const std::string key = signing_key(secret, date, input.region, input.service);
  const std::string to_sign =
      string_to_sign(when, scope_of(date, input.region, input.service), canonical);
  return to_hex(hmac_sha256(key, to_sign));
}

const std::string* find(const std::vector<name_value>& pairs, std::string_view name) {
  for (const auto& [n, v] : pairs) {
    if (n == name) return &v;
  }
  return nullptr;
}

/// Parses "YYYYMMDDTHHMMSSZ" (UTC).
std::optional<std::chrono::system_clock::time_point> parse_amz_date(std::string_view text) {
  if (text.size() != 16 || text[8] != 'T' || text[15] != 'Z') return std::nullopt;
  auto number = [&](std::size_t at, std::size_t len) -> int {
    int value = 0;
    for (std::size_t i = at; i < at + len; ++i) {
      if (text[i] < '0' || text[i] > '9') return -1;
      value = value * 10 + (text[i] - '0');
    }
    return value;
  };
  const int year = number(0, 4), month = number(4, 2), day = number(6, 2);
  const int hour = number(9, 2), minute = number(11, 2), second = number(13, 2);
  // system_clock counts nanoseconds in 64 bits: past 2262 it overflows (found by fuzz_signed_url).
  if (year < 1970 || year > 2200 || month < 1 || month > 12 || day < 1 || day > 31 || hour < 0 ||
      hour > 23 || minute < 0 || minute > 59 || second < 0 || second > 60) {
    return std::nullopt;
  }
  const std::chrono::year_month_day ymd{std::chrono::year{year},
                                        std::chrono::month{static_cast<unsigned>(month)},
                                        std::chrono::day{static_cast<unsigned>(day)}};
  if (!ymd.ok()) return std::nullopt;
  return std::chrono::sys_days{ymd} + std::chrono::hours{hour} + std::chrono::minutes{minute} +
         std::chrono::seconds{second};
}

}  // namespace

std::string sha256_hex(std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> digest{};
  unsigned int length = 0;
  EVP_Digest(data.data(), data.size(), digest.data(), &length, EVP_sha256(), nullptr);
  return to_hex(std::string_view(reinterpret_cast<const char*>(digest.data()), length));
}

std::string hmac_sha256(std::string_view key, std::string_view data) {
  std::array<unsigned char, EVP_MAX_MD_SIZE> mac{};
  unsigned int length = 0;
  HMAC(EVP_sha256(), key.data(), static_cast<int>(key.size()),
       reinterpret_cast<const unsigned char*>(data.data()), data.size(), mac.data(), &length);
  return std::string(reinterpret_cast<const char*>(mac.data()), length);
}

std::string to_hex(std::string_view bytes) {
  static constexpr char digits[] = "0123456789abcdef";
  std::string hex;
  hex.reserve(bytes.size() * 2);
  for (unsigned char c : bytes) {
    hex.push_back(digits[c >> 4]);
    hex.push_back(digits[c & 0xf]);
  }
  return hex;
}

std::string uri_encode(std::string_view text, bool keep_slash) {
  static constexpr char digits[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(text.size());
  for (unsigned char c : text) {
    if (unreserved(c) || (keep_slash && c == '/')) {
      out.push_back(static_cast<char>(c));
    } else {
      out.push_back('%');
      out.push_back(digits[c >> 4]);
      out.push_back(digits[c & 0xf]);
    }
  }
  return out;
}

std::optional<std::string> uri_decode(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] != '%') {
      out.push_back(text[i]);
      continue;
    }
    if (i + 2 >= text.size()) return std::nullopt;
    const int hi = hex_value(text[i + 1]), lo = hex_value(text[i + 2]);
    if (hi < 0 || lo < 0) return std::nullopt;
    out.push_back(static_cast<char>(hi * 16 + lo));
    i += 2;
  }
  return out;
}

std::optional<std::vector<name_value>> parse_query(std::string_view raw) {
  std::vector<name_value> pairs;
  while (!raw.empty()) {
    const auto amp = raw.find('&');
    const std::string_view part = raw.substr(0, amp);
    raw = amp == std::string_view::npos ? std::string_view{} : raw.substr(amp + 1);
    if (part.empty()) continue;
    const auto eq = part.find('=');
    auto name = uri_decode(part.substr(0, eq));
    auto value =
        uri_decode(eq == std::string_view::npos ? std::string_view{} : part.substr(eq + 1));
    if (!name || !value) return std::nullopt;
    pairs.emplace_back(std::move(*name), std::move(*value));
  }
  return pairs;
}

std::string amz_date(std::chrono::system_clock::time_point t) {
  const std::time_t seconds = std::chrono::system_clock::to_time_t(t);
  std::tm utc{};
  gmtime_r(&seconds, &utc);
  std::array<char, 20> text{};
  std::strftime(text.data(), text.size(), "%Y%m%dT%H%M%SZ", &utc);
  return std::string(text.data());
}

std::string signing_key(std::string_view secret, std::string_view date, std::string_view region,
                        std::string_view service) {
  std::string key = "AWS4";
  key += secret;
  const std::string k_date = hmac_sha256(key, date);
  OPENSSL_cleanse(key.data(), key.size());
  const std::string k_region = hmac_sha256(k_date, region);
  const std::string k_service = hmac_sha256(k_region, service);
  return hmac_sha256(k_service, "aws4_request");
}

std::string string_to_sign(std::string_view amz_date_text, std::string_view scope,
                           std::string_view canonical) {
  std::string text(algorithm);
  text += '\n';
  text += amz_date_text;
  text += '\n';
  text += scope;
  text += '\n';
  text += sha256_hex(canonical);
  return text;
}

std::string canonical_request(const presign_input& input, std::string_view access_key) {
  const auto headers = canonical_headers(input);
  auto params = input.query;
  for (auto& p : auth_params(input, access_key, headers)) params.push_back(std::move(p));
  return canonical_request_with(input, params, headers);
}

result<std::string> presign_query(const presign_input& input, const credentials& creds) {
  if (input.expires < std::chrono::seconds{1} || input.expires > longest_expiry) {
    return error{errc::bad_request, "a presigned URL lives 1 second to 7 days"};
  }
  if (creds.access_key.empty() || input.region.empty() || input.host.empty()) {
    return error{errc::bad_request, "no access key, region or host to sign with"};
  }
  const auto headers = canonical_headers(input);
  auto params = input.query;
  for (auto& p : auth_params(input, creds.access_key, headers)) params.push_back(std::move(p));
  const std::string signature =
      signature_of(input, creds.secret_key, canonical_request_with(input, params, headers));
  std::string query = canonical_query(params);
  query += "&X-Amz-Signature=";
  query += signature;
  return query;
}

std::string attachment_disposition(std::string_view filename) {
  std::string fallback;
  for (unsigned char c : filename) {
    const bool plain = c >= 0x20 && c < 0x7f && c != '"' && c != '\\';
    fallback.push_back(plain ? static_cast<char>(c) : '_');
  }
  std::string value = "attachment; filename=\"";
  value += fallback;
  value += "\"; filename*=UTF-8''";
  value += uri_encode(filename, false);
  return value;
}

result<verified> verify(const received_request& request, const credentials& creds,
                        std::string_view region, std::chrono::system_clock::time_point now) {
  auto param = [&](std::string_view name) { return find(request.query, name); };
  const std::string* alg = param("X-Amz-Algorithm");
  const std::string* credential = param("X-Amz-Credential");
  const std::string* date = param("X-Amz-Date");
  const std::string* expires = param("X-Amz-Expires");
  const std::string* signed_headers = param("X-Amz-SignedHeaders");
  const std::string* signature = param("X-Amz-Signature");
  if (!alg || !credential || !date || !expires || !signed_headers || !signature) {
    return error{errc::bad_request, "the URL lacks X-Amz-* signature parameters"};
  }
  if (*alg != algorithm) return error{errc::bad_request, "unsupported X-Amz-Algorithm"};
  const auto signed_at = parse_amz_date(*date);
  if (!signed_at) return error{errc::bad_request, "malformed X-Amz-Date"};
  long long lifetime = -1;
  const auto [end, ec] =
      std::from_chars(expires->data(), expires->data() + expires->size(), lifetime);
  if (ec != std::errc{} || end != expires->data() + expires->size() || lifetime < 1 ||
      lifetime > longest_expiry.count()) {
    return error{errc::bad_request, "X-Amz-Expires must be 1 to 604800 seconds"};
  }

  presign_input input;
  input.method = request.method;
  input.path = request.path;
  input.region = std::string(region);
  input.service = "s3";
  input.now = *signed_at;
  input.expires = std::chrono::seconds{lifetime};
  const std::string expected_credential =
      creds.access_key + "/" + scope_of(date_of(*date), region, "s3");
  if (*credential != expected_credential) {
    return error{errc::forbidden, "the credential or its scope is not this store's"};
  }

  verified result;
  std::string_view list = *signed_headers;
  bool has_host = false;
  while (!list.empty()) {
    const auto semi = list.find(';');
    const std::string name(list.substr(0, semi));
    list = semi == std::string_view::npos ? std::string_view{} : list.substr(semi + 1);
    const std::string* value = find(request.headers, name);
    if (!value) return error{errc::forbidden, "signed header " + name + " is missing"};
    if (name == "host") {
      has_host = true;
      input.host = *value;
    } else {
      input.headers.emplace_back(name, *value);
    }
    result.signed_headers.push_back(name);
  }
  if (!has_host) return error{errc::forbidden, "the host header is not signed"};
  for (const auto& [name, value] : request.query) {
    if (name.rfind("X-Amz-", 0) != 0) input.query.emplace_back(name, value);
  }

  const auto headers = canonical_headers(input);
  if (signed_header_list(headers) != *signed_headers) {
    return error{errc::forbidden, "X-Amz-SignedHeaders is not in canonical order"};
  }
  std::vector<name_value> params = input.query;
  for (const auto& [name, value] : request.query) {
    if (name.rfind("X-Amz-", 0) == 0 && name != "X-Amz-Signature") params.emplace_back(name, value);
  }
  const std::string expected =
      signature_of(input, creds.secret_key, canonical_request_with(input, params, headers));
  if (expected.size() != signature->size() ||
      CRYPTO_memcmp(expected.data(), signature->data(), expected.size()) != 0) {
    return error{errc::forbidden, "the signature does not match"};
  }
  const auto valid_until = *signed_at + input.expires;
  if (now < *signed_at - std::chrono::minutes{15} || now > valid_until) {
    return error{errc::forbidden, "the URL has expired"};
  }
  result.expires_at =
      std::chrono::duration_cast<std::chrono::seconds>(valid_until.time_since_epoch()).count();
  return result;
}

}  // namespace hibiki::persistence::sigv4
