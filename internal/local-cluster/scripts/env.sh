#!/usr/bin/env bash
# Print shell exports for the running local cluster: KUBECONFIG and the image refs the tests use.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
[[ -f "$LC_STATE/pki/admin.kubeconfig" ]] || lc_die "no local cluster at $LC_STATE; run 'local-cluster up'"
echo "export KUBECONFIG=$LC_STATE/pki/admin.kubeconfig"
echo "export CK8S_CLUSTER=local"
echo "export CK8S_POD_GATEWAY=$LC_POD_GATEWAY"
if [[ -f "$LC_STATE/images.json" ]]; then
  echo "export CK8S_TEST_IMAGE=$(jq -r .agent.ref "$LC_STATE/images.json")"
  echo "export CK8S_PAUSE_IMAGE=$(jq -r .pause.ref "$LC_STATE/images.json")"
fi
