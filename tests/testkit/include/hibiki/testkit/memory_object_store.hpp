#pragma once
/// An object store in memory for actor tests (the real ones, S3 and the gateway's directory, are
/// for e2e tests). Its URLs are not for fetching: `mem://put/KEY?size=N&type=T&expires=E` and
/// `mem://get/KEY?filename=F&expires=E` say what was signed, and the test "uploads" with
/// `store(key, size)`. `down` makes every I/O call fail `unavailable`, as a store that cannot be
/// reached. Thread-safe.

#include <atomic>
#include <map>
#include <mutex>
#include <string>

#include "hibiki/persistence/object_store.hpp"

namespace hibiki::testkit {

class memory_object_store final : public persistence::object_store {
 public:
  result<persistence::signed_url> presign_put(const std::string& key, std::uint64_t size,
                                              const std::string& content_type,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) override;
  result<persistence::signed_url> presign_get(const std::string& key, const std::string& filename,
                                              std::chrono::seconds ttl,
                                              std::chrono::system_clock::time_point now) override;
  result<persistence::object_info> head(const std::string& key) override;
  status remove(const std::string& key) override;
  status put(const std::string& key, std::uint64_t size, const std::string& content_type,
             const persistence::byte_source& source) override;

  /// What a client's PUT would leave: an object of `size` bytes at `key`.
  void store(const std::string& key, std::uint64_t size, std::string content_type = {});
  bool has(const std::string& key) const;
  std::size_t object_count() const;
  /// The bytes `put` received for `key` (empty when none).
  std::string bytes_of(const std::string& key) const;

  std::atomic<bool> down{false};
  std::atomic<std::size_t> heads{0};
  std::atomic<std::size_t> removes{0};

 private:
  struct object {
    std::uint64_t size = 0;
    std::string content_type;
    std::string bytes;
  };
  mutable std::mutex mutex_;
  std::map<std::string, object> objects_;
};

}  // namespace hibiki::testkit
