#pragma once
/// Tells systemd (a `Type=notify` unit, dist/hibikid.service) how hibikid is doing: READY=1 once
/// it serves, STOPPING=1 when it begins to stop, RELOADING=1 / READY=1 around a reload. Outside
/// systemd (no NOTIFY_SOCKET) every call does nothing.

#include <string_view>

namespace hibiki::cli {

/// Sends `state` (e.g. "READY=1\nSTATUS=serving") to the service manager. Returns false only
/// when NOTIFY_SOCKET is set and sending failed (the caller logs it; it is never fatal).
bool notify_service_manager(std::string_view state);

}  // namespace hibiki::cli
