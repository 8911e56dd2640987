#!/usr/bin/env bash
# Runs one browser end-to-end test (chat.test.js unless another file is named; further arguments
# go to the test, e.g. files.test.js --s3): installs
# playwright-core (pinned in package.json) into node_modules here when missing, then drives
# Debian's chromium against a fresh hibikid.
# Needs HIBIKID (CTest sets it) or a hibikid in ../../../build*/bin.
set -euo pipefail
cd "$(dirname "$0")"
test_file="${1:-chat.test.js}"
shift || true
if ! command -v node >/dev/null 2>&1; then
  echo "e2e-web: node is not installed (scripts/install-deps --with-browser)" >&2
  exit 1
fi
if [[ ! -f node_modules/playwright-core/package.json ]]; then
  echo "e2e-web: installing playwright-core with npm"
  npm install --no-audit --no-fund --loglevel=error
fi
exec node "$test_file" "$@"
