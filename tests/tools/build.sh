#!/usr/bin/env bash
# Build the pinned test tools from the Go module proxy into a cache keyed per tool.
#
#   bash tests/tools/build.sh [basic|all|bench] [TOOL...]  # default: basic; TOOLs: only those
#   bash tests/tools/build.sh --print-bin            # print BIN, build nothing
#   bash tests/tools/build.sh --list                 # one line per tool: name set key state
#
# basic = age, sops, kustomize, helm                                       (unit tier)
# all   = basic + the local control plane (etcd, kube-*, kubectl, kwok, the Flux controllers
#         and their CRDs, kwok stages) + the edge's workloads (cert-manager, pebble,
#         external-dns, the Hetzner webhook, traefik, podinfo)                  (e2e tier)
# bench = all + the flux CLI                                                (make bench only)
#
# Every tool is built into its own folder $ROOT/tools/<name>-<key>, where <key> hashes the pins
# it names in the table below, its recipe and the helpers it uses: bumping or adding one tool
# rebuilds only that tool. $ROOT/tools-<hash of all keys>/ is assembled from them (symlinks):
# bin/ holds every binary, crds/ and kwok/ the runtime data. Tools are built into a temporary
# folder and renamed into place, so an interrupted build never leaves half a tool; up to
# $EDGE_WIZARD_BUILD_JOBS (default 2) tools build at once. Each tool's log is in
# $ROOT/logs/<name>-<key>.log and its build time is printed.
#
# Progress goes to stderr; the last line of stdout is the BIN directory.
set -euo pipefail

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
# shellcheck source=versions.env
source "$HERE/versions.env"
ROOT=${EDGE_WIZARD_TOOLS_CACHE:-$HOME/.cache/edge-wizard}
UPSTREAM=${EDGE_WIZARD_UPSTREAM:-$(cd "$REPO/.." && pwd)/shared/upstream}
JOBS=${EDGE_WIZARD_BUILD_JOBS:-2}

# ------------------------------------------------------------------ the table
# tool NAME SET "PINS..." "OUTPUTS..."  (PINS: versions.env variables; @mkwrap = mkwrap.py is
# part of the recipe; OUTPUTS: paths the recipe must leave in $OUT)
TOOLS=()
declare -A SET PINS OUTS
tool() { TOOLS+=("$1"); SET[$1]=$2; PINS[$1]=$3; OUTS[$1]=$4; }
tool age basic "AGE" "bin/age bin/age-keygen"
tool sops basic "SOPS" "bin/sops"
tool kustomize basic "KUSTOMIZE" "bin/kustomize"
tool helm basic "HELM" "bin/helm"
# longest first: the scheduler starts tools in table order
tool kube all "K8S @mkwrap" "bin/kube-apiserver bin/kube-controller-manager bin/kube-scheduler bin/kubectl"
tool traefik all "TRAEFIK @mkwrap" "bin/traefik"
tool cert-manager all "CERT_MANAGER CERT_MANAGER_REPLACES" \
  "bin/cert-manager-controller bin/cert-manager-webhook bin/cert-manager-cainjector bin/cert-manager-acmesolver"
tool helm-controller all "HELM_CONTROLLER HELM_CONTROLLER_REPLACES @mkwrap" "bin/helm-controller"
tool source-controller all "SOURCE_CONTROLLER SOURCE_CONTROLLER_REPLACES @mkwrap" "bin/source-controller"
tool kustomize-controller all "KUSTOMIZE_CONTROLLER KUSTOMIZE_CONTROLLER_REPLACES @mkwrap" "bin/kustomize-controller"
tool flux bench "FLUX" "bin/flux"
tool external-dns all "EXTERNAL_DNS" "bin/external-dns"
tool kwok all "KWOK @mkwrap" "bin/kwok kwok/stages.yaml kwok/crds/kwok.x-k8s.io_logs.yaml"
tool etcd all "ETCD @mkwrap" "bin/etcd"
tool hetzner-webhook all "HETZNER_WEBHOOK" "bin/external-dns-hetzner-webhook"
tool podinfo all "PODINFO" "bin/podinfo"
tool pebble all "PEBBLE" "bin/pebble"
tool flux-crds all "SOURCE_CONTROLLER KUSTOMIZE_CONTROLLER HELM_CONTROLLER" "crds"

# ------------------------------------------------------------------ helpers (part of every key)
export GOTOOLCHAIN=local CGO_ENABLED=0 GOFLAGS=-trimpath GOWORK=off

