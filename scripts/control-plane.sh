#!/usr/bin/env bash
# Build the real Kubernetes control plane (kube-apiserver, kube-controller-manager, kube-scheduler, etcd)
# from Go modules, once, into a cache outside the clone. Idempotent: a complete cache is reused.
#
#   scripts/control-plane.sh            build if missing, print the bin directory on the last line
#   scripts/control-plane.sh --path     print the bin directory, exit 1 when it is not built
#   scripts/control-plane.sh --version  print the pinned Kubernetes version
#
# The version lives in one place: tools/k8s/go.mod (k8s.io/kubernetes vX.Y.Z).
# TAGENT_K8S_CACHE overrides the cache root (default ~/.cache/tagent).
set -euo pipefail
here=$(cd "$(dirname "$0")/.." && pwd)
mod="$here/tools/k8s"
version=$(awk '$1 == "k8s.io/kubernetes" && $2 ~ /^v1\./ {print $2; exit}' "$mod/go.mod")
cache_root=${TAGENT_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/tagent}
bin="$cache_root/k8s-$version/bin"
commands=(kube-apiserver kube-controller-manager kube-scheduler etcd)

complete() {
  local c
  for c in "${commands[@]}"; do [ -x "$bin/$c" ] || return 1; done
  # A build of other sources (go.mod/go.sum changed) is not this build.
  [ "$(cat "$bin/.stamp" 2>/dev/null)" = "$(cat "$mod/go.mod" "$mod/go.sum" | sha256sum | cut -c1-16)" ]
}

case "${1:-}" in
  --version) echo "$version"; exit 0 ;;
  --path) complete && { echo "$bin"; exit 0; }; echo "control plane $version is not built (run scripts/control-plane.sh)" >&2; exit 1 ;;
  "") ;;
  *) echo "usage: scripts/control-plane.sh [--path|--version]" >&2; exit 2 ;;
esac

if complete; then
  echo "control plane $version: already built in $bin"
  echo "$bin"
  exit 0
fi
command -v go >/dev/null 2>&1 || { echo "control plane $version: Go is not installed; cannot build" >&2; exit 3; }
mkdir -p "$bin"
echo "control plane $version: building ${commands[*]} into $bin (first time only; ~10-20 min on 2 cores)"
start=$(date +%s)
cd "$mod"
export CGO_ENABLED=0 GOFLAGS=-mod=mod
for c in kube-apiserver kube-controller-manager kube-scheduler; do
  echo "  go build $c"
  go build -trimpath -ldflags "-s -w -X k8s.io/component-base/version.gitVersion=$version -X k8s.io/component-base/version.gitMajor=1 -X k8s.io/component-base/version.gitMinor=$(echo "$version" | cut -d. -f2)" \
    -o "$bin/$c.tmp" "k8s.io/kubernetes/cmd/$c"
  mv "$bin/$c.tmp" "$bin/$c"
done
echo "  go build etcd"
go build -trimpath -ldflags "-s -w" -o "$bin/etcd.tmp" ./etcd
mv "$bin/etcd.tmp" "$bin/etcd"
cat go.mod go.sum | sha256sum | cut -c1-16 > "$bin/.stamp"
echo "control plane $version: built in $(( $(date +%s) - start )) s"
echo "$bin"
