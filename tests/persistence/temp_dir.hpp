#pragma once
/// A fresh directory under the system temp dir, removed with everything in it on destruction.

#include <cstdlib>
#include <filesystem>
#include <stdexcept>
#include <string>

namespace hibiki::testkit {

class temp_dir {
 public:
  explicit temp_dir(const std::string& tag = "hibiki-persistence") {
    auto pattern = (std::filesystem::temp_directory_path() / (tag + "-XXXXXX")).string();
    if (!::mkdtemp(pattern.data())) throw std::runtime_error("mkdtemp failed");
    path_ = pattern;
  }
  ~temp_dir() {
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;

  const std::filesystem::path& path() const { return path_; }
  /// A path inside the directory (not created).
  std::string sub(const std::string& name) const { return (path_ / name).string(); }

 private:
  std::filesystem::path path_;
};

}  // namespace hibiki::testkit
