#!/usr/bin/env bash
# The scale benchmarks of docs/scale.md in one command, each printing its tables (no timed assertions):
#   1. 2,000 concurrent simulated runs against the fake apiserver, shared streams side by side with the per-run
#      watches of the baseline commit (BENCH_BASELINE_REF), in one process pair;
#   2. a burst of 50 runs of a light scripted container on a real cluster (the local cluster, built and started by
#      scripts/with-cluster.sh, or the cluster of KUBECONFIG), both codes, then 50 bare Pods for reference.
# Usage: scripts/bench-scale.sh [fake|cluster]...   (default: both; BENCH_RUNS overrides each run count)
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
# shellcheck source=scripts/toolchain.sh
source scripts/toolchain.sh
parts=("$@")
(( ${#parts[@]} > 0 )) || parts=(fake cluster)
for part in "${parts[@]}"; do
  case $part in
    fake | cluster) ;;
    *) echo "bench-scale: unknown part '$part' (known: fake cluster)" >&2; exit 2 ;;
  esac
done
pnpm install --frozen-lockfile >/dev/null
pnpm turbo run build --filter=@claude-k8s/kube-runtime --output-logs=errors-only
for part in "${parts[@]}"; do
  case $part in
    fake) printf '\n== scale benchmark: fake apiserver\n'; pnpm bench:scale ;;
    cluster) printf '\n== scale benchmark: real cluster\n'; scripts/with-cluster.sh pnpm bench:scale:cluster ;;
  esac
done
