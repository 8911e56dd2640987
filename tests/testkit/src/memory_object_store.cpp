#include "hibiki/testkit/memory_object_store.hpp"

#include <vector>

namespace hibiki::testkit {

namespace {

std::int64_t unix_seconds(std::chrono::system_clock::time_point t) {
  return std::chrono::duration_cast<std::chrono::seconds>(t.time_since_epoch()).count();
}

hibiki::error unreachable() {
  return {errc::unavailable, "memory store is down"};
}

}  // namespace

result<persistence::signed_url> memory_object_store::presign_put(
    const std::string& key, std::uint64_t size, const std::string& content_type,
    std::chrono::seconds ttl, std::chrono::system_clock::time_point now) {
  const auto expires = unix_seconds(now) + ttl.count();
  return persistence::signed_url{"mem://put/" + key + "?size=" + std::to_string(size) + "&type=" +
                                     content_type + "&expires=" + std::to_string(expires),
                                 expires};
}

result<persistence::signed_url> memory_object_store::presign_get(
    const std::string& key, const std::string& filename, std::chrono::seconds ttl,
    std::chrono::system_clock::time_point now) {
  const auto expires = unix_seconds(now) + ttl.count();
  return persistence::signed_url{
      "mem://get/" + key + "?filename=" + filename + "&expires=" + std::to_string(expires),
      expires};
}

result<persistence::object_info> memory_object_store::head(const std::string& key) {
  ++heads;
  if (down) return unreachable();
  std::lock_guard lock(mutex_);
  auto it = objects_.find(key);
  if (it == objects_.end()) return hibiki::error{errc::not_found, "no such object"};
  return persistence::object_info{it->second.size, it->second.content_type};
}

status memory_object_store::remove(const std::string& key) {
  ++removes;
  if (down) return unreachable();
  std::lock_guard lock(mutex_);
  objects_.erase(key);
  return {};
}

status memory_object_store::put(const std::string& key, std::uint64_t size,
                                const std::string& content_type,
                                const persistence::byte_source& source) {
  if (down) return unreachable();
  std::string bytes;
  std::vector<char> buffer(4096);
  for (;;) {
    auto n = source(buffer.data(), buffer.size());
    if (!n) return n.error();
    if (*n == 0) break;
    bytes.append(buffer.data(), *n);
    if (bytes.size() > size) return hibiki::error{errc::bad_request, "more bytes than declared"};
  }
  if (bytes.size() != size) return hibiki::error{errc::bad_request, "fewer bytes than declared"};
  std::lock_guard lock(mutex_);
  objects_[key] = object{size, content_type, std::move(bytes)};
  return {};
}

void memory_object_store::store(const std::string& key, std::uint64_t size,
                                std::string content_type) {
  std::lock_guard lock(mutex_);
  objects_[key] = object{size, std::move(content_type), {}};
}

bool memory_object_store::has(const std::string& key) const {
  std::lock_guard lock(mutex_);
  return objects_.contains(key);
}

std::size_t memory_object_store::object_count() const {
  std::lock_guard lock(mutex_);
  return objects_.size();
}

std::string memory_object_store::bytes_of(const std::string& key) const {
  std::lock_guard lock(mutex_);
  auto it = objects_.find(key);
  return it == objects_.end() ? std::string{} : it->second.bytes;
}

}  // namespace hibiki::testkit
