#!/usr/bin/env bash
# Shared settings of the local cluster scripts. Everything is overridable through the environment.
CK8S_CACHE="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
K8S_VERSION="${K8S_VERSION:-v1.35.8}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
COREDNS_VERSION="${COREDNS_VERSION:-v1.15.0}"
KUBE_ROUTER_VERSION="${KUBE_ROUTER_VERSION:-v2.1.0}"
# The settings below are read by the scripts that source this file, which shellcheck cannot see from here.
# shellcheck disable=SC2034
{
K8S_BIN="$CK8S_CACHE/bin/kubernetes-$K8S_VERSION"
ETCD_BIN="$CK8S_CACHE/bin/etcd-$ETCD_VERSION"
COREDNS_BIN="$CK8S_CACHE/bin/coredns-$COREDNS_VERSION-ck8s"
KUBE_ROUTER_BIN="$CK8S_CACHE/bin/kube-router-$KUBE_ROUTER_VERSION"
# State of the running cluster (certs, data, logs, pids). Removed by `down`.
LC_STATE="${CK8S_CLUSTER_DIR:-${XDG_STATE_HOME:-$HOME/.local/state}/claude-k8s/cluster}"
LC_HOST=127.0.0.1
LC_APISERVER_PORT="${CK8S_APISERVER_PORT:-16443}"
LC_ETCD_CLIENT_PORT="${CK8S_ETCD_PORT:-23790}"
LC_ETCD_PEER_PORT=$((LC_ETCD_CLIENT_PORT + 10))
LC_KCM_PORT="${CK8S_KCM_PORT:-10357}"
LC_SCHED_PORT="${CK8S_SCHEDULER_PORT:-10359}"
LC_KUBELET_PORT="${CK8S_KUBELET_PORT:-10250}"
LC_KUBELET_HEALTHZ_PORT="${CK8S_KUBELET_HEALTHZ_PORT:-10248}"
LC_NODE_NAME=127.0.0.1
# containerd, the kubelet, kube-proxy, CoreDNS and the pods live in a network namespace the cluster creates (no host
# interface, route or rule changes). Pods get addresses on a bridge inside it; host services on 127.0.0.1 are exposed
# to the namespace at LC_POD_GATEWAY through socat forwarders joined by a Unix socket (expose.sh), and the kubelet's
# port inside it is exposed back to the host's 127.0.0.1 the same way (expose.sh --to-host, from start-kubelet.sh).
LC_NETNS="${CK8S_NETNS:-claude-k8s-node}"
LC_POD_CIDR=10.88.0.0/24
LC_POD_GATEWAY=10.88.0.1
# Where pods reach host services exposed with expose.sh: a second address of the bridge, outside the pod range and
# apart from the apiserver's (LC_POD_GATEWAY), so a NetworkPolicy can allow one without the other.
LC_PORTAL_IP=10.88.1.1
# The node's InternalIP (the bridge's address in the node namespace) and the address node components reach the
# apiserver on (its portal there).
LC_NODE_IP=$LC_POD_GATEWAY
LC_NODE_APISERVER="https://$LC_POD_GATEWAY:$LC_APISERVER_PORT"
LC_SERVICE_CIDR=10.0.0.0/24
LC_KUBERNETES_SERVICE_IP=10.0.0.1
LC_DNS_SERVICE_IP=10.0.0.10
# Node-local DNS: CoreDNS also answers on this link-local address (a second address of the bridge), the
# address NodeLocal DNSCache uses; the kubelet gives it to pods as their nameserver, as clusters with node-local DNS
# do. The kube-dns Service (LC_DNS_SERVICE_IP) reaches the same CoreDNS.
LC_NODE_LOCAL_DNS_IP=169.254.20.10
# Ports inside the node namespace only (its own loopback): no clash with the host's.
LC_KUBE_PROXY_HEALTHZ_PORT=10256
LC_KUBE_PROXY_METRICS_PORT=10249
LC_COREDNS_HEALTH_PORT=10254
LC_COREDNS_READY_PORT=10255
LC_CLUSTER_NAME=claude-k8s-local
LC_SANDBOX_IMAGE="${CK8S_SANDBOX_IMAGE:-localhost/pause:3.10-ck8s}"
# Small enough that the log tests exercise rotation
# (see docs/decisions/local-cluster-audit-log-and-log-rotation.md).
LC_CONTAINER_LOG_MAX_SIZE="${CK8S_CONTAINER_LOG_MAX_SIZE:-8Mi}"
LC_CONTAINER_LOG_MAX_FILES="${CK8S_CONTAINER_LOG_MAX_FILES:-3}"
# Host paths the node's private mount namespace shadows with directories of the state dir.
LC_SHADOW_DIRS=(/run/containerd /var/log/pods /var/log/containers /var/lib/kubelet /var/lib/cni)
# Sysctls the kubelet rewrites on start (setupKernelTunables): shadowed inside the node namespace only.
LC_SHADOW_SYSCTLS=(vm/overcommit_memory:1 vm/panic_on_oom:0 kernel/panic:10 kernel/panic_on_oops:1 kernel/keys/root_maxkeys:1000000 kernel/keys/root_maxbytes:25000000)
}

