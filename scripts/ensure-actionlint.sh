#!/usr/bin/env bash
# Builds the GitHub workflow linter actionlint from the Go module proxy at a pinned version (once), and prints the
# path of the binary. Cached by version beside the local cluster's Go builds:
#   ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/actionlint-<version>/actionlint
#   scripts/ensure-actionlint.sh            # prints the binary's path (builds it first when missing)
# ACTIONLINT_VERSION overrides the pin (docs/decisions/version-pins.md).
set -euo pipefail
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
cache_root="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
out="$cache_root/bin/actionlint-$ACTIONLINT_VERSION"
if [[ -x "$out/actionlint" ]]; then
  printf '%s\n' "$out/actionlint"
  exit 0
fi
command -v go >/dev/null 2>&1 || {
  echo "ensure-actionlint: the Go toolchain is required to build actionlint $ACTIONLINT_VERSION from the Go module proxy" >&2
  exit 3
}
echo "[actionlint] building github.com/rhysd/actionlint $ACTIONLINT_VERSION (once; cached in $out)" >&2
mkdir -p "$cache_root/bin"
tmp="$(mktemp -d "$cache_root/bin/.actionlint-$ACTIONLINT_VERSION.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# GOFLAGS is cleared so a caller's -mod=mod (build-k8s.sh sets it) cannot break `go install pkg@version`; the local
# toolchain is used as it is (no toolchain download).
GOFLAGS='' GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" \
  go install -trimpath -ldflags "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" \
  "github.com/rhysd/actionlint/cmd/actionlint@$ACTIONLINT_VERSION" >&2
"$tmp/actionlint" -version >/dev/null
# Staging directory + rename: a half-finished build never looks finished.
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
printf '%s\n' "$out/actionlint"
