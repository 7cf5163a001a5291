#!/usr/bin/env bash
# Runs inside scripts/with-cluster.sh (KUBECONFIG set): the cluster tier of every package, then the end-to-end tier.
set -euo pipefail
cd "$(dirname "$0")/.."
TIERS="${CK8S_TIERS:-cluster e2e}"
read -r -a requested <<<"$TIERS"
for tier in "${requested[@]}"; do
  case $tier in
    static | unit | package | cluster | e2e) ;;
    *) echo "test-cluster-tiers: unknown tier '$tier' in CK8S_TIERS=\"$TIERS\" (known: static unit package cluster e2e)" >&2; exit 2 ;;
  esac
done
[[ " $TIERS " == *" cluster "* || " $TIERS " == *" e2e "* ]] || { echo "test-cluster-tiers: CK8S_TIERS=\"$TIERS\" names neither cluster nor e2e" >&2; exit 2; }
echo "[tiers] cluster: ${CK8S_CLUSTER:-?} at KUBECONFIG=$KUBECONFIG, image ${CK8S_TEST_IMAGE:-?}"
if [[ " $TIERS " == *" cluster "* ]]; then
  pnpm turbo run test:cluster --concurrency=1
fi
if [[ " $TIERS " == *" e2e "* ]]; then
  pnpm turbo run test:e2e --concurrency=1
fi
