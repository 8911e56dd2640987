#include "hibiki/persistence/directory_store.hpp"

#include <fcntl.h>
#include <openssl/rand.h>
#include <sys/stat.h>
#include <unistd.h>

#include <array>
#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

#include "object_common.hpp"

namespace hibiki::persistence {
namespace {

namespace fs = std::filesystem;

constexpr std::string_view access_key = "hibiki-local";

std::string random_hex(std::size_t bytes) {
  std::string raw(bytes, '\0');
  if (RAND_bytes(reinterpret_cast<unsigned char*>(raw.data()), static_cast<int>(bytes)) != 1) {
    return {};
  }
  return sigv4::to_hex(raw);
}

error disk_error(const std::string& what, int err) {
  return error{errc::unavailable, what + ": " + std::strerror(err)};
}

/// Writes all of `data` to `fd`.
bool write_all(int fd, const char* data, std::size_t size) {
  while (size > 0) {
    const auto n = ::write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      return false;
    }
    data += n;
    size -= static_cast<std::size_t>(n);
  }
  return true;
}

/// Writes `text` to `path` through a temp file in `tmp` and a rename (readers see the old file
/// or the new one, never half of it).
status write_file_atomically(const fs::path& tmp, const fs::path& path, std::string_view text) {
  const fs::path temp = tmp / ("t-" + random_hex(12));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return disk_error("cannot create " + temp.string(), errno);
  const bool ok = write_all(fd, text.data(), text.size()) && ::fsync(fd) == 0;
  const int err = errno;
  ::close(fd);
  std::error_code ec;
  if (ok) fs::create_directories(path.parent_path(), ec);
  if (!ok || ec || ::rename(temp.c_str(), path.c_str()) != 0) {
    const int rename_err = ok ? (ec ? ec.value() : errno) : err;
    fs::remove(temp, ec);
    return disk_error("cannot write " + path.string(), rename_err);
  }
  return {};
}

class file_writer final : public directory_store::writer {
 public:
  file_writer(int fd, fs::path temp, fs::path tmp_dir, fs::path object, fs::path type_file,
              std::uint64_t size, std::string content_type)
      : fd_(fd),
        temp_(std::move(temp)),
        tmp_dir_(std::move(tmp_dir)),
        object_(std::move(object)),
        type_file_(std::move(type_file)),
        size_(size),
        content_type_(std::move(content_type)) {}

  ~file_writer() override {
    if (fd_ >= 0) ::close(fd_);
    if (!committed_) {
      std::error_code ec;
      fs::remove(temp_, ec);
    }
  }

  status write(const char* data, std::size_t size) override {
    if (fd_ < 0) return error{errc::bad_request, "the object is already complete or failed"};
    if (size > size_ - written_) {
      return error{errc::bad_request,
                   "more bytes than the " + std::to_string(size_) + " announced"};
    }
    if (!write_all(fd_, data, size)) return disk_error("cannot write " + temp_.string(), errno);
    written_ += size;
    return {};
  }

  status commit() override {
    if (fd_ < 0) return error{errc::bad_request, "the object is already complete or failed"};
    if (written_ != size_) {
      return error{errc::bad_request, "the body ended after " + std::to_string(written_) + " of " +
                                          std::to_string(size_) + " bytes"};
    }
    const bool synced = ::fsync(fd_) == 0;
    const int err = errno;
    ::close(fd_);
    fd_ = -1;
    if (!synced) return disk_error("cannot sync " + temp_.string(), err);
    // The type first, the bytes last: an object is visible (head, find) only once both are there.
    if (auto st = write_file_atomically(tmp_dir_, type_file_, content_type_); !st) return st;
    std::error_code ec;
    fs::create_directories(object_.parent_path(), ec);
    if (ec || ::rename(temp_.c_str(), object_.c_str()) != 0) {
      return disk_error("cannot move the object into place", ec ? ec.value() : errno);
    }
    committed_ = true;
    return {};
  }

 private:
  int fd_;
  fs::path temp_, tmp_dir_, object_, type_file_;
  std::uint64_t size_;
  std::uint64_t written_ = 0;
  std::string content_type_;
  bool committed_ = false;
};

}  // namespace

