/// The upcaster registry: (type, from_version) → function. Read on every decode, written at
/// start-up, so a shared mutex keeps the common path cheap.

#include <map>
#include <mutex>
#include <shared_mutex>
#include <string_view>
#include <utility>

#include "codec_upcast.hpp"
#include "hibiki/core/codec.hpp"
#include "json_fields.hpp"

namespace hibiki::codec {

namespace {

/// Orders (type, version) keys, and lets a lookup use a string_view: decoding asks for every
/// event, and a type name is too long for std::string's small-string buffer.
struct key_less {
  using is_transparent = void;
  template <class A, class B>
  bool operator()(const A& a, const B& b) const {
    return std::pair<std::string_view, int>(a.first, a.second) <
           std::pair<std::string_view, int>(b.first, b.second);
  }
};

struct registry {
  std::shared_mutex mutex;
  std::map<std::pair<std::string, int>, upcaster, key_less> fns;
};

registry& the_registry() {
  static registry r;
  return r;
}

int current_version_locked(const registry& r, std::string_view type) {
  int v = 1;
  while (r.fns.contains(std::pair<std::string_view, int>(type, v))) ++v;
  return v;
}

}  // namespace

void register_upcaster(const std::string& type, int from_version, upcaster fn) {
  auto& r = the_registry();
  std::unique_lock lock(r.mutex);
  r.fns[{type, from_version}] = std::move(fn);
}

int current_version(const std::string& type) {
  auto& r = the_registry();
  std::shared_lock lock(r.mutex);
  return current_version_locked(r, type);
}

namespace detail {

bool is_current_version(std::string_view type, std::int64_t version) {
  auto& r = the_registry();
  std::shared_lock lock(r.mutex);
  return version == current_version_locked(r, type);
}

result<nlohmann::json> upcast(nlohmann::json doc) {
  const auto type = hibiki::detail::get_string(doc, "t");
  const auto version = hibiki::detail::get_i64(doc, "v");
  if (!type) return hibiki::error{errc::bad_request, "encoded value has no type \"t\""};
  if (!version) return hibiki::error{errc::bad_request, "encoded value has no version \"v\""};
  auto& r = the_registry();
  std::shared_lock lock(r.mutex);
  const int current = current_version_locked(r, *type);
  if (*version > current) {
    return hibiki::error{errc::bad_request, *type + " version " + std::to_string(*version) +
                                                " is newer than this build understands"};
  }
  for (auto v = *version; v < current; ++v) {
    auto it = r.fns.find({*type, static_cast<int>(v)});
    if (it == r.fns.end()) {
      return hibiki::error{errc::bad_request,
                           "no upcaster for " + *type + " from version " + std::to_string(v)};
    }
    try {
      it->second(doc);
    } catch (const std::exception& ex) {
      return hibiki::error{errc::bad_request, "upcaster for " + *type + " from version " +
                                                  std::to_string(v) + " failed: " + ex.what()};
    }
  }
  doc["t"] = *type;  // an upcaster may not rename the type under our feet
  doc["v"] = current;
  return doc;
}

}  // namespace detail

}  // namespace hibiki::codec
