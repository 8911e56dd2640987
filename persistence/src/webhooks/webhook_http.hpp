#pragma once
/// Private to the webhooks: one POST of a delivery, to addresses already checked (the caller
/// resolved the host and refused forbidden addresses, so no second lookup can be rebound).
#include <boost/asio/ssl/context.hpp>
#include <chrono>
#include <string>
#include <vector>

#include "hibiki/core/room_webhook.hpp"

namespace hibiki::persistence::webhooks {

struct post_outcome {
  int status = 0;     ///< the HTTP status; 0 when there was no answer
  std::string error;  ///< why it failed ("" on 2xx)
  bool ok() const { return status >= 200 && status < 300 && error.empty(); }
};

/// POSTs `body` to `url`, connecting to one of `addresses` (numeric, in order). Redirects are
/// not followed: a 3xx is a failure. `connect_timeout` bounds the connection (and TLS), `total`
/// the whole exchange.
post_outcome post(const room::webhook_url& url, const std::vector<std::string>& addresses,
                  const std::string& body, const std::string& signature,
                  std::chrono::milliseconds connect_timeout, std::chrono::milliseconds total,
                  boost::asio::ssl::context& tls);

}  // namespace hibiki::persistence::webhooks
