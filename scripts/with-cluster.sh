#!/usr/bin/env bash
# Run a command against a Kubernetes cluster: the one given through KUBECONFIG, or else the repository's local
# cluster (built and started here, and stopped afterwards unless it was already running or CK8S_KEEP_CLUSTER=1).
# The command sees KUBECONFIG, CK8S_CLUSTER (local|external) and, for the local cluster, CK8S_TEST_IMAGE.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
LC="$ROOT/internal/local-cluster/bin/local-cluster"
if [[ -n "${KUBECONFIG:-}" ]]; then
  export CK8S_CLUSTER="${CK8S_CLUSTER:-external}"
  echo "[with-cluster] using the cluster of KUBECONFIG=$KUBECONFIG ($(kubectl_server="$(grep -m1 'server:' "${KUBECONFIG%%:*}" | awk '{print $2}')"; echo "${kubectl_server:-unknown server}"))" >&2
  exec "$@"
fi
started_here=0
if ! "$LC" status --quiet >/dev/null 2>&1; then
  started_here=1
  "$LC" up >&2
else
  echo "[with-cluster] reusing the running local cluster" >&2
fi
eval "$("$LC" env)"
echo "[with-cluster] local cluster: KUBECONFIG=$KUBECONFIG image=${CK8S_TEST_IMAGE:-?}" >&2
rc=0
"$@" || rc=$?
if [[ $started_here == 1 && "${CK8S_KEEP_CLUSTER:-0}" != 1 ]]; then "$LC" down >&2 || true; fi
exit $rc
