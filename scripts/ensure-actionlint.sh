#!/usr/bin/env bash
# Builds the GitHub workflow linter actionlint from the Go module proxy at a pinned version (once), and prints the
# path of the binary. Cached by version beside the local cluster's Go builds:
#   ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/actionlint-<version>/actionlint
#   scripts/ensure-actionlint.sh            # prints the binary's path (builds it first when missing)
# ACTIONLINT_VERSION overrides the pin (docs/decisions/version-pins.md).
set -euo pipefail
# shellcheck source=go-install-pinned.sh
source "$(dirname "${BASH_SOURCE[0]}")/go-install-pinned.sh"
ACTIONLINT_VERSION="${ACTIONLINT_VERSION:-v1.7.12}"
runs() { "$1" -version >/dev/null; }
go_install_pinned actionlint "$ACTIONLINT_VERSION" github.com/rhysd/actionlint/cmd/actionlint \
  "-s -w -X github.com/rhysd/actionlint.version=$ACTIONLINT_VERSION" runs
