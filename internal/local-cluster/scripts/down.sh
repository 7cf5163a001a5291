#!/usr/bin/env bash
# Stop every process the local cluster started (by PID), the containers' shims, remove the cgroups the node
# created, the host directories up created, and the state directory. Safe after a failed or partial up.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
[[ -d "$LC_STATE" ]] || { lc_log "no local cluster state at $LC_STATE; nothing to do"; exit 0; }
started_ms=$(lc_now_ms)
exec 9>"$LC_STATE/.lock"
flock -w 60 9 || lc_die "another local-cluster up/down holds $LC_STATE/.lock"
NODE="$LC_STATE/node"
SOCK="$NODE/containerd/containerd.sock"

for pidfile in "$LC_STATE"/pids/portal-*.pid; do [[ -e "$pidfile" ]] && lc_stop_daemon "$(basename "$pidfile" .pid)" 2; done
lc_stop_daemon kube-router 5
lc_stop_daemon coredns 2
lc_stop_daemon kube-proxy 2
lc_stop_daemon kubelet 5
# Kill every container task through containerd, then the shims that served this containerd (they outlive it).
if lc_pid_alive containerd && [[ -S "$SOCK" ]]; then
  for task in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr -a "$SOCK" -n k8s.io tasks kill -s SIGKILL "$task" >/dev/null 2>&1 || true
  done
  sleep 0.5
  for task in $(ctr -a "$SOCK" -n k8s.io tasks ls -q 2>/dev/null); do
    ctr -a "$SOCK" -n k8s.io tasks delete -f "$task" >/dev/null 2>&1 || true
  done
fi
shim_pids() { pgrep -f -- "containerd-shim-runc-v2 .*-address $SOCK" || true; }
for pid in $(shim_pids); do kill -TERM "$pid" 2>/dev/null || true; done
sleep 0.3
for pid in $(shim_pids); do kill -KILL "$pid" 2>/dev/null || true; done
lc_stop_daemon containerd 2  # the state is discarded: no need to wait for a graceful exit
lc_stop_daemon kube-scheduler 3
lc_stop_daemon kube-controller-manager 3
lc_stop_daemon kube-apiserver 2
lc_stop_daemon etcd 5

# Container processes still in the node's cgroups (should be none) are killed, then the cgroups removed.
for hierarchy in /sys/fs/cgroup/*/; do
  root="${hierarchy}kubepods"
  [[ -d "$root" ]] || continue
  while read -r pid; do [[ -n "$pid" ]] && kill -KILL "$pid" 2>/dev/null; done < <(find "$root" -name cgroup.procs -exec cat {} + 2>/dev/null)
done
sleep 0.2
for hierarchy in /sys/fs/cgroup/*/; do
  root="${hierarchy}kubepods"
  [[ -d "$root" ]] && find "$root" -depth -type d -exec rmdir {} + 2>/dev/null
  [[ -d "$root" ]] && lc_log "warning: could not remove $root (still in use?)"
done
# The mount namespace vanished with its last process; nothing was mounted on the host. Remove what up created.
if [[ -f "$LC_STATE/created-host-dirs" ]]; then
  while read -r dir; do [[ -n "$dir" ]] && rmdir "$dir" 2>/dev/null; done < "$LC_STATE/created-host-dirs"
fi
if [[ -f "$LC_STATE/created-netns" ]]; then ip netns del "$(cat "$LC_STATE/created-netns")" 2>/dev/null; fi
flock -u 9
rm -rf "$LC_STATE"
lc_log "down in $(( $(lc_now_ms) - started_ms )) ms"
