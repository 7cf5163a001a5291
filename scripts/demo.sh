#!/usr/bin/env bash
# The main job, on a fresh machine: toolchain, dependencies and build, then one Claude Code agent run as a
# Kubernetes Job through a real Paperclip server, streamed to the terminal. See `scripts/demo.sh --help`.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
for arg in "$@"; do if [[ $arg == -h || $arg == --help ]]; then source scripts/toolchain.sh >/dev/null 2>&1; exec node --conditions=@claude-k8s/source internal/stack/src/main.ts --help; fi; done
t0=$SECONDS
printf '\u25b8 toolchain, dependencies and build ...\n' >&2
source scripts/toolchain.sh
pnpm install --frozen-lockfile --reporter=silent
pnpm turbo run build --output-logs=errors-only >/dev/null
if [[ -z "${KUBECONFIG:-}" ]]; then
  if [[ $(id -u) -ne 0 ]]; then echo "The local cluster needs root (it starts containerd and a kubelet). Run with sudo, or set KUBECONFIG to an existing cluster." >&2; exit 3; fi
  command -v go >/dev/null 2>&1 || [[ -x "${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/bin/kubernetes-v1.35.8/kubelet" ]] || {
    echo "The local cluster is built from source with Go (>= 1.25), and no Go toolchain was found. Install Go, or set KUBECONFIG to an existing cluster." >&2; exit 3; }
  scripts/ensure-system-deps.sh cluster image
fi
printf '\u2714 toolchain, dependencies and build (%s s)\n' "$((SECONDS - t0))" >&2
exec node --conditions=@claude-k8s/source internal/stack/src/main.ts "$@"
