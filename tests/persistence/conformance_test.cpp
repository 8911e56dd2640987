/// Runs the journal and snapshot conformance suites against every backend in
/// `conformance_backends` (see backend_factories.hpp for how to add one).

#include "journal_conformance.hpp"
#include "snapshot_conformance.hpp"
