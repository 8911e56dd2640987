#pragma once
/// The REST endpoints (docs/rest-api.md): each one a short sequence of ws-protocol-v1 ops sent
/// through an authenticated rest_channel, and the reply reshaped into Chatwork's JSON
/// (rest_shapes.hpp). Runs on the HTTP connection's strand.

#include <functional>
#include <memory>

#include "hibiki/core/ids.hpp"
#include "rest_channel.hpp"
#include "rest_request.hpp"
#include "rest_shapes.hpp"

namespace hibiki::gateway {

/// Runs `route` for the account `me` on `channel` (already authenticated) with `params`; image
/// URLs in the answer are under `images`; `done` runs once on the strand.
void run_rest_endpoint(std::shared_ptr<rest_channel> channel, const rest_route& route,
                       const rest_params& params, account_id me, rest_images images,
                       std::function<void(rest_answer)> done);

}  // namespace hibiki::gateway
