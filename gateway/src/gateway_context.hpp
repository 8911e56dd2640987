#pragma once
/// What every connection of one gateway shares: the node, the options, the registry, the post
/// gate and the worker for blocking node calls. Owned through shared_ptr by the server and by each
/// connection, so it outlives both.

#include <memory>
#include <string>

#include "blocking_worker.hpp"
#include "connection_registry.hpp"
#include "hibiki/actors/node.hpp"
#include "hibiki/gateway/gateway_options.hpp"

namespace hibiki::gateway {

struct gateway_context {
  actors::node& node;
  gateway_options options;  ///< web_root resolved, open_signup resolved
  bool open_signup = false;
  connection_registry registry;
  post_gate gate;
  /// Runs node calls that may block (journal_status). Stopped by the server after its I/O threads.
  blocking_worker worker;
};

}  // namespace hibiki::gateway
