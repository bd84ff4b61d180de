#!/usr/bin/env bash
# Build the pinned test tools from the Go module proxy into a versioned cache.
#
#   bash tests/tools/build.sh [basic|all]   # default: basic
#   bash tests/tools/build.sh --print-bin   # print BIN, build nothing
#
# basic = sops, age, age-keygen, kustomize                   (unit tier)
# all   = basic + etcd, kube-apiserver, kube-controller-manager, kube-scheduler,
#         kubectl, kwok, source-/kustomize-/helm-controller   (e2e tier)
#         + Flux CRDs in $CACHE/crds and kwok stages in $CACHE/kwok
#
# Progress goes to stderr; the last line of stdout is the BIN directory.
# Each artefact is skipped if present; binaries are built into a temp name and
# moved into place, so an interrupted build never leaves a half binary.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
HASH=$(cat "$HERE/versions.env" "$HERE/mkwrap.py" | sha256sum | cut -c1-12)
CACHE=${EDGE_WIZARD_TOOLS_CACHE:-$HOME/.cache/edge-wizard}/tools-$HASH
BIN=$CACHE/bin

MODE=${1:-basic}
if [ "$MODE" = "--print-bin" ]; then echo "$BIN"; exit 0; fi
case "$MODE" in basic|all) ;; *) echo "usage: $0 [basic|all|--print-bin]" >&2; exit 2;; esac

export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath GOWORK=off
mkdir -p "$BIN" "$CACHE/wrappers" "$CACHE/tmp"
GOMODCACHE=$(go env GOMODCACHE)
TOTAL0=$(date +%s)
log() { echo "[build.sh $(date +%H:%M:%S)] $*" >&2; }

have() { local b; for b in "$@"; do [ -x "$BIN/$b" ] || return 1; done; }

# step NAME BINARIES... -- CMD...: run CMD (which must put the binaries into
# $OUT) unless all binaries exist, then move them into $BIN.
step() {
  local name=$1; shift
  local bins=()
  while [ "$1" != "--" ]; do bins+=("$1"); shift; done; shift
  if have "${bins[@]}"; then log "$name: present, skipped"; return 0; fi
  log "$name: building ${bins[*]}"
  local t0; t0=$(date +%s)
  OUT=$(mktemp -d "$CACHE/tmp/$name.XXXXXX")
  if ! "$@"; then log "$name: FAILED after $(( $(date +%s) - t0 ))s"; rm -rf "$OUT"; return 1; fi
  local b
  for b in "${bins[@]}"; do
    [ -x "$OUT/$b" ] || { log "$name: $b missing after build"; rm -rf "$OUT"; return 1; }
  done
  for b in "${bins[@]}"; do mv -f "$OUT/$b" "$BIN/$b"; done
  rm -rf "$OUT"
  log "$name: done in $(( $(date +%s) - t0 ))s"
}

goinstall() { GOBIN=$OUT go install -ldflags "-s -w" "$@"; }

