#!/usr/bin/env bash
# Run a command inside a fresh loopback-only network namespace (root: `unshare -n`), with the
# test tools on PATH. Outside root (a developer laptop) it warns and runs without one.
set -euo pipefail
BIN=${EDGE_WIZARD_TOOLS_BIN:-$(bash "$(dirname "$0")/build.sh" --print-bin)}
export EDGE_WIZARD_TOOLS_BIN=$BIN PATH="$BIN:$PATH"
if unshare -n true 2>/dev/null; then
  export EDGE_WIZARD_NETNS=1
  exec unshare -n sh -c 'ip link set lo up && exec "$@"' sh "$@"
fi
echo "in-netns.sh: cannot create a network namespace (not root?); running without one" >&2
exec "$@"
