#pragma once
/// Private to core (and its tests): runs the registered upcasters over one decoded document.

#include <nlohmann/json.hpp>

#include "hibiki/core/result.hpp"

namespace hibiki::codec::detail {

/// Brings `doc` ({"t", "v", fields...}) to the current version of its type, or says why not
/// (no "t"/"v", a version newer than this build, or a hole in the upcaster chain).
result<nlohmann::json> upcast(nlohmann::json doc);

}  // namespace hibiki::codec::detail
