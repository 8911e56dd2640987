#include "service_notify.hpp"

#include <systemd/sd-daemon.h>

#include <string>

namespace hibiki::cli {

bool notify_service_manager(std::string_view state) {
  // 0: not run by systemd (no NOTIFY_SOCKET), > 0: sent, < 0: failed.
  return sd_notify(0, std::string(state).c_str()) >= 0;
}

}  // namespace hibiki::cli
