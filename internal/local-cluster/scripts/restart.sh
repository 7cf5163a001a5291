#!/usr/bin/env bash
# Restart one component of the running local cluster with the exact command line it was started with
# (for tests that prove behaviour across an apiserver or kubelet restart). Usage: restart.sh COMPONENT [DOWNTIME_SECONDS]
set -euo pipefail
source "$(dirname "$0")/lib.sh"
name=${1:?usage: restart.sh etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|coredns|kube-router [downtime-seconds]}
downtime=${2:-0}
stop_only=0; [[ "$downtime" == "--stop-only" ]] && { stop_only=1; downtime=0; }
case $name in etcd|kube-apiserver|kube-controller-manager|kube-scheduler|kubelet|kube-proxy|coredns|kube-router) ;; containerd) lc_die "restarting containerd would drop the node's mount namespace; use down/up" ;; *) lc_die "unknown component '$name'" ;; esac
[[ -f "$LC_STATE/cmd/$name" ]] || lc_die "$name was not started by this local cluster (no $LC_STATE/cmd/$name)"
mapfile -d '' argv < "$LC_STATE/cmd/$name"
lc_stop_daemon "$name" 15
if (( stop_only )); then lc_log "stopped $name"; exit 0; fi
sleep "$downtime"
lc_start_daemon "$name" "${argv[@]}"
case $name in
  kube-apiserver) lc_wait_for apiserver 90 lc_kubectl get --raw=/readyz || lc_die "kube-apiserver not ready after restart" ;;
  kubelet) lc_wait_for kubelet 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_KUBELET_HEALTHZ_PORT/healthz" || lc_die "kubelet not healthy after restart" ;;
  kube-proxy) lc_wait_for kube-proxy 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_KUBE_PROXY_HEALTHZ_PORT/healthz" || lc_die "kube-proxy not healthy after restart" ;;
  kube-router) lc_wait_for kube-router 60 lc_in_netns iptables -S KUBE-ROUTER-FORWARD || lc_die "kube-router's chains missing after restart" ;;
  coredns) lc_wait_for coredns 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_COREDNS_READY_PORT/ready" || lc_die "CoreDNS not ready after restart" ;;
  etcd) lc_wait_for etcd 30 curl -fsS "http://$LC_HOST:$LC_ETCD_CLIENT_PORT/health" || lc_die "etcd not healthy after restart" ;;
esac
lc_log "restarted $name (pid $(lc_pid "$name"))"