wrapbuild() {  # wrapbuild NAME MODULE VERSION LDFLAGS [mkwrap opts...] -- PKGS...
  local name=$1 mod=$2 ver=$3 ldf=$4; shift 4
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  local w=$CACHE/wrappers/$name pk=()
  local p; for p in "$@"; do pk+=(--pkg "$p"); done
  python3 "$HERE/mkwrap.py" "$w" "$mod" "$ver" "${pk[@]}" ${opts[@]+"${opts[@]}"} >&2 || return 1
  (cd "$w" && go build -ldflags "$ldf" -o "$OUT/" "$@") || return 1
  if [ $# -eq 1 ]; then  # single package: go build -o DIR/ names it after the last path element
    local base=${1##*/}; case "$base" in v[0-9]*) base=$(basename "$(dirname "$1")");; esac
    [ "$base" = "$name" ] || mv "$OUT/$base" "$OUT/$name" || return 1
  fi
}

# ---------------------------------------------------------------- basic
step age age age-keygen -- goinstall filippo.io/age/cmd/age@"$AGE" filippo.io/age/cmd/age-keygen@"$AGE"
step sops sops -- goinstall github.com/getsops/sops/v3/cmd/sops@"$SOPS"
step kustomize kustomize -- goinstall sigs.k8s.io/kustomize/kustomize/v5@"$KUSTOMIZE"

if [ "$MODE" = all ]; then
  # ------------------------------------------------------------ etcd
  step etcd etcd -- wrapbuild etcd go.etcd.io/etcd/server/v3 "$ETCD" "-s -w" -- go.etcd.io/etcd/server/v3

  # ------------------------------------------------------------ kubernetes (one go build)
  MINOR=$(echo "$K8S" | cut -d. -f2)
  KLDF="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S -X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$MINOR -X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=2000-01-01T00:00:00Z \
-X k8s.io/client-go/pkg/version.gitVersion=v$K8S -X k8s.io/client-go/pkg/version.gitMajor=1 \
-X k8s.io/client-go/pkg/version.gitMinor=$MINOR"
  kubebuild() {
    local w=$CACHE/wrappers/kube
    python3 "$HERE/mkwrap.py" "$w" k8s.io/kubernetes "v$K8S" --staging-version "v0.${K8S#1.}" \
      --pkg k8s.io/kubernetes/cmd/kube-apiserver --pkg k8s.io/kubernetes/cmd/kube-controller-manager \
      --pkg k8s.io/kubernetes/cmd/kube-scheduler --pkg k8s.io/kubernetes/cmd/kubectl >&2 || return 1
    (cd "$w" && go build -tags=selinux,notest,grpcnotrace -ldflags "$KLDF" -o "$OUT/" \
      k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager \
      k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl) || return 1
    "$OUT/kube-apiserver" --version >&2
  }
  step kube kube-apiserver kube-controller-manager kube-scheduler kubectl -- kubebuild

  # ------------------------------------------------------------ kwok
  step kwok kwok -- wrapbuild kwok sigs.k8s.io/kwok "$KWOK" "-s -w" -- sigs.k8s.io/kwok/cmd/kwok

  # ------------------------------------------------------------ flux controllers
  reps() { local r out=(); for r in $1; do out+=(--replace "$r"); done; echo "${out[@]}"; }
  step source-controller source-controller -- wrapbuild source-controller \
    github.com/fluxcd/source-controller "$SOURCE_CONTROLLER" "-s -w" $(reps "$SOURCE_CONTROLLER_REPLACES") -- github.com/fluxcd/source-controller
  step kustomize-controller kustomize-controller -- wrapbuild kustomize-controller \
    github.com/fluxcd/kustomize-controller "$KUSTOMIZE_CONTROLLER" "-s -w" $(reps "$KUSTOMIZE_CONTROLLER_REPLACES") -- github.com/fluxcd/kustomize-controller
  step helm-controller helm-controller -- wrapbuild helm-controller \
    github.com/fluxcd/helm-controller "$HELM_CONTROLLER" "-s -w" $(reps "$HELM_CONTROLLER_REPLACES") -- github.com/fluxcd/helm-controller

  # ------------------------------------------------------------ runtime data (no go needed at test time)
  if [ ! -f "$CACHE/crds/.done" ]; then
    mkdir -p "$CACHE/crds"
    for cv in "source-controller $SOURCE_CONTROLLER" "kustomize-controller $KUSTOMIZE_CONTROLLER" "helm-controller $HELM_CONTROLLER"; do
      set -- $cv
      go mod download "github.com/fluxcd/$1@$2"
      cp -f "$GOMODCACHE/github.com/fluxcd/$1@$2"/config/crd/bases/*.yaml "$CACHE/crds/"
    done
    chmod u+w "$CACHE"/crds/*.yaml
    touch "$CACHE/crds/.done"
    log "crds: copied $(ls "$CACHE/crds" | wc -l) files"
  fi
  if [ ! -f "$CACHE/kwok/stages.yaml" ]; then
    go mod download "sigs.k8s.io/kwok@$KWOK"
    S=$GOMODCACHE/sigs.k8s.io/kwok@$KWOK/kustomize/stage
    mkdir -p "$CACHE/kwok"
    for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
             pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
      cat "$S/$f"; echo "---"
    done > "$CACHE/kwok/stages.yaml.tmp"
    mv "$CACHE/kwok/stages.yaml.tmp" "$CACHE/kwok/stages.yaml"
    log "kwok: stages.yaml written"
  fi
fi

log "total: $(( $(date +%s) - TOTAL0 ))s ($MODE)"
echo "$BIN"
