#!/usr/bin/env bash
# Start (or restart, with --restart) the kubelet inside the node's mount and network namespaces (joined through
# containerd's pid). It reaches the apiserver through the apiserver's portal in the namespace, serves on the
# namespace's 127.0.0.1, and that port is exposed back to the host's 127.0.0.1 (the apiserver's logs, exec and
# port-forward) through a portal (expose.sh --to-host). Probes, exec and port-forward then run where the pods and
# containerd's stream server are, and nothing of the node reaches the host's network.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NODE="$LC_STATE/node"
[[ "${1:-}" == "--restart" ]] && lc_stop_daemon kubelet 15
lc_pid_alive containerd || lc_die "containerd is not running; run up first"
lc_start_daemon kubelet nsenter -t "$(lc_pid containerd)" -m -n -- "$K8S_BIN/kubelet" \
  --config "$NODE/kubelet.yaml" --kubeconfig "$LC_STATE/pki/kubelet.kubeconfig" \
  --root-dir /var/lib/kubelet --hostname-override "$LC_NODE_NAME" --node-ip "$LC_NODE_IP" --v=1
lc_wait_for kubelet 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_KUBELET_HEALTHZ_PORT/healthz" || lc_die "the kubelet did not become healthy in 60 s (log: $LC_STATE/logs/kubelet.log)"
"$(dirname "$0")/expose.sh" "$LC_KUBELET_PORT" --to-host
