/// The journal and snapshot conformance suites (tests/persistence) against the Kafka backend on
/// the real broker. The suites iterate over `conformance_backends`; here that name is pointed at
/// a list holding only the Kafka factory (backend_factories.hpp is included first, so its own
/// RocksDB list keeps its name and is not used).

#include <tuple>

#include "../persistence/backend_factories.hpp"
#include "kafka_env.hpp"

namespace hibiki::testkit {
using kafka_conformance_backends = std::tuple<kafka_factory>;
}  // namespace hibiki::testkit

#define conformance_backends kafka_conformance_backends
#include "../persistence/journal_conformance.hpp"
#include "../persistence/snapshot_conformance.hpp"
#undef conformance_backends
