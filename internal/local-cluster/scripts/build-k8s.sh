#!/usr/bin/env bash
# Build kube-apiserver, kube-controller-manager, kube-scheduler, kubelet, kube-proxy, kubectl, etcd and CoreDNS
# from the Go module proxy at pinned versions, with version stamping. Binaries are cached by version under
# ${CLAUDE_K8S_CACHE:-$XDG_CACHE_HOME/claude-k8s}/bin/<component>-<version>/ so a second run does not rebuild.
set -euo pipefail

K8S_VERSION="${K8S_VERSION:-v1.35.8}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
CACHE_ROOT="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
K8S_OUT="$CACHE_ROOT/bin/kubernetes-$K8S_VERSION"
ETCD_OUT="$CACHE_ROOT/bin/etcd-$ETCD_VERSION"
# The "-ck8s" suffix: a CoreDNS with only the plugins the local cluster uses (see build_coredns).
COREDNS_OUT="$CACHE_ROOT/bin/coredns-$COREDNS_VERSION-ck8s"
KUBE_ROUTER_OUT="$CACHE_ROOT/bin/kube-router-$KUBE_ROUTER_VERSION"
K8S_BINARIES=(kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl)

log() { printf '[build-k8s] %s\n' "$*" >&2; }

command -v go >/dev/null 2>&1 || { echo "build-k8s: the Go toolchain (go >= 1.25) is required to build the local cluster; install Go or point KUBECONFIG at an existing cluster" >&2; exit 3; }

export GOFLAGS="${GOFLAGS:-} -mod=mod"
export GOTOOLCHAIN=local

build_k8s() {
  local missing=0
  for b in "${K8S_BINARIES[@]}"; do [[ -x "$K8S_OUT/$b" ]] || missing=1; done
  if [[ $missing == 0 ]]; then log "kubernetes $K8S_VERSION: cached in $K8S_OUT"; return; fi
  local start=$SECONDS work
  work="$CACHE_ROOT/work/kubernetes-$K8S_VERSION"
  mkdir -p "$work" "$K8S_OUT.tmp"
  # Binaries of an earlier, smaller set are kept: only the missing ones are built.
  if [[ -d "$K8S_OUT" ]]; then cp -an "$K8S_OUT/." "$K8S_OUT.tmp/"; fi
  cd "$work"
  log "kubernetes $K8S_VERSION: resolving module graph"
  local info gomod commit minor patch
  info="$(go mod download -json "k8s.io/kubernetes@$K8S_VERSION")"
  gomod="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"GoMod": "\(.*\)",\{0,1\}$/\1/p')"
  commit="$(printf '%s' "$info" | sed -n 's/^[[:space:]]*"Hash": "\(.*\)",\{0,1\}$/\1/p' | head -1)"
  [[ -f "$gomod" ]] || { echo "build-k8s: cannot download k8s.io/kubernetes@$K8S_VERSION: $info" >&2; exit 4; }
  minor="$(echo "$K8S_VERSION" | cut -d. -f2)"; patch="$(echo "$K8S_VERSION" | cut -d. -f3)"
  local staging="v0.$minor.$patch"
  rm -f go.mod go.sum
  {
    echo "module claude-k8s.local/kubernetes-build"
    echo
    grep -E '^go [0-9]' "$gomod"
    grep -E '^godebug' "$gomod" || true
    echo
    echo "require k8s.io/kubernetes $K8S_VERSION"
    echo
    echo "replace ("
    # every staging module the upstream go.mod replaces with ./staging/src/k8s.io/X
    grep -E '^\s*k8s\.io/[a-z0-9-]+ => \./staging/src/' "$gomod" | awk -v v="$staging" '{print "\t" $1 " => " $1 " " v}'
    echo ")"
  } > go.mod
  for b in "${K8S_BINARIES[@]}"; do go mod edit -tool="k8s.io/kubernetes/cmd/$b"; done
  log "kubernetes $K8S_VERSION: go mod tidy (downloads modules on first run)"
  go mod tidy
  local date ldflags
  date="$(date -u -d @0 +%Y-%m-%dT%H:%M:%SZ)"
  ldflags="-s -w"
  for pkg in k8s.io/component-base/version k8s.io/client-go/pkg/version; do
    ldflags+=" -X $pkg.gitVersion=$K8S_VERSION -X $pkg.gitMajor=1 -X $pkg.gitMinor=$minor"
    ldflags+=" -X $pkg.gitCommit=${commit:-unknown} -X $pkg.gitTreeState=clean -X $pkg.buildDate=$date"
  done
  for b in "${K8S_BINARIES[@]}"; do
    if [[ -x "$K8S_OUT.tmp/$b" ]]; then continue; fi
    local t=$SECONDS
    log "kubernetes $K8S_VERSION: building $b"
    CGO_ENABLED=0 go build -trimpath -tags=notest,selinux -ldflags "$ldflags" -o "$K8S_OUT.tmp/$b" "k8s.io/kubernetes/cmd/$b"
    log "kubernetes $K8S_VERSION: built $b in $((SECONDS - t)) s ($(du -m "$K8S_OUT.tmp/$b" | cut -f1) MB)"
  done
  rm -rf "$K8S_OUT"; mv "$K8S_OUT.tmp" "$K8S_OUT"
  log "kubernetes $K8S_VERSION: done in $((SECONDS - start)) s, $(du -sm "$K8S_OUT" | cut -f1) MB"
}

