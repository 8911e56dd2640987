#pragma once
/// Puts another journal (e.g. a breaker_journal over `fx.journal()`) between a running fixture's
/// entities and its deferred journal, without touching the actors: entities and their recovery
/// look the journal up in `ctx().deps` at every call, so swapping the pointer is enough. Restores
/// the fixture's own journal when destroyed. `fx.restart()` builds a fresh context: make a new
/// override after it.

#include "hibiki/persistence/journal.hpp"
#include "hibiki/testkit/actor_fixture.hpp"

namespace hibiki::testkit {

class journal_override {
 public:
  journal_override(actor_fixture& fx, persistence::journal& j) : fx_(&fx) {
    fx.ctx().deps.journal = &j;
  }
  ~journal_override() { fx_->ctx().deps.journal = &fx_->journal(); }
  journal_override(const journal_override&) = delete;
  journal_override& operator=(const journal_override&) = delete;

 private:
  actor_fixture* fx_;
};

}  // namespace hibiki::testkit
