#pragma once
/// The load run in the XMPP mode (`--protocol xmpp`): the same scenario as the hibiki mode
/// (accounts, rooms of K members all online, a fixed rate or a window, warm-up, measured window,
/// drain) over XMPP MUC on WebSocket, reported in the same form.

#include "../options.hpp"

namespace hibiki::bench {

/// Runs the load and prints the report; the process's exit code (2: set-up failed).
int run_xmpp_load(const options& o);

}  // namespace hibiki::bench