# build_go_tool NAME VERSION OUT MODULE PACKAGE LDFLAGS [WRITE_MAIN]: build the Go program NAME into OUT/NAME (once;
# a second run finds it): a throwaway module in the work directory requires MODULE at VERSION and builds PACKAGE,
# statically, with LDFLAGS. With WRITE_MAIN, a function that writes the program's main.go into the current
# directory, PACKAGE is "." (that main). Built into OUT.tmp and renamed: a half-finished build never looks finished.
build_go_tool() {
  local name=$1 version=$2 out=$3 module=$4 package=$5 ldflags=$6 write_main=${7:-}
  if [[ -x "$out/$name" ]]; then log "$name $version: cached in $out"; return; fi
  local start=$SECONDS work="$CACHE_ROOT/work/$name-$version"
  mkdir -p "$work" "$out.tmp"
  cd "$work"
  rm -f go.mod go.sum
  if [[ -n $write_main ]]; then "$write_main"; gofmt -w main.go; fi
  printf 'module claude-k8s.local/%s-build\n\ngo 1.25\n\nrequire %s %s\n' "$name" "$module" "$version" > go.mod
  if [[ -z $write_main ]]; then go mod edit -tool="$package"; fi
  go mod tidy
  log "$name $version: building"
  CGO_ENABLED=0 go build -trimpath -ldflags "$ldflags" -o "$out.tmp/$name" "$package"
  rm -rf "$out"; mv "$out.tmp" "$out"
  log "$name $version: done in $((SECONDS - start)) s, $(du -sm "$out" | cut -f1) MB"
}

build_etcd() {
  build_go_tool etcd "$ETCD_VERSION" "$ETCD_OUT" go.etcd.io/etcd/server/v3 go.etcd.io/etcd/server/v3 "-s -w"
}

# Cluster DNS. CoreDNS's own main links every plugin (cloud DNS providers included); this build links the few the
# local cluster's Corefile uses, in CoreDNS's directive order (plugin.cfg), and nothing that forwards outside.
COREDNS_PLUGINS=(bind ready health errors log loadbalance cache kubernetes)
write_coredns_main() {
  {
    echo "// Generated by build-k8s.sh: CoreDNS $COREDNS_VERSION with the plugins ${COREDNS_PLUGINS[*]}."
    echo "package main"
    echo
    echo "import ("
    echo '	"github.com/coredns/coredns/core/dnsserver"'
    echo '	"github.com/coredns/coredns/coremain"'
    for p in "${COREDNS_PLUGINS[@]}"; do echo "	_ \"github.com/coredns/coredns/plugin/$p\""; done
    echo ")"
    echo
    printf 'func init() { dnsserver.Directives = []string{'
    local sep=""; for p in "${COREDNS_PLUGINS[@]}"; do printf '%s"%s"' "$sep" "$p"; sep=", "; done
    echo '} }'
    echo
    echo "func main() { coremain.Run() }"
  } > main.go
}
build_coredns() {
  build_go_tool coredns "$COREDNS_VERSION" "$COREDNS_OUT" github.com/coredns/coredns . \
    "-s -w -X github.com/coredns/coredns/coremain.GitCommit=$COREDNS_VERSION" write_coredns_main
}

# The NetworkPolicy engine: kube-router's firewall controller only (no routing, no service proxy).
build_kube_router() {
  build_go_tool kube-router "$KUBE_ROUTER_VERSION" "$KUBE_ROUTER_OUT" github.com/cloudnativelabs/kube-router/v2 \
    github.com/cloudnativelabs/kube-router/v2/cmd/kube-router \
    "-s -w -X github.com/cloudnativelabs/kube-router/v2/pkg/version.Version=$KUBE_ROUTER_VERSION"
}

case "${1:-all}" in
  k8s) build_k8s ;;
  etcd) build_etcd ;;
  coredns) build_coredns ;;
  kube-router) build_kube_router ;;
  all) build_etcd; build_k8s; build_coredns; build_kube_router ;;
  *) echo "usage: build-k8s.sh [all|k8s|etcd|coredns|kube-router]" >&2; exit 2 ;;
esac
