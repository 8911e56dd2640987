#pragma once
/// The form of the REST API's `POST /v2/rooms/{id}/files` as it is read: a multipart_reader whose
/// `file` part goes, piece by piece, into a spool file (created in the spool directory and
/// unlinked at once, so it never outlives the request, not even a crash), its `message` part into
/// a bounded string, other parts nowhere. Once the body is read the file's real size is known:
/// that is what the room is asked to accept, and the spool is then streamed to the object store
/// (`source()`). Memory stays bounded by the reader's limits and max_message_bytes; disk by the
/// file cap. No socket here: unit-tested on its own.

#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/result.hpp"
#include "hibiki/persistence/object_store.hpp"
#include "multipart.hpp"

namespace hibiki::gateway {

/// Chatwork's cap on a file uploaded through its API: 5 MB, counted as 5 * 1024 * 1024 bytes.
inline constexpr std::uint64_t chatwork_max_upload_bytes = 5ull * 1024 * 1024;

class upload_form {
 public:
  /// The `message` part may be at most this long (the room checks its length in characters).
  /// 256 KiB
  static constexpr std::size_t max_message_bytes = 256 * 1024;

  /// A form whose file may hold at most `max_file_bytes`, spooled under `spool_dir` (empty: the
  /// system's temp directory).
  upload_form(std::string boundary, std::uint64_t max_file_bytes, std::string spool_dir);
  ~upload_form();
  upload_form(const upload_form&) = delete;
  upload_form& operator=(const upload_form&) = delete;

  /// The next piece of the body. Errors: bad_request (malformed, a second `file` part, a file
  /// part without a filename or with a bad one, a bad content type), too_large (the file is over
  /// the cap: said as soon as the byte past it arrives), unavailable (the spool cannot be
  /// written).
  status feed(std::string_view piece);
  /// The body has ended. Errors: bad_request (cut short, no `file` part, an empty file).
  status finish();

  // After finish():
  const std::string& filename() const { return filename_; }
  /// The part's type, or application/octet-stream when it gave none.
  const std::string& content_type() const { return content_type_; }
  const std::string& message() const { return message_; }
  std::uint64_t size() const { return size_; }
  /// Reads the spooled file from its start (each call starts again). Blocking file reads.
  persistence::byte_source source() const;

 private:
  enum class part { none, file, message, ignored };
  status begin(const multipart_part& p);
  status data(std::string_view bytes);

  multipart_reader reader_;
  std::uint64_t max_file_bytes_;
  std::string spool_dir_;
  part current_ = part::none;
  bool have_file_ = false;
  bool have_message_ = false;
  int fd_ = -1;
  std::string filename_;
  std::string content_type_;
  std::string message_;
  std::uint64_t size_ = 0;
};

}  // namespace hibiki::gateway
