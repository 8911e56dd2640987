#include "args.hpp"

namespace hibiki::bench::search {

args::args(int argc, char** argv, int first) {
  for (int i = first; i < argc; ++i) {
    const std::string key = argv[i];
    if (key.size() < 3 || key.compare(0, 2, "--") != 0)
      throw std::invalid_argument("expected --key, got '" + key + "'");
    if (i + 1 >= argc) throw std::invalid_argument(key + " needs a value");
    values_[key.substr(2)] = argv[++i];
  }
}

void args::allow(const std::set<std::string>& known) const {
  for (const auto& [key, value] : values_) {
    if (known.count(key) == 0) throw std::invalid_argument("unknown option --" + key);
  }
}

std::string args::text(const std::string& key, const std::string& fallback) const {
  auto it = values_.find(key);
  return it == values_.end() ? fallback : it->second;
}

std::uint64_t args::count(const std::string& key, std::uint64_t fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  std::string digits;
  for (char c : it->second) {
    if (c == '_' || c == ',') continue;
    if (c < '0' || c > '9')
      throw std::invalid_argument("--" + key + " must be a whole number, got '" + it->second + "'");
    digits += c;
  }
  if (digits.empty() || digits.size() > 18)
    throw std::invalid_argument("--" + key + " must be a whole number, got '" + it->second + "'");
  return std::stoull(digits);
}

bool args::flag(const std::string& key, bool fallback) const {
  auto it = values_.find(key);
  if (it == values_.end()) return fallback;
  const auto& v = it->second;
  if (v == "on" || v == "true" || v == "1") return true;
  if (v == "off" || v == "false" || v == "0") return false;
  throw std::invalid_argument("--" + key + " must be on or off, got '" + v + "'");
}

}  // namespace hibiki::bench::search
