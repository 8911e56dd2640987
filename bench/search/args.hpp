#pragma once
/// The command line of hibiki_search_bench: `COMMAND --key value ...`. Each command takes the keys
/// it knows; an unknown key, a missing value or a value that does not parse is an error.

#include <cstdint>
#include <map>
#include <set>
#include <stdexcept>
#include <string>

namespace hibiki::bench::search {

class args {
 public:
  /// argv[first..argc) as --key value pairs. Throws std::invalid_argument.
  args(int argc, char** argv, int first);

  /// Throws std::invalid_argument when a key given is not in `known`.
  void allow(const std::set<std::string>& known) const;

  bool has(const std::string& key) const { return values_.count(key) > 0; }
  std::string text(const std::string& key, const std::string& fallback) const;
  /// A non-negative integer (digits, optionally with `_` or `,` between them: 10_000_000).
  std::uint64_t count(const std::string& key, std::uint64_t fallback) const;
  /// on/off, true/false, 1/0.
  bool flag(const std::string& key, bool fallback) const;

 private:
  std::map<std::string, std::string> values_;
};

}  // namespace hibiki::bench::search
