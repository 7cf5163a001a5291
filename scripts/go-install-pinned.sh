# shellcheck shell=bash
# Sourced by the ensure-*.sh scripts that build a Go tool from the Go module proxy at a pinned version. Defines:
#   go_install_pinned NAME VERSION PACKAGE LDFLAGS [CHECK]
# Prints the path of the binary NAME, building it first when missing (`go install PACKAGE@VERSION` with LDFLAGS)
# into ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/NAME-VERSION/NAME. CHECK, a function, is
# called with the fresh binary's path before it is kept (e.g. to compare its reported version); its failure fails
# the build. One build at a time (two test workers may ask at once): the second waits, then finds the binary.
go_install_pinned() {
  local name=$1 version=$2 package=$3 ldflags=$4 check=${5:-}
  local cache_root="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
  local out="$cache_root/bin/$name-$version"
  if [[ -x "$out/$name" ]]; then
    printf '%s\n' "$out/$name"
    return 0
  fi
  command -v go >/dev/null 2>&1 || {
    echo "ensure-$name: the Go toolchain is required to build $name $version from the Go module proxy" >&2
    return 3
  }
  mkdir -p "$cache_root/bin"
  exec 9>"$cache_root/bin/.$name.lock"
  flock 9
  if [[ -x "$out/$name" ]]; then
    printf '%s\n' "$out/$name"
    return 0
  fi
  echo "[$name] building $package $version (once; cached in $out)" >&2
  # Global, not local: the EXIT trap that removes it may run after this function has returned.
  go_install_tmp="$(mktemp -d "$cache_root/bin/.$name-$version.XXXXXX")"
  trap 'rm -rf "$go_install_tmp"' EXIT
  # GOFLAGS is cleared so a caller's -mod=mod (build-k8s.sh sets it) cannot break `go install pkg@version`; the local
  # toolchain is used as it is (no toolchain download).
  if ! GOFLAGS='' GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$go_install_tmp" \
    go install -trimpath -ldflags "$ldflags" "$package@$version" >&2 ||
    { [[ -n $check ]] && ! "$check" "$go_install_tmp/$name"; }; then
    return 4
  fi
  # Staging directory + rename: a half-finished build never looks finished.
  rm -rf "$out"
  mv "$go_install_tmp" "$out"
  trap - EXIT
  printf '%s\n' "$out/$name"
}
