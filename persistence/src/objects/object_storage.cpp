#include "hibiki/persistence/object_storage.hpp"

#include "hibiki/persistence/directory_store.hpp"

namespace hibiki::persistence {

result<std::shared_ptr<object_store>> open_object_store(const object_store_options& options) {
  auto store = directory_store::open({options.directory, options.public_url});
  if (!store) return store.error();
  return std::shared_ptr<object_store>(std::move(*store));
}

std::string describe_object_store(const object_store_options& options) {
  return "directory " + options.directory;
}

}  // namespace hibiki::persistence