bool valid_object_key(std::string_view key) {
  if (key.empty() || key.size() > 512) return false;
  std::size_t start = 0;
  while (start <= key.size()) {
    const auto slash = key.find('/', start);
    const auto segment =
        key.substr(start, slash == std::string_view::npos ? key.npos : slash - start);
    if (segment.empty() || segment == "." || segment == "..") return false;
    for (unsigned char c : segment) {
      const bool ok = (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
                      c == '-' || c == '.' || c == '_';
      if (!ok) return false;
    }
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return true;
}

directory_store::directory_store(fs::path root, sigv4::credentials creds)
    : root_(std::move(root)), creds_(std::move(creds)) {}

result<std::shared_ptr<directory_store>> directory_store::open(
    const directory_store_options& options) {
  if (options.root.empty()) return error{errc::bad_request, "the file store needs a directory"};
  const fs::path root = fs::absolute(options.root);
  std::error_code ec;
  for (const char* sub : {"objects", "types", "tmp"}) {
    fs::create_directories(root / sub, ec);
    if (ec)
      return error{errc::unavailable,
                   "cannot create " + (root / sub).string() + ": " + ec.message()};
  }
  // Uploads cut off by a stop or a crash left their temp files: nothing refers to them.
  for (const auto& entry : fs::directory_iterator(root / "tmp", ec)) fs::remove(entry.path(), ec);

  const fs::path key_file = root / ".signing-key";
  std::string secret;
  if (std::ifstream in(key_file); in) std::getline(in, secret);
  if (secret.size() < 32) {
    secret = random_hex(32);
    if (secret.empty()) return error{errc::unavailable, "no random bytes for the signing key"};
    const fs::path temp = root / "tmp" / "signing-key";
    const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    if (fd < 0) return disk_error("cannot create " + temp.string(), errno);
    const std::string line = secret + "\n";
    const bool ok = write_all(fd, line.data(), line.size()) && ::fsync(fd) == 0;
    ::close(fd);
    if (!ok || ::rename(temp.c_str(), key_file.c_str()) != 0) {
      return disk_error("cannot write " + key_file.string(), errno);
    }
  }
  std::shared_ptr<directory_store> store(
      new directory_store(root, sigv4::credentials{std::string(access_key), std::move(secret)}));
  if (!options.public_url.empty()) {
    if (auto st = store->set_public_url(options.public_url); !st) return st.error();
  }
  return store;
}

status directory_store::set_public_url(const std::string& url) {
  auto parts = objects::split_base_url(url);
  if (!parts) return parts.error();
  std::lock_guard lock(mutex_);
  scheme_ = parts->scheme;
  authority_ = parts->authority;
  return {};
}

std::string directory_store::public_url() const {
  std::lock_guard lock(mutex_);
  return authority_.empty() ? std::string() : scheme_ + "://" + authority_;
}

result<signed_url> directory_store::presign(const std::string& method, const std::string& key,
                                            std::vector<sigv4::name_value> query,
                                            std::vector<sigv4::name_value> headers,
                                            std::chrono::seconds ttl,
                                            std::chrono::system_clock::time_point now) {
  if (!valid_object_key(key)) return error{errc::bad_request, "not a valid object key"};
  std::string scheme, authority;
  {
    std::lock_guard lock(mutex_);
    scheme = scheme_;
    authority = authority_;
  }
  if (authority.empty()) return error{errc::unavailable, "the file store has no public URL yet"};
  sigv4::presign_input input;
  input.method = method;
  input.host = authority;
  input.path = std::string(url_prefix) + key;
  input.query = std::move(query);
  input.headers = std::move(headers);
  input.region = std::string(region);
  input.now = now;
  input.expires = ttl;
  auto q = sigv4::presign_query(input, creds_);
  if (!q) return q.error();
  return signed_url{scheme + "://" + authority + sigv4::uri_encode(input.path, true) + "?" + *q,
                    objects::unix_seconds(now + ttl)};
}

result<signed_url> directory_store::presign_put(const std::string& key, std::uint64_t size,
                                                const std::string& content_type,
                                                std::chrono::seconds ttl,
                                                std::chrono::system_clock::time_point now) {
  if (!objects::valid_content_type(content_type)) {
    return error{errc::bad_request, "not a valid content type"};
  }
  return presign("PUT", key, {},
                 {{"content-length", std::to_string(size)}, {"content-type", content_type}}, ttl,
                 now);
}

result<signed_url> directory_store::presign_get(const std::string& key, const std::string& filename,
                                                std::chrono::seconds ttl,
                                                std::chrono::system_clock::time_point now) {
  return presign("GET", key,
                 {{"response-content-disposition", sigv4::attachment_disposition(filename)}}, {},
                 ttl, now);
}

result<signed_url> directory_store::presign_head(const std::string& key, std::chrono::seconds ttl,
                                                 std::chrono::system_clock::time_point now) {
  return presign("HEAD", key, {}, {}, ttl, now);
}

result<directory_store::stored_object> directory_store::find(const std::string& key) const {
  if (!valid_object_key(key)) return error{errc::bad_request, "not a valid object key"};
  stored_object found;
  found.path = root_ / "objects" / key;
  std::error_code ec;
  if (!fs::is_regular_file(found.path, ec)) return error{errc::not_found, "no such object"};
  found.info.size = fs::file_size(found.path, ec);
  if (ec) return error{errc::not_found, "no such object"};
  if (std::ifstream in(root_ / "types" / key); in) std::getline(in, found.info.content_type);
  if (found.info.content_type.empty()) found.info.content_type = "application/octet-stream";
  return found;
}

result<object_info> directory_store::head(const std::string& key) {
  auto found = find(key);
  if (!found) return found.error();
  return found->info;
}

status directory_store::remove(const std::string& key) {
  if (!valid_object_key(key)) return error{errc::bad_request, "not a valid object key"};
  std::error_code ec;
  fs::remove(root_ / "objects" / key, ec);
  if (ec) return error{errc::unavailable, "cannot remove the object: " + ec.message()};
  fs::remove(root_ / "types" / key, ec);
  return {};
}

result<std::unique_ptr<directory_store::writer>> directory_store::begin_put(
    const std::string& key, std::uint64_t size, const std::string& content_type) {
  if (!valid_object_key(key)) return error{errc::bad_request, "not a valid object key"};
  const fs::path temp = root_ / "tmp" / ("o-" + random_hex(12));
  const int fd = ::open(temp.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
  if (fd < 0) return disk_error("cannot create " + temp.string(), errno);
  return std::unique_ptr<writer>(std::make_unique<file_writer>(
      fd, temp, root_ / "tmp", root_ / "objects" / key, root_ / "types" / key, size,
      content_type.empty() ? std::string("application/octet-stream") : content_type));
}

status directory_store::put(const std::string& key, std::uint64_t size,
                            const std::string& content_type, const byte_source& source) {
  if (!objects::valid_content_type(content_type)) {
    return error{errc::bad_request, "not a valid content type"};
  }
  auto w = begin_put(key, size, content_type);
  if (!w) return w.error();
  std::array<char, 64 * 1024> buffer{};
  for (;;) {
    auto n = source(buffer.data(), buffer.size());
    if (!n) return n.error();
    if (*n == 0) break;
    if (auto st = (*w)->write(buffer.data(), *n); !st) return st;
  }
  return (*w)->commit();
}

result<directory_store::grant> directory_store::authorize(
    std::string_view method, std::string_view target, const std::vector<sigv4::name_value>& headers,
    std::chrono::system_clock::time_point now) const {
  const auto question = target.find('?');
  const std::string_view raw_path = target.substr(0, question);
  if (raw_path.substr(0, url_prefix.size()) != url_prefix) {
    return error{errc::bad_request, "not a file URL"};
  }
  auto path = sigv4::uri_decode(raw_path);
  if (!path) return error{errc::bad_request, "malformed path"};
  grant g;
  g.key = path->substr(url_prefix.size());
  if (!valid_object_key(g.key)) return error{errc::bad_request, "not a valid object key"};
  auto query = sigv4::parse_query(question == std::string_view::npos ? std::string_view{}
                                                                     : target.substr(question + 1));
  if (!query) return error{errc::bad_request, "malformed query string"};

  sigv4::received_request request;
  request.method = std::string(method);
  request.path = *path;
  request.query = std::move(*query);
  request.headers = headers;
  auto checked = sigv4::verify(request, creds_, region, now);
  if (!checked) return checked.error();

  auto header = [&](std::string_view name) -> const std::string* {
    for (const auto& [n, v] : headers) {
      if (n == name) return &v;
    }
    return nullptr;
  };
  auto is_signed = [&](std::string_view name) {
    for (const auto& s : checked->signed_headers) {
      if (s == name) return true;
    }
    return false;
  };
  if (method == "PUT") {
    if (!is_signed("content-length") || !is_signed("content-type")) {
      return error{errc::forbidden, "an upload URL must sign Content-Length and Content-Type"};
    }
    const std::string& length = *header("content-length");
    g.size = 0;
    for (char c : length) {
      if (c < '0' || c > '9' || g.size > (UINT64_MAX - 9) / 10) {
        return error{errc::bad_request, "malformed Content-Length"};
      }
      g.size = g.size * 10 + static_cast<std::uint64_t>(c - '0');
    }
    if (length.empty()) return error{errc::bad_request, "malformed Content-Length"};
    g.content_type = *header("content-type");
  }
  for (const auto& [n, v] : request.query) {
    if (n == "response-content-disposition") g.content_disposition = v;
  }
  return g;
}

}  // namespace hibiki::persistence
