#!/bin/sh
# Installs into a temporary prefix and runs `systemd-analyze verify` on the installed unit.
# Exit 77 (CTest: skipped) when systemd-analyze is not there: a skip is never reported as a pass.
set -eu
build=$1
if ! command -v systemd-analyze >/dev/null 2>&1; then
  echo "SKIPPED: systemd-analyze is not installed; the unit was not verified"
  exit 77
fi
prefix=$(mktemp -d)
trap 'rm -rf "$prefix"' EXIT
cmake --install "$build" --prefix "$prefix" >/dev/null
unit=$prefix/lib/systemd/system/hibikid.service
test -f "$unit"
# verify checks the unit's syntax, its directives and that ExecStart's binary exists. Its output
# is printed; any message about hibikid.service fails the test (messages about other units of
# the machine are not ours).
out=$(systemd-analyze verify "$unit" 2>&1) || rc=$?
echo "$out"
if echo "$out" | grep -q "hibikid.service"; then
  echo "FAILED: systemd-analyze verify reported problems in hibikid.service"
  exit 1
fi
if [ "${rc:-0}" -ne 0 ]; then
  echo "FAILED: systemd-analyze verify exited with ${rc}"
  exit 1
fi
echo "OK: systemd-analyze verify accepts $unit"
