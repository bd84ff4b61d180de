#!/usr/bin/env bash
# Run a command inside a fresh loopback-only network namespace (root: `unshare -n`), with the
# test tools on PATH. Outside root (a developer laptop) it warns and runs without one.
# Inside, the e2e tier's node address range (10.250.0.0/24) and pod network (10.244.0.0/16) are
# routed to lo (`ip route add local`): they are local addresses like 127.0.0.0/8, so every packet
# to a pod or the node stays on loopback, and nothing else is reachable.
set -euo pipefail
BIN=${EDGE_WIZARD_TOOLS_BIN:-$(bash "$(dirname "$0")/build.sh" --print-bin)}
export EDGE_WIZARD_TOOLS_BIN=$BIN PATH="$BIN:$PATH"
if unshare -n true 2>/dev/null; then
  export EDGE_WIZARD_NETNS=1
  exec unshare -n sh -c 'ip link set lo up && ip route add local 10.244.0.0/16 dev lo &&
    ip route add local 10.250.0.0/24 dev lo && exec "$@"' sh "$@"
fi
echo "in-netns.sh: cannot create a network namespace (not root?); running without one" >&2
exec "$@"
