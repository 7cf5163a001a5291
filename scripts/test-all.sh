#!/usr/bin/env bash
# Every test tier, from a fresh clone: toolchain, install, build, lint, typecheck, unit tests, package checks,
# the changeset independence check, then the real local cluster tier (built and started by the repository's own
# scripts, or any cluster given through KUBECONFIG), and the end-to-end tier on a real Paperclip server.
# Usage: scripts/test-all.sh            (all tiers)
#        CK8S_TIERS="static unit" scripts/test-all.sh   (a subset of: static unit package cluster e2e; an unknown
#                                                        name fails at once)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
KNOWN_TIERS="static unit package cluster e2e"
TIERS="${CK8S_TIERS:-$KNOWN_TIERS}"
# A misspelt tier would otherwise run nothing and report success.
read -r -a requested <<<"$TIERS"
(( ${#requested[@]} > 0 )) || { echo "test-all: CK8S_TIERS names no tier (known: $KNOWN_TIERS)" >&2; exit 2; }
for tier in "${requested[@]}"; do
  [[ " $KNOWN_TIERS " == *" $tier "* ]] || { echo "test-all: unknown tier '$tier' in CK8S_TIERS=\"$TIERS\" (known: $KNOWN_TIERS, separated by spaces)" >&2; exit 2; }
done
# shellcheck source=scripts/toolchain.sh
source scripts/toolchain.sh
has_tier() { [[ " $TIERS " == *" $1 "* ]]; }
step() { printf '\n\033[1m== %s\033[0m\n' "$*"; }
started=$SECONDS

step "install (pnpm $(pnpm --version), node $(node --version))"
pnpm install --frozen-lockfile

if has_tier static; then
  # Every static check runs even when an earlier one fails, so one run reports all problems; the tier fails at the end.
  static_failed=()
  step "build, lint (packages and root scripts), typecheck"
  pnpm turbo run build lint lint:root typecheck --continue || static_failed+=("build/lint/typecheck")
  step "format, workspace consistency (sherif), unused code and dependencies (knip), dependency rules"
  pnpm format:check || static_failed+=("format:check (run: pnpm format)")
  pnpm check:workspace || static_failed+=("check:workspace")
  step "decision records (form, links, generated index)"
  node scripts/decisions-index.mjs --check || static_failed+=("decisions index (run: node scripts/decisions-index.mjs)")
  step "shell scripts (shellcheck), GitHub workflows (actionlint), script self-tests"
  scripts/check-scripts.sh || static_failed+=("check-scripts")
  if (( ${#static_failed[@]} > 0 )); then
    printf 'static tier failed: %s\n' "${static_failed[@]}" >&2
    exit 1
  fi
fi

if has_tier unit; then
  scripts/ensure-system-deps.sh browser
  step "unit and fake-apiserver tests"
  pnpm turbo run test
fi

if has_tier package; then
  step "release artifact checks (pack, publint, attw) and changeset independence"
  package_failed=()
  pnpm turbo run check:package --continue || package_failed+=("check:package")
  pnpm check:changesets || package_failed+=("check:changesets")
  if (( ${#package_failed[@]} > 0 )); then
    printf 'package tier failed: %s\n' "${package_failed[@]}" >&2
    exit 1
  fi
fi

if has_tier cluster || has_tier e2e; then
  step "cluster and end-to-end tiers (the local cluster, or the cluster of KUBECONFIG)"
  CK8S_TIERS="$TIERS" scripts/with-cluster.sh scripts/test-cluster-tiers.sh
fi

step "all requested tiers passed in $((SECONDS - started)) s: $TIERS"
