#pragma once
/// Private to core (and its tests): runs the registered upcasters over one decoded document.

#include <cstdint>
#include <string_view>

#include <nlohmann/json.hpp>

#include "hibiki/core/result.hpp"

namespace hibiki::codec::detail {

/// Brings `doc` ({"t", "v", fields...}) to the current version of its type, or says why not
/// (no "t"/"v", a version newer than this build, or a hole in the upcaster chain).
result<nlohmann::json> upcast(nlohmann::json doc);

/// Whether `version` is the one encode writes for `type` (so no upcaster applies to it).
bool is_current_version(std::string_view type, std::int64_t version);

}  // namespace hibiki::codec::detail
