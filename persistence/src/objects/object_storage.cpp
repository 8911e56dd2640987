#include "hibiki/persistence/object_storage.hpp"

#include "hibiki/persistence/directory_store.hpp"

namespace hibiki::persistence {

result<std::shared_ptr<object_store>> open_object_store(const object_store_options& options) {
  if (!options.s3.endpoint.empty()) return open_s3_store(options.s3);
  auto store = directory_store::open({options.directory, options.public_url});
  if (!store) return store.error();
  return std::shared_ptr<object_store>(std::move(*store));
}

std::string describe_object_store(const object_store_options& options) {
  if (!options.s3.endpoint.empty()) {
    return "S3 bucket " + options.s3.bucket + " at " + options.s3.endpoint + " (" +
           (options.s3.path_style ? "path-style" : "virtual-hosted") + ", region " +
           options.s3.region + ")";
  }
  return "directory " + options.directory;
}

}  // namespace hibiki::persistence
