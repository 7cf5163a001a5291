#!/usr/bin/env bash
# Start (or restart, with --restart) the kubelet inside the node's mount namespace.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NODE="$LC_STATE/node"
[[ "${1:-}" == "--restart" ]] && lc_stop_daemon kubelet 15
lc_pid_alive containerd || lc_die "containerd is not running; run up first"
lc_start_daemon kubelet nsenter -t "$(lc_pid containerd)" -m -- "$K8S_BIN/kubelet" \
  --config "$NODE/kubelet.yaml" --kubeconfig "$LC_STATE/pki/kubelet.kubeconfig" \
  --root-dir /var/lib/kubelet --hostname-override "$LC_NODE_NAME" --v=1
lc_wait_for kubelet 60 curl -fsS "http://$LC_HOST:$LC_KUBELET_HEALTHZ_PORT/healthz" || lc_die "the kubelet did not become healthy in 60 s (log: $LC_STATE/logs/kubelet.log)"