lc_log() { printf '[local-cluster] %s\n' "$*" >&2; }
lc_die() { printf 'local-cluster: %s\n' "$*" >&2; exit "${2:-1}"; }
lc_now_ms() { date +%s%3N; }

lc_pid_alive() { [[ -f "$LC_STATE/pids/$1.pid" ]] && kill -0 "$(cat "$LC_STATE/pids/$1.pid")" 2>/dev/null; }
lc_pid() { cat "$LC_STATE/pids/$1.pid" 2>/dev/null || true; }

lc_port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# lc_wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds; after
# TIMEOUT_SECONDS, says what it waited for and returns 1.
lc_wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then lc_log "gave up waiting for $what after $timeout s"; return 1; fi
    sleep 0.2
  done
}

lc_in_netns() { nsenter --net="/run/netns/$LC_NETNS" "$@"; }

lc_kubectl() { "$K8S_BIN/kubectl" --kubeconfig "$LC_STATE/pki/admin.kubeconfig" "$@"; }

# Start a daemon in its own session, stdout+stderr to logs/NAME.log, pid to pids/NAME.pid.
lc_start_daemon() {
  local name=$1; shift
  mkdir -p "$LC_STATE/logs" "$LC_STATE/pids" "$LC_STATE/cmd"
  printf '%s\0' "$@" > "$LC_STATE/cmd/$name"
  setsid "$@" >>"$LC_STATE/logs/$name.log" 2>&1 < /dev/null 9>&- &
  echo $! > "$LC_STATE/pids/$name.pid"
}

# The state letter of PID (R, S, D, Z...), empty when there is no such process. /proc/PID/stat reads
# "PID (comm) STATE ...", and comm may contain spaces or parentheses, so the state is read after the last ')'.
lc_process_state() { sed -n 's/.*) \([A-Za-z]\).*/\1/p' "/proc/$1/stat" 2>/dev/null || true; }

# True while PID is a live process. A zombie (exited, not yet reaped by its parent) counts as gone: it holds no
# ports, files or memory any more, and `kill -0` alone would report it alive until its parent waits for it.
lc_process_running() {
  local state
  kill -0 "$1" 2>/dev/null || return 1
  state="$(lc_process_state "$1")"
  [[ "$state" != Z && "$state" != X ]]
}

# lc_wait_gone PID SECONDS: poll every 0.1 s until PID is gone; returns 1 if it is still running after SECONDS of
# wall-clock time (a deadline, not a count of polls: on a loaded machine each poll takes longer than 0.1 s).
lc_wait_gone() {
  local pid=$1 now
  local deadline=$(( ${EPOCHREALTIME/[.,]/} + $2 * 1000000 ))
  while lc_process_running "$pid"; do
    now=${EPOCHREALTIME/[.,]/}
    (( now < deadline )) || return 1
    sleep 0.1
  done
}

# lc_stop_daemon NAME [GRACE_SECONDS=10] [KILL_WAIT_SECONDS=5]: stop a daemon by its recorded PID: SIGTERM, wait up
# to GRACE_SECONDS, SIGKILL, wait up to KILL_WAIT_SECONDS. Never waits longer: a process that outlives SIGKILL (stuck
# in uninterruptible sleep, e.g. on a hung mount) is reported with its state, its pid file is kept, and it returns 1.
lc_stop_daemon() {
  local name=$1 grace=${2:-10} kill_wait=${3:-5} pid
  pid="$(lc_pid "$name")"
  [[ -n "$pid" ]] || return 0
  if lc_process_running "$pid"; then
    kill -TERM "$pid" 2>/dev/null || true
    if ! lc_wait_gone "$pid" "$grace"; then
      kill -KILL "$pid" 2>/dev/null || true
      if ! lc_wait_gone "$pid" "$kill_wait"; then
        lc_log "warning: $name (pid $pid) is still running $kill_wait s after SIGKILL (state: $(lc_process_state "$pid")); left it, see $LC_STATE/pids/$name.pid"
        return 1
      fi
    fi
  fi
  rm -f "$LC_STATE/pids/$name.pid"
}
