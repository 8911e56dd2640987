#include "hibiki/cli/file_commands.hpp"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <filesystem>
#include <iostream>
#include <nlohmann/json.hpp>

#include "hibiki/cli/file_names.hpp"
#include "hibiki/cli/url_transfer.hpp"
#include "hibiki/cli/ws_client.hpp"
#include "local_files.hpp"

namespace hibiki::cli {
namespace {

using json = nlohmann::json;
namespace fs = std::filesystem;

/// Each step of a transfer (connect, one 64 KiB piece, the answer) gets this long; the whole
/// transfer has no limit, so a large file on a slow link still goes through.
constexpr std::chrono::seconds store_step_timeout{60};

status fail(std::string message) {
  return status(errc::internal, std::move(message));
}

/// --insecure is said on stderr for the store's https:// URL too, even when the server's own URL
/// was plain (main says it for the server's).
void warn_if_insecure_store(const client_options& o, const server_url& server,
                            const transfer_url& store) {
  if (store.tls && o.tls.insecure && !server.tls) std::cerr << insecure_warning << "\n";
}

/// A server's refusal with its code kept, the message prefixed with what was being done.
status refused(const error& e, const std::string& doing) {
  return status(e.code, doing + ": " + e.message);
}

// ---- finding the file ------------------------------------------------------------------------

/// The one room among the caller's that has file `file_id`.
result<std::uint64_t> find_file_room(ws_connection& c, std::uint64_t file_id) {
  auto rooms = c.call({{"op", "list_rooms"}});
  if (!rooms) return error{rooms.error().code, "cannot list your rooms: " + rooms.error().message};
  std::vector<std::uint64_t> found;
  for (const auto& room : rooms->value("rooms", json::array())) {
    const auto id = room.value("room_id", std::uint64_t{0});
    if (id == 0) continue;
    auto f = c.call({{"op", "get_file"}, {"room_id", id}, {"file_id", file_id}});
    if (f) {
      found.push_back(id);
    } else if (f.error().code != errc::not_found && f.error().code != errc::forbidden) {
      return error{f.error().code, "cannot look for the file in room " + std::to_string(id) + ": " +
                                       f.error().message};
    }
  }
  const auto id = std::to_string(file_id);
  if (found.empty()) {
    return error{errc::not_found, "no file " + id +
                                      " in any of your rooms (file ids count from 1 in each "
                                      "room; 'hibiki rooms' lists yours)"};
  }
  if (found.size() > 1) {
    std::string list;
    for (auto r : found) list += (list.empty() ? "" : ", ") + std::to_string(r);
    return error{errc::conflict, "file " + id + " is in several of your rooms (" + list +
                                     "): say which, e.g. 'hibiki download " +
                                     std::to_string(found.front()) + "/" + id + "' or --room " +
                                     std::to_string(found.front())};
  }
  return found.front();
}

/// Where a download goes: PATH, PATH/NAME when PATH is a directory, else NAME here.
fs::path destination(const client_options& o, const std::string& server_name) {
  const auto name = safe_local_name(server_name);
  if (o.args.size() < 2) return fs::path(name);
  fs::path p(o.args[1]);
  std::error_code ec;
  if (fs::is_directory(p, ec)) return p / name;
  return p;
}

status check_answer(const result<transfer_answer>& got, std::uint64_t size,
                    const std::string& what) {
  if (!got) return refused(got.error(), "the download from the store failed");
  if (got->status != 200)
    return fail("the store refused the download: " + store_refusal(got->status, got->error_body));
  if (got->bytes != size) {
    return fail("the store sent " + std::to_string(got->bytes) + " bytes, but " + what + " has " +
                std::to_string(size));
  }
  return status::success();
}

}  // namespace

status upload_file(const client_options& o, const server_url& url) {
  const auto room = *parse_id(o.args[0], "room id");
  const std::string& path = o.args[1];
  // Everything about the local file is checked before the server is asked anything.
  // O_NONBLOCK: opening a FIFO must not wait for a writer (it is refused just below); reads of
  // a regular file ignore the flag.
  fd_guard file(::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NONBLOCK));
  if (file.get() < 0) return fail("cannot open " + path + ": " + std::strerror(errno));
  struct stat st {};
  if (::fstat(file.get(), &st) != 0)
    return fail("cannot read " + path + ": " + std::strerror(errno));
  if (S_ISDIR(st.st_mode))
    return fail(path + " is a directory: hibiki upload sends one file (archive it first)");
  if (!S_ISREG(st.st_mode)) {
    return fail(path +
                " is not a regular file (a pipe, device or socket): hibiki upload needs a file "
                "whose size is known before it is sent");
  }
  const auto size = static_cast<std::uint64_t>(st.st_size);
  if (size == 0) return fail(path + " is empty: the server only accepts files of 1 byte or more");
  const auto filename = fs::path(path).filename().string();
  const auto content_type = o.content_type.empty() ? guess_content_type(filename) : o.content_type;

