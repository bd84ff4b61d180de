#!/usr/bin/env bash
# sops and age for `make demo`, so the first run shows every step (the age key, the DNS token
# encrypted by sops). Prints the tools folder for EDGE_WIZARD_TOOLS_BIN on stdout; says what it does
# on stderr. Never fails: without the tools the demo still runs, leaves out the two steps that
# need them, and says so.
#
#   1. sops and age-keygen on PATH (e.g. Debian's `age` package) or in the tools cache: used as they are;
#   2. else, with Go: the missing ones built from the Go module proxy by build.sh, exactly as the
#      tests get them (cached by version under ~/.cache/edge-wizard/tools; first time only);
#   3. else: one line naming what the demo leaves out and the one command that brings the tools.
set -uo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
BIN=$(bash "$HERE/build.sh" --print-bin)
ROOT=${EDGE_WIZARD_TOOLS_CACHE:-$HOME/.cache/edge-wizard}
say() { echo "make demo: $*" >&2; }
have() { command -v "$1" >/dev/null 2>&1 || [ -x "$BIN/$1" ]; }

missing=()
have sops || missing+=(sops)
have age-keygen || missing+=(age)
if [ ${#missing[@]} -eq 0 ]; then
  echo "$BIN"
  exit 0
fi

LEFT_OUT="the demo runs without encryption: it leaves out the prerequisites step (the age key) and the external-dns step (the DNS token, encrypted by sops)"
if ! command -v go >/dev/null 2>&1; then
  say "${missing[*]} not found, and no Go to build them: $LEFT_OUT."
  say "The one command that brings them: \`make demo-tools\` (needs Go >= 1.26 from go.dev/dl; on Debian \`apt-get install age\` brings age, sops is not in Debian 12)."
  echo "$BIN"
  exit 0
fi

say "building ${missing[*]} from the Go module proxy, as the tests do (first time only; cached in $ROOT/tools; about 3 minutes of CPU on 2 cores)"
log=$(mktemp "${TMPDIR:-/tmp}/edge-wizard-demo-tools.XXXXXX")
t0=$(date +%s)
bash "$HERE/build.sh" basic "${missing[@]}" >/dev/null 2>"$log" &
pid=$!
shown=0
next=15
while kill -0 "$pid" 2>/dev/null; do
  # build.sh's progress lines as they come, and every 15 s how long it has taken
  lines=$(wc -l <"$log")
  if [ "$lines" -gt "$shown" ]; then sed -n "$((shown + 1)),${lines}p" "$log" >&2; shown=$lines; fi
  elapsed=$(($(date +%s) - t0))
  if [ "$elapsed" -ge "$next" ]; then say "still building ${missing[*]} (${elapsed}s)"; next=$((next + 15)); fi
  sleep 1
done
wait "$pid"
rc=$?
lines=$(wc -l <"$log")
[ "$lines" -gt "$shown" ] && sed -n "$((shown + 1)),${lines}p" "$log" >&2
rm -f "$log"
if [ "$rc" -ne 0 ]; then
  say "building ${missing[*]} failed after $(($(date +%s) - t0))s (no network to the Go module proxy? the lines above name the log): $LEFT_OUT."
  say "The one command that brings them once the proxy is reachable: \`make demo-tools\`."
else
  say "${missing[*]} ready in $(($(date +%s) - t0))s (the next \`make demo\` starts at once)"
fi
echo "$BIN"