goinstall() {  # goinstall [-ldflags FLAGS] PKG@VER...  -> $OUT/bin
  local ldf="-s -w"
  if [ "$1" = "-ldflags" ]; then ldf=$2; shift 2; fi
  GOBIN=$OUT/bin go install -ldflags "$ldf" "$@"
}

wrapbuild() {  # wrapbuild NAME MODULE VERSION LDFLAGS [mkwrap opts...] -- PKGS...  -> $OUT/bin
  local name=$1 mod=$2 ver=$3 ldf=$4; shift 4
  local opts=()
  while [ "$1" != "--" ]; do opts+=("$1"); shift; done; shift
  local w=$WORK/wrap pk=() p
  for p in "$@"; do pk+=(--pkg "$p"); done
  python3 "$HERE/mkwrap.py" "$w" "$mod" "$ver" "${pk[@]}" ${opts[@]+"${opts[@]}"} || return 1
  mkdir -p "$OUT/bin"
  (cd "$w" && go build -ldflags "$ldf" -o "$OUT/bin/" "$@") || return 1
  if [ $# -eq 1 ]; then  # single package: go build -o DIR/ names it after the last path element
    local base=${1##*/}; case "$base" in v[0-9]*) base=$(basename "$(dirname "$1")");; esac
    [ "$base" = "$name" ] || mv "$OUT/bin/$base" "$OUT/bin/$name" || return 1
  fi
}

reps() { local r out=(); for r in $1; do out+=(--replace "$r"); done; echo "${out[@]}"; }

moddir() {  # moddir MODULE@VERSION: download it, print its folder in the module cache
  go mod download -json "$1" | python3 -c 'import json,sys; print(json.load(sys.stdin)["Dir"])'
}

need_upstream() {
  [ -d "$UPSTREAM/$1" ] || { echo "missing $UPSTREAM/$1 (set EDGE_WIZARD_UPSTREAM to the shared upstream folder)" >&2; return 1; }
}

# ------------------------------------------------------------------ recipes (build_<name>)
build_age() { goinstall filippo.io/age/cmd/age@"$AGE" filippo.io/age/cmd/age-keygen@"$AGE"; }
build_sops() { goinstall github.com/getsops/sops/v3/cmd/sops@"$SOPS"; }
build_kustomize() { goinstall sigs.k8s.io/kustomize/kustomize/v5@"$KUSTOMIZE"; }
build_helm() {
  goinstall -ldflags "-s -w -X helm.sh/helm/v3/internal/version.version=$HELM -X helm.sh/helm/v3/internal/version.gitTreeState=clean" \
    helm.sh/helm/v3/cmd/helm@"$HELM"
  "$OUT/bin/helm" version --short
}

build_etcd() { wrapbuild etcd go.etcd.io/etcd/server/v3 "$ETCD" "-s -w" -- go.etcd.io/etcd/server/v3; }

build_kube() {  # one go build for the four, so shared packages compile once
  local minor; minor=$(echo "$K8S" | cut -d. -f2)
  local ldf="-s -w -X k8s.io/component-base/version.gitVersion=v$K8S -X k8s.io/component-base/version.gitMajor=1 \
-X k8s.io/component-base/version.gitMinor=$minor -X k8s.io/component-base/version.gitTreeState=clean \
-X k8s.io/component-base/version.buildDate=2000-01-01T00:00:00Z \
-X k8s.io/client-go/pkg/version.gitVersion=v$K8S -X k8s.io/client-go/pkg/version.gitMajor=1 \
-X k8s.io/client-go/pkg/version.gitMinor=$minor"
  local pk=(k8s.io/kubernetes/cmd/kube-apiserver k8s.io/kubernetes/cmd/kube-controller-manager
    k8s.io/kubernetes/cmd/kube-scheduler k8s.io/kubernetes/cmd/kubectl)
  local args=() p; for p in "${pk[@]}"; do args+=(--pkg "$p"); done
  python3 "$HERE/mkwrap.py" "$WORK/wrap" k8s.io/kubernetes "v$K8S" --staging-version "v0.${K8S#1.}" "${args[@]}"
  mkdir -p "$OUT/bin"
  (cd "$WORK/wrap" && go build -tags=selinux,notest,grpcnotrace -ldflags "$ldf" -o "$OUT/bin/" "${pk[@]}")
  "$OUT/bin/kube-apiserver" --version
}

build_kwok() {
  wrapbuild kwok sigs.k8s.io/kwok "$KWOK" "-s -w" -- sigs.k8s.io/kwok/cmd/kwok
  local s f; s=$(moddir "sigs.k8s.io/kwok@$KWOK")/kustomize/stage
  mkdir -p "$OUT/kwok"
  for f in node/fast/node-initialize.yaml node/heartbeat-with-lease/node-heartbeat-with-lease.yaml \
           pod/fast/pod-ready.yaml pod/fast/pod-complete.yaml pod/fast/pod-delete.yaml; do
    cat "$s/$f"; echo "---"
  done > "$OUT/kwok/stages.yaml"
  # the Logs CRD: the pod runtime tells kwok where each container's log is (kubectl logs)
  mkdir -p "$OUT/kwok/crds"
  cp "$s/../crd/bases/kwok.x-k8s.io_logs.yaml" "$OUT/kwok/crds/"
  chmod -R u+w "$OUT/kwok"
}

build_source-controller() {
  # shellcheck disable=SC2046
  wrapbuild source-controller github.com/fluxcd/source-controller "$SOURCE_CONTROLLER" "-s -w" \
    $(reps "$SOURCE_CONTROLLER_REPLACES") -- github.com/fluxcd/source-controller
}
build_kustomize-controller() {
  # shellcheck disable=SC2046
  wrapbuild kustomize-controller github.com/fluxcd/kustomize-controller "$KUSTOMIZE_CONTROLLER" "-s -w" \
    $(reps "$KUSTOMIZE_CONTROLLER_REPLACES") -- github.com/fluxcd/kustomize-controller
}
build_helm-controller() {
  # shellcheck disable=SC2046
  wrapbuild helm-controller github.com/fluxcd/helm-controller "$HELM_CONTROLLER" "-s -w" \
    $(reps "$HELM_CONTROLLER_REPLACES") -- github.com/fluxcd/helm-controller
}
build_flux-crds() {  # the CRDs are in the controllers' module zips
  mkdir -p "$OUT/crds"
  local cv d
  for cv in "source-controller $SOURCE_CONTROLLER" "kustomize-controller $KUSTOMIZE_CONTROLLER" \
            "helm-controller $HELM_CONTROLLER"; do
    # shellcheck disable=SC2086
    set -- $cv
    d=$(moddir "github.com/fluxcd/$1@$2")
    cp -f "$d"/config/crd/bases/*.yaml "$OUT/crds/"
  done
  chmod u+w "$OUT"/crds/*.yaml
}

build_flux() {
  # flux2 has replace directives, so it is built as the main module from a copy of its zip. The
  # CLI embeds manifests that upstream's `make` assembles from GitHub release assets (not a
  # registry): they are left out, so `flux install`/`bootstrap` fail here with "no such file";
  # get/reconcile/build/diff/events/logs work.
  local d; d=$(moddir "github.com/fluxcd/flux2/v2@$FLUX")
  cp -r "$d" "$WORK/flux2" && chmod -R u+w "$WORK/flux2"
  mkdir -p "$WORK/flux2/cmd/flux/manifests"
  printf '# not bundled: this flux CLI was built for get/reconcile/build (tests/tools/build.sh)\n' \
    > "$WORK/flux2/cmd/flux/manifests/not-bundled.yaml"
  mkdir -p "$OUT/bin"
  (cd "$WORK/flux2" && go build -ldflags "-s -w -X main.VERSION=${FLUX#v}" -o "$OUT/bin/flux" ./cmd/flux)
  "$OUT/bin/flux" version --client
}

build_cert-manager() {
  # Each cmd/* of cert-manager is a nested module the proxy does not serve: one wrapper module
  # holds copies of the four (from the shared upstream folder), each requiring cert-manager from
  # the proxy instead of `../../`, so the shared packages compile once in one go build.
  local src=src/cert-manager-$CERT_MANAGER/cmd c w=$WORK/cm
  need_upstream "$src"
  mkdir -p "$w"
  for c in controller webhook cainjector acmesolver; do
    cp -r "$UPSTREAM/$src/$c" "$w/$c" && chmod -R u+w "$w/$c"
    (cd "$w/$c" && go mod edit -dropreplace=github.com/cert-manager/cert-manager \
      -require=github.com/cert-manager/cert-manager@"$CERT_MANAGER")
  done
  (
    cd "$w"
    go mod init e2e.invalid/wrap/cert-manager
    local r edits=()
    for c in controller webhook cainjector acmesolver; do
      edits+=(-require="github.com/cert-manager/cert-manager/$c-binary@v0.0.0" -replace="github.com/cert-manager/cert-manager/$c-binary=./$c")
    done
    for r in $CERT_MANAGER_REPLACES; do edits+=(-replace="$r"); done
    for c in controller webhook cainjector acmesolver; do edits+=(-tool="github.com/cert-manager/cert-manager/$c-binary"); done
    go mod edit -require=github.com/cert-manager/cert-manager@"$CERT_MANAGER" "${edits[@]}"
    go mod tidy
    mkdir -p "$OUT/bin"
    go build -ldflags "-s -w -X github.com/cert-manager/cert-manager/pkg/util.AppVersion=$CERT_MANAGER" -o "$OUT/bin/" \
      github.com/cert-manager/cert-manager/controller-binary github.com/cert-manager/cert-manager/webhook-binary \
      github.com/cert-manager/cert-manager/cainjector-binary github.com/cert-manager/cert-manager/acmesolver-binary
    for c in controller webhook cainjector acmesolver; do mv "$OUT/bin/$c-binary" "$OUT/bin/cert-manager-$c"; done
  )
  "$OUT/bin/cert-manager-controller" --help >/dev/null
}

build_pebble() { goinstall github.com/letsencrypt/pebble/v2/cmd/pebble@"$PEBBLE"; }

build_external-dns() {
  goinstall -ldflags "-s -w -X sigs.k8s.io/external-dns/pkg/apis/externaldns.Version=$EXTERNAL_DNS" \
    sigs.k8s.io/external-dns@"$EXTERNAL_DNS"
}

build_hetzner-webhook() {  # not on the proxy: from the shared upstream folder (its go.work is upstream's)
  local src=src/external-dns-hetzner-webhook-$HETZNER_WEBHOOK
  need_upstream "$src"
  cp -r "$UPSTREAM/$src" "$WORK/webhook" && chmod -R u+w "$WORK/webhook"
  rm -f "$WORK/webhook/go.work" "$WORK/webhook/go.work.sum"
  mkdir -p "$OUT/bin"
  (cd "$WORK/webhook" && go build -ldflags "-s -w" -o "$OUT/bin/external-dns-hetzner-webhook" ./cmd/webhook)
}

build_podinfo() { goinstall github.com/stefanprodan/podinfo/cmd/podinfo@"$PODINFO"; }

build_traefik() {
  # Traefik replaces its nested module dynamic/ext with ./pkg/config/dynamic/ext, which neither
  # the proxy nor the module zip has: the shared upstream folder does.
  local src=src/traefik-$TRAEFIK/pkg/config/dynamic/ext
  need_upstream "$src"
  cp -r "$UPSTREAM/$src" "$WORK/ext" && chmod -R u+w "$WORK/ext"
  wrapbuild traefik github.com/traefik/traefik/v3 "$TRAEFIK" \
    "-s -w -X github.com/traefik/traefik/v3/pkg/version.Version=$TRAEFIK" \
    --replace "github.com/traefik/traefik/dynamic/ext=$WORK/ext" -- github.com/traefik/traefik/v3/cmd/traefik
}

# ------------------------------------------------------------------ keys and layout
HELPERS=$(declare -f goinstall wrapbuild reps moddir need_upstream)
MKWRAP_SUM=$(sha256sum "$HERE/mkwrap.py" | cut -c1-16)

key_of() {
  local n=$1 p
  {
    echo "$n"
    declare -f "build_$n"
    echo "$HELPERS"
    echo "${OUTS[$n]}"
    for p in ${PINS[$n]}; do
      if [ "$p" = "@mkwrap" ]; then echo "mkwrap=$MKWRAP_SUM"; else echo "$p=${!p-}"; fi
    done
  } | sha256sum | cut -c1-12
}

declare -A KEY
for n in "${TOOLS[@]}"; do KEY[$n]=$(key_of "$n"); done
COMBINED=$(for n in "${TOOLS[@]}"; do echo "$n=${KEY[$n]}"; done | sha256sum | cut -c1-12)
CACHE=$ROOT/tools-$COMBINED
BIN=$CACHE/bin
dest() { echo "$ROOT/tools/$1-${KEY[$1]}"; }

MODE=${1:-basic}
case "$MODE" in
  --print-bin) echo "$BIN"; exit 0;;
  --list)
    for n in "${TOOLS[@]}"; do
      s=missing; [ -d "$(dest "$n")" ] && s=built
      printf '%-22s %-6s %s %s\n' "$n" "${SET[$n]}" "${KEY[$n]}" "$s"
    done
    exit 0;;
  basic|all|bench) shift || true;;
  *) echo "usage: $0 [basic|all|bench] [TOOL...] | --print-bin | --list" >&2; exit 2;;
esac

WANT=()
if [ $# -gt 0 ]; then
  for n in "$@"; do
    [ -n "${SET[$n]-}" ] || { echo "build.sh: unknown tool $n (see --list)" >&2; exit 2; }
    WANT+=("$n")
  done
else
  for n in "${TOOLS[@]}"; do
    case "$MODE/${SET[$n]}" in
      */basic|all/all|bench/*) WANT+=("$n");;
    esac
  done
fi

mkdir -p "$ROOT/tools" "$ROOT/logs" "$ROOT/tmp" "$BIN"
log() { echo "[build.sh $(date +%H:%M:%S)] $*" >&2; }
TOTAL0=$(date +%s)

# build_one NAME: run the recipe in a fresh temp folder, check its outputs, rename into place.
# Writes "<seconds> built|cached|FAILED" to $ROOT/tmp/<name>.status.
build_one() {
  local n=$1 d t0 o
  d=$(dest "$n")
  local status=$ROOT/tmp/$n-${KEY[$n]}.status
  if [ -d "$d" ]; then echo "0 cached" > "$status"; return 0; fi
  local logf=$ROOT/logs/$n-${KEY[$n]}.log
  t0=$(date +%s)
  log "$n: building (log: $logf)"
  OUT=$(mktemp -d "$ROOT/tmp/$n.XXXXXX")
  WORK=$OUT/.work
  mkdir -p "$WORK"
  # not in an `if`: errexit must stay on inside the recipe
  local rc=0
  set +e
  ( set -euo pipefail; "build_$n" ) >"$logf" 2>&1
  rc=$?
  set -e
  if [ "$rc" -ne 0 ]; then
    log "$n: FAILED after $(( $(date +%s) - t0 ))s; last lines of $logf:"
    tail -n 25 "$logf" >&2
    rm -rf "$OUT"
    echo "$(( $(date +%s) - t0 )) FAILED" > "$status"
    return 1
  fi
  rm -rf "$WORK"
  for o in ${OUTS[$n]}; do
    [ -e "$OUT/$o" ] || { log "$n: $o missing after build"; rm -rf "$OUT"; echo "0 FAILED" > "$status"; return 1; }
  done
  # another build.sh may have finished the same tool meanwhile: theirs is as good as ours
  mv -T "$OUT" "$d" 2>/dev/null || rm -rf "$OUT"
  echo "$(( $(date +%s) - t0 )) built" > "$status"
  log "$n: done in $(( $(date +%s) - t0 ))s"
}

failed=0
for n in "${WANT[@]}"; do
  if [ -d "$(dest "$n")" ]; then build_one "$n"; continue; fi
  while [ "$(jobs -rp | wc -l)" -ge "$JOBS" ]; do wait -n || failed=1; done
  build_one "$n" &
done
while [ "$(jobs -rp | wc -l)" -gt 0 ]; do wait -n || failed=1; done
wait || failed=1

# assemble $CACHE from the tools' folders (symlinks; idempotent)
for n in "${WANT[@]}"; do
  d=$(dest "$n")
  [ -d "$d" ] || continue
  for o in ${OUTS[$n]}; do
    case "$o" in
      bin/*) ln -sfn "$d/$o" "$BIN/${o#bin/}";;
      *) ln -sfn "$d/${o%%/*}" "$CACHE/${o%%/*}";;
    esac
  done
done

{
  printf '[build.sh] %-22s %8s  %s\n' tool seconds state
  for n in "${WANT[@]}"; do
    s=$ROOT/tmp/$n-${KEY[$n]}.status
    if [ -f "$s" ]; then read -r secs state < "$s"; rm -f "$s"; else secs=0 state=FAILED; fi
    printf '[build.sh] %-22s %8s  %s\n' "$n" "$secs" "$state"
  done
} >&2
log "total: $(( $(date +%s) - TOTAL0 ))s ($MODE, $JOBS jobs)"
if [ "$failed" -ne 0 ]; then log "some tools failed to build (see above)"; exit 1; fi
echo "$BIN"