  auto conn = connect_and_auth(o, url);
  if (!conn) return conn.error();
  auto up = (*conn)->call({{"op", "request_upload"},
                           {"room_id", room},
                           {"filename", filename},
                           {"size", size},
                           {"content_type", content_type}});
  if (!up) return refused(up.error(), "the server refused the upload of " + path);
  // A long PUT would leave this connection silent past the server's idle timeout.
  (*conn)->close();
  const auto file_id = up->value("file_id", std::uint64_t{0});
  auto target = parse_transfer_url(up->value("upload_url", ""));
  if (file_id == 0 || !target) {
    return fail("the server's answer to request_upload is unusable" +
                (target ? std::string() : ": " + target.error().message));
  }

  warn_if_insecure_store(o, url, *target);
  progress_line progress("uploading " + filename, size);
  auto put = put_from_fd(*target, o.tls, file.get(), path, size, content_type, store_step_timeout,
                         std::ref(progress));
  progress.finish();
  if (!put) return refused(put.error(), "the upload to the store failed (nothing was stored)");
  if (put->status != 200) {
    return fail("the store refused the upload: " + store_refusal(put->status, put->error_body) +
                " (nothing was stored)");
  }

  auto again = connect_and_auth(o, url);
  if (!again) return again.error();
  auto done = (*again)->call({{"op", "complete_upload"}, {"room_id", room}, {"file_id", file_id}});
  if (!done) {
    auto st = refused(done.error(), "the bytes were stored, but completing the upload failed");
    if (done.error().code != errc::unavailable) return st;
    // The server could not check the store; the pending upload expires by itself.
    return status(errc::unavailable, st.error().message + " (upload again later)");
  }
  (*again)->close();
  std::cout << "room_id: " << room << "\n"
            << "file_id: " << file_id << "\n"
            << "message_id: " << done->value("message_id", "") << "\n"
            << "file: " << room << "/" << file_id << "\n";
  return status::success();
}

status download_file(const client_options& o, const server_url& url) {
  auto ref = *parse_file_ref(o.args[0]);
  if (o.room != 0) ref.room_id = o.room;
  const bool to_stdout = o.args.size() > 1 && o.args[1] == "-";
  if (to_stdout && ::isatty(STDOUT_FILENO) == 1) {
    return fail(
        "stdout is a terminal: send it to a file or a pipe (> FILE, | COMMAND), or give a "
        "PATH instead of -");
  }

  auto conn = connect_and_auth(o, url);
  if (!conn) return conn.error();
  auto& c = **conn;
  if (ref.room_id == 0) {
    auto room = find_file_room(c, ref.file_id);
    if (!room) return room.error();
    ref.room_id = *room;
  }
  const auto name = std::to_string(ref.room_id) + "/" + std::to_string(ref.file_id);
  auto got = c.call({{"op", "get_file"},
                     {"room_id", ref.room_id},
                     {"file_id", ref.file_id},
                     {"download_url", true}});
  if (!got) return refused(got.error(), "cannot download file " + name);
  c.close();
  const auto file = got->value("file", json::object());
  const auto size = file.value("size", std::uint64_t{0});
  const auto server_name = file.value("filename", "");
  auto target = parse_transfer_url(got->value("download_url", ""));
  if (!target) return fail("the server's download URL is unusable: " + target.error().message);
  warn_if_insecure_store(o, url, *target);

  if (to_stdout) {
    progress_line progress("downloading " + safe_local_name(server_name), size);
    auto answer =
        get_to_fd(*target, o.tls, STDOUT_FILENO, "stdout", store_step_timeout, std::ref(progress));
    progress.finish();
    return check_answer(answer, size, "file " + name);
  }

  const auto dest = destination(o, server_name);
  std::error_code ec;
  const auto existing = fs::symlink_status(dest, ec);
  if (fs::is_directory(existing)) return fail(dest.string() + " is a directory");
  if (fs::exists(existing) && !o.force)
    return fail(dest.string() + " exists: pass --force to replace it, or give another PATH");
  auto temp = temp_file::create(dest.has_parent_path() ? dest.parent_path() : fs::path("."));
  if (!temp) return temp.error();

  progress_line progress("downloading " + dest.filename().string(), size);
  auto answer = get_to_fd(*target, o.tls, (*temp)->fd(), dest.string(), store_step_timeout,
                          std::ref(progress));
  progress.finish();
  if (auto st = check_answer(answer, size, "file " + name); !st) return st;
  if (auto st = (*temp)->place(dest, o.force); !st) return st;
  std::cout << "saved " << dest.string() << " (" << size << " bytes)\n";
  return status::success();
}

}  // namespace hibiki::cli
