#!/usr/bin/env bash
# Shared settings of the local cluster scripts. Everything is overridable through the environment.
CK8S_CACHE="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
K8S_VERSION="${K8S_VERSION:-v1.35.8}"
ETCD_VERSION="${ETCD_VERSION:-v3.6.16}"
K8S_BIN="$CK8S_CACHE/bin/kubernetes-$K8S_VERSION"
ETCD_BIN="$CK8S_CACHE/bin/etcd-$ETCD_VERSION"
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
# containerd and the pods live in a network namespace the cluster creates (no host interface, route or rule changes).
# Pods get addresses on a bridge inside it; host services on 127.0.0.1 are exposed to pods at LC_POD_GATEWAY through
# socat forwarders joined by a Unix socket (expose.sh).
LC_NETNS="${CK8S_NETNS:-claude-k8s-node}"
LC_POD_CIDR=10.88.0.0/24
LC_POD_GATEWAY=10.88.0.1
LC_CLUSTER_NAME=claude-k8s-local
LC_SANDBOX_IMAGE="${CK8S_SANDBOX_IMAGE:-localhost/pause:3.10-ck8s}"
# Small enough that the log tests exercise rotation (see docs/decisions.md, "kubelet log rotation").
LC_CONTAINER_LOG_MAX_SIZE="${CK8S_CONTAINER_LOG_MAX_SIZE:-8Mi}"
LC_CONTAINER_LOG_MAX_FILES="${CK8S_CONTAINER_LOG_MAX_FILES:-3}"
# Host paths the node's private mount namespace shadows with directories of the state dir.
LC_SHADOW_DIRS=(/run/containerd /var/log/pods /var/log/containers /var/lib/kubelet /var/lib/cni)
# Sysctls the kubelet rewrites on start (setupKernelTunables): shadowed inside the node namespace only.
LC_SHADOW_SYSCTLS=(vm/overcommit_memory:1 vm/panic_on_oom:0 kernel/panic:10 kernel/panic_on_oops:1 kernel/keys/root_maxkeys:1000000 kernel/keys/root_maxbytes:25000000)

lc_log() { printf '[local-cluster] %s\n' "$*" >&2; }
lc_die() { printf 'local-cluster: %s\n' "$*" >&2; exit "${2:-1}"; }
lc_now_ms() { date +%s%3N; }

lc_pid_alive() { [[ -f "$LC_STATE/pids/$1.pid" ]] && kill -0 "$(cat "$LC_STATE/pids/$1.pid")" 2>/dev/null; }
lc_pid() { cat "$LC_STATE/pids/$1.pid" 2>/dev/null || true; }

lc_port_in_use() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# wait_for DESCRIPTION TIMEOUT_SECONDS COMMAND...: retry COMMAND every 0.2 s until it succeeds.
lc_wait_for() {
  local what=$1 timeout=$2; shift 2
  local deadline=$((SECONDS + timeout))
  until "$@" >/dev/null 2>&1; do
    if (( SECONDS >= deadline )); then return 1; fi
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

# Stop a daemon by its recorded PID: SIGTERM, wait, SIGKILL.
lc_stop_daemon() {
  local name=$1 grace=${2:-10} pid
  pid="$(lc_pid "$name")"
  [[ -n "$pid" ]] || return 0
  if kill -0 "$pid" 2>/dev/null; then
    kill -TERM "$pid" 2>/dev/null || true
    local deadline=$((SECONDS + grace))
    while kill -0 "$pid" 2>/dev/null && (( SECONDS < deadline )); do sleep 0.1; done
    kill -0 "$pid" 2>/dev/null && kill -KILL "$pid" 2>/dev/null || true
    while kill -0 "$pid" 2>/dev/null; do sleep 0.1; done
  fi
  rm -f "$LC_STATE/pids/$name.pid"
}
