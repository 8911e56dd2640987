#pragma once
/// A strict reader of the Prometheus text exposition format (0.0.4) for tests: every line must be
/// a HELP or TYPE comment or a sample of a family whose TYPE came first; label values are quoted
/// with \\, \" and \n escapes; values are floats (+Inf, -Inf, NaN too). Anything else is an error
/// naming the line, so a test that parses /metrics fails on malformed output.

#include <cmath>
#include <cstdlib>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <vector>

namespace hibiki::test {

struct exposition_sample {
  std::string name;
  std::map<std::string, std::string> labels;
  double value = 0;
};

struct exposition {
  std::map<std::string, std::string> types;  ///< family name → counter, gauge, histogram, ...
  std::map<std::string, std::string> help;
  std::vector<exposition_sample> samples;
  std::string error;  ///< empty when the whole text parsed

  /// The value of the one sample with this name and exactly these labels.
  std::optional<double> value(const std::string& name,
                              const std::map<std::string, std::string>& labels = {}) const {
    for (const auto& s : samples)
      if (s.name == name && s.labels == labels) return s.value;
    return std::nullopt;
  }
  /// The sum of every sample with this name whose labels include `match`.
  double sum(const std::string& name, const std::map<std::string, std::string>& match = {}) const {
    double total = 0;
    for (const auto& s : samples) {
      if (s.name != name) continue;
      bool ok = true;
      for (const auto& [k, v] : match) {
        auto it = s.labels.find(k);
        if (it == s.labels.end() || it->second != v) ok = false;
      }
      if (ok) total += s.value;
    }
    return total;
  }
};

namespace detail {

inline bool valid_name(const std::string& n, bool label) {
  if (n.empty()) return false;
  for (std::size_t i = 0; i < n.size(); ++i) {
    const char c = n[i];
    const bool alpha =
        (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_' || (!label && c == ':');
    if (!(alpha || (i > 0 && c >= '0' && c <= '9'))) return false;
  }
  return true;
}

inline std::optional<double> parse_value(const std::string& v) {
  if (v == "+Inf") return HUGE_VAL;
  if (v == "-Inf") return -HUGE_VAL;
  if (v == "NaN") return std::nan("");
  if (v.empty()) return std::nullopt;
  char* end = nullptr;
  const double d = std::strtod(v.c_str(), &end);
  if (end != v.c_str() + v.size()) return std::nullopt;
  return d;
}

/// The family a sample belongs to: histogram samples end in _bucket, _sum or _count.
inline std::string family_of(const std::string& sample,
                             const std::map<std::string, std::string>& types) {
  if (types.count(sample)) return sample;
  for (const char* suffix : {"_bucket", "_sum", "_count"}) {
    const std::string s(suffix);
    if (sample.size() > s.size() && sample.compare(sample.size() - s.size(), s.size(), s) == 0) {
      auto base = sample.substr(0, sample.size() - s.size());
      auto it = types.find(base);
      if (it != types.end() && (it->second == "histogram" || it->second == "summary")) return base;
    }
  }
  return {};
}

}  // namespace detail

inline exposition parse_exposition(const std::string& text) {
  exposition out;
  std::istringstream in(text);
  std::string line;
  int number = 0;
  auto fail = [&](const std::string& why) {
    out.error = "line " + std::to_string(number) + ": " + why + ": " + line;
    return out;
  };
  if (!text.empty() && text.back() != '\n') {
    out.error = "the text does not end with a newline";
    return out;
  }
  while (std::getline(in, line)) {
    ++number;
    if (line.empty()) continue;
    if (line[0] == '#') {
      std::istringstream c(line);
      std::string hash, kind, name;
      c >> hash >> kind >> name;
      if (kind == "TYPE") {
        std::string type;
        c >> type;
        if (!detail::valid_name(name, false)) return fail("bad family name");
        if (type != "counter" && type != "gauge" && type != "histogram" && type != "summary" &&
            type != "untyped")
          return fail("unknown type");
        if (out.types.count(name)) return fail("second TYPE for a family");
        out.types[name] = type;
      } else if (kind == "HELP") {
        std::string rest;
        std::getline(c, rest);
        out.help[name] = rest.empty() ? rest : rest.substr(1);
      }
      continue;
    }
    exposition_sample s;
    std::size_t i = 0;
    while (i < line.size() && line[i] != '{' && line[i] != ' ') ++i;
    s.name = line.substr(0, i);
    if (!detail::valid_name(s.name, false)) return fail("bad sample name");
    if (detail::family_of(s.name, out.types).empty()) return fail("sample before its TYPE");
    if (i < line.size() && line[i] == '{') {
      ++i;
      while (i < line.size() && line[i] != '}') {
        auto eq = line.find('=', i);
        if (eq == std::string::npos) return fail("label without '='");
        auto key = line.substr(i, eq - i);
        if (!detail::valid_name(key, true)) return fail("bad label name");
        i = eq + 1;
        if (i >= line.size() || line[i] != '"') return fail("label value not quoted");
        ++i;
        std::string value;
        for (;;) {
          if (i >= line.size()) return fail("unterminated label value");
          const char c = line[i++];
          if (c == '"') break;
          if (c == '\\') {
            if (i >= line.size()) return fail("dangling escape");
            const char e = line[i++];
            if (e == 'n')
              value += '\n';
            else if (e == '\\' || e == '"')
              value += e;
            else
              return fail("bad escape");
          } else {
            value += c;
          }
        }
        if (s.labels.count(key)) return fail("label given twice");
        s.labels[key] = value;
        if (i < line.size() && line[i] == ',') ++i;
      }
      if (i >= line.size()) return fail("unterminated label set");
      ++i;  // '}'
    }
    if (i >= line.size() || line[i] != ' ') return fail("no value");
    std::istringstream rest(line.substr(i + 1));
    std::string value, timestamp, extra;
    rest >> value >> timestamp >> extra;
    if (!extra.empty()) return fail("trailing text");
    auto v = detail::parse_value(value);
    if (!v) return fail("bad value");
    s.value = *v;
    out.samples.push_back(std::move(s));
  }
  return out;
}

}  // namespace hibiki::test
