#pragma once
/// Queries on the read models (see core/read_model.hpp for the tables). Rows are written by the
/// journal in the same batch as their events; this interface only reads.

#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include "hibiki/core/read_model.hpp"
#include "hibiki/core/result.hpp"

namespace hibiki::persistence {

class read_store {
 public:
  virtual ~read_store() = default;

  virtual result<std::optional<std::string>> get(read_model::table t, std::string_view key) = 0;

  /// Visits rows with `from <= key < to` in key order (descending when `reverse`), until `fn`
  /// returns false or `limit` rows were visited.
  virtual status scan(
      read_model::table t, std::string_view from, std::string_view to, std::size_t limit,
      bool reverse,
      const std::function<bool(std::string_view key, std::string_view value)>& fn) = 0;
};

}  // namespace hibiki::persistence
