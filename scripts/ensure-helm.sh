#!/usr/bin/env bash
# Builds Helm 4 (helm.sh/helm/v4) from the Go module proxy at a pinned version (once), and prints the path of the
# binary. Cached by version beside the other Go builds (actionlint, the local cluster's Kubernetes):
#   ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/helm-<version>/helm
#   scripts/ensure-helm.sh            # prints the binary's path (builds it first when missing, ~3-6 min on 2 cores)
# HELM_VERSION overrides the pin (docs/decisions/version-pins.md). Used by the chart tests
# (deploy/helm/claude-k8s, internal/chart-tests).
set -euo pipefail
# shellcheck source=go-install-pinned.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-install-pinned.sh"
HELM_VERSION="${HELM_VERSION:-v4.3.2}"
[[ $HELM_VERSION =~ ^v4\.[0-9]+\.[0-9]+$ ]] || {
  echo "ensure-helm: HELM_VERSION must be a Helm 4 release tag like v4.3.2, got '$HELM_VERSION'" >&2
  exit 2
}
reports_the_pinned_version() {
  local got
  got="$("$1" version --template '{{.Version}}')"
  [[ $got == "$HELM_VERSION" ]] || {
    echo "ensure-helm: built helm reports version '$got', expected '$HELM_VERSION'" >&2
    return 1
  }
}
# The version is stamped the way Helm's own Makefile does (internal/version).
go_install_pinned helm "$HELM_VERSION" helm.sh/helm/v4/cmd/helm \
  "-s -w -X helm.sh/helm/v4/internal/version.version=$HELM_VERSION" reports_the_pinned_version
