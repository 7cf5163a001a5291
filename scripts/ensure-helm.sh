#!/usr/bin/env bash
# Builds Helm 4 (helm.sh/helm/v4) from the Go module proxy at a pinned version (once), and prints the path of the
# binary. Cached by version beside the other Go builds (actionlint, the local cluster's Kubernetes):
#   ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/helm-<version>/helm
#   scripts/ensure-helm.sh            # prints the binary's path (builds it first when missing, ~3-6 min on 2 cores)
# HELM_VERSION overrides the pin (docs/decisions/version-pins.md). Used by the chart tests
# (deploy/helm/claude-k8s, internal/chart-tests).
set -euo pipefail
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
[[ $HELM_VERSION =~ ^v4\.[0-9]+\.[0-9]+$ ]] || {
  echo "ensure-helm: HELM_VERSION must be a Helm 4 release tag like v4.3.2, got '$HELM_VERSION'" >&2
  exit 2
}
cache_root="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
out="$cache_root/bin/helm-$HELM_VERSION"
if [[ -x "$out/helm" ]]; then
  printf '%s\n' "$out/helm"
  exit 0
fi
command -v go >/dev/null 2>&1 || {
  echo "ensure-helm: the Go toolchain is required to build helm $HELM_VERSION from the Go module proxy" >&2
  exit 3
}
echo "[helm] building helm.sh/helm/v4 $HELM_VERSION (once; cached in $out)" >&2
mkdir -p "$cache_root/bin"
# One build at a time (two test workers may ask at once); the second waits and then finds the binary.
exec 9>"$cache_root/bin/.helm.lock"
flock 9
if [[ -x "$out/helm" ]]; then
  printf '%s\n' "$out/helm"
  exit 0
fi
tmp="$(mktemp -d "$cache_root/bin/.helm-$HELM_VERSION.XXXXXX")"
trap 'rm -rf "$tmp"' EXIT
# GOFLAGS is cleared so a caller's -mod=mod cannot break `go install pkg@version`; the local toolchain is used as it
# is (no toolchain download). The version is stamped the way Helm's own Makefile does (internal/version).
GOFLAGS='' GOTOOLCHAIN=local CGO_ENABLED=0 GOBIN="$tmp" \
  go install -trimpath -ldflags "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" \
  "helm.sh/helm/v4/cmd/helm@$HELM_VERSION" >&2
got="$("$tmp/helm" version --template '{{.Version}}')"
[[ $got == "$HELM_VERSION" ]] || {
  echo "ensure-helm: built helm reports version '$got', expected '$HELM_VERSION'" >&2
  exit 4
}
# Staging directory + rename: a half-finished build never looks finished.
rm -rf "$out"
mv "$tmp" "$out"
trap - EXIT
printf '%s\n' "$out/helm"
