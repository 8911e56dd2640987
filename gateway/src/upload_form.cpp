#include "upload_form.hpp"

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <vector>

#include "hibiki/core/room_file.hpp"

namespace hibiki::gateway {
namespace {

constexpr std::string_view default_content_type = "application/octet-stream";

hibiki::error spool_error(std::string_view what) {
  return {errc::unavailable,
          "cannot spool the upload (" + std::string(what) + ": " + std::strerror(errno) + ")"};
}

}  // namespace

upload_form::upload_form(std::string boundary, std::uint64_t max_file_bytes, std::string spool_dir)
    : reader_(
          std::move(boundary), [this](const multipart_part& p) { return begin(p); },
          [this](std::string_view bytes) { return data(bytes); },
          [this]() -> status {
            current_ = part::none;
            return {};
          }),
      max_file_bytes_(max_file_bytes),
      spool_dir_(std::move(spool_dir)) {}

upload_form::~upload_form() {
  if (fd_ >= 0) ::close(fd_);
}

status upload_form::feed(std::string_view piece) {
  return reader_.feed(piece);
}

status upload_form::finish() {
  if (auto st = reader_.finish(); !st) return st;
  if (!have_file_) {
    return hibiki::error{errc::bad_request, "the form has no part named \"file\" (the file)"};
  }
  if (size_ == 0) return hibiki::error{errc::bad_request, "the file is empty"};
  return {};
}

status upload_form::begin(const multipart_part& p) {
  if (p.name == "message") {
    if (have_message_) {
      return hibiki::error{errc::bad_request, "the form has two parts named \"message\""};
    }
    have_message_ = true;
    current_ = part::message;
    return {};
  }
  if (p.name != "file") {
    current_ = part::ignored;  // Chatwork's form has no other fields
    return {};
  }
  if (have_file_) {
    return hibiki::error{errc::bad_request,
                         "the form has two parts named \"file\": upload one file per request"};
  }
  have_file_ = true;
  if (!p.filename) {
    return hibiki::error{errc::bad_request,
                         "the \"file\" part has no filename (Content-Disposition: form-data; "
                         "name=\"file\"; filename=\"...\")"};
  }
  // The room checks it again; refusing it here saves reading a body the room would refuse.
  if (auto st = room::check_filename(*p.filename); !st) {
    return hibiki::error{errc::bad_request, st.error().message};
  }
  filename_ = *p.filename;
  content_type_ = p.content_type.empty() ? std::string(default_content_type) : p.content_type;
  if (auto st = room::check_content_type(content_type_); !st) {
    return hibiki::error{errc::bad_request, "the file part's Content-Type: " + st.error().message};
  }
  const auto dir =
      spool_dir_.empty() ? std::filesystem::temp_directory_path().string() : spool_dir_;
  std::string path = dir + "/hibiki-upload-XXXXXX";
  std::vector<char> name(path.begin(), path.end());
  name.push_back('\0');
  fd_ = ::mkstemp(name.data());
  if (fd_ < 0) return spool_error("mkstemp in " + dir);
  // Unlinked at once: the open descriptor is the only name it has, so nothing is left behind.
  ::unlink(name.data());
  current_ = part::file;
  return {};
}

status upload_form::data(std::string_view bytes) {
  switch (current_) {
    case part::message:
      if (message_.size() + bytes.size() > max_message_bytes) {
        return hibiki::error{errc::too_large, "the message part is over " +
                                                  std::to_string(max_message_bytes) + " bytes"};
      }
      message_.append(bytes);
      return {};
    case part::file:
      if (size_ + bytes.size() > max_file_bytes_) {
        return hibiki::error{errc::too_large, "the file is over " +
                                                  std::to_string(max_file_bytes_) +
                                                  " bytes, the most this server takes"};
      }
      while (!bytes.empty()) {
        const auto n = ::write(fd_, bytes.data(), bytes.size());
        if (n < 0 && errno == EINTR) continue;
        if (n <= 0) return spool_error("write");
        bytes.remove_prefix(static_cast<std::size_t>(n));
        size_ += static_cast<std::uint64_t>(n);
      }
      return {};
    case part::none:
    case part::ignored:
      return {};
  }
  return {};
}

persistence::byte_source upload_form::source() const {
  auto offset = std::make_shared<std::uint64_t>(0);
  return
      [fd = fd_, size = size_, offset](char* buffer, std::size_t capacity) -> result<std::size_t> {
        if (*offset >= size) return std::size_t{0};
        while (true) {
          const auto n = ::pread(fd, buffer, capacity, static_cast<off_t>(*offset));
          if (n < 0 && errno == EINTR) continue;
          if (n < 0) return spool_error("read");
          *offset += static_cast<std::uint64_t>(n);
          return static_cast<std::size_t>(n);
        }
      };
}

}  // namespace hibiki::gateway
