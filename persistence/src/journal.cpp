#include "hibiki/persistence/journal.hpp"

#include <future>
#include <memory>

namespace hibiki::persistence {

status journal::append(append_request req) {
  // std::function needs a copyable callable, hence the shared promise.
  auto done = std::make_shared<std::promise<status>>();
  auto result = done->get_future();
  async_append(std::move(req), [done](status s) { done->set_value(std::move(s)); });
  return result.get();
}

}  // namespace hibiki::persistence
