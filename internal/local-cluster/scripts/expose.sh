#!/usr/bin/env bash
# A portal between the host's network namespace and the node's, for one TCP port:
#   expose.sh PORT [--address ADDR]   a service on the host's 127.0.0.1:PORT, for the pods at LC_PORTAL_IP:PORT (or
#                                     ADDR, an address of the node's network namespace; up.sh exposes the apiserver
#                                     at LC_POD_GATEWAY). Prints the base URL pods use (http://ADDR:PORT).
#   expose.sh PORT --to-host          the other way: a service on the node namespace's own 127.0.0.1:PORT, for the
#                                     host at its 127.0.0.1:PORT (start-kubelet.sh exposes the kubelet's port so).
# Two socat processes joined by a Unix socket (sockets on the filesystem cross network namespaces): one listening on
# the socket and connecting to the service in the service's namespace, one listening on the port in the other
# namespace. Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
usage="usage: expose.sh PORT [--address ADDR | --to-host]"
port=${1:?$usage}
direction=to-node address=$LC_PORTAL_IP
case "${2:-}" in
  "") ;;
  --address) address=${3:?$usage} ;;
  --to-host) direction=to-host address=$LC_HOST ;;
  *) lc_die "$usage" ;;
esac
[[ "$port" =~ ^[0-9]+$ ]] || lc_die "not a port: $port"
lc_pid_alive containerd || lc_die "the local cluster is not running"
in_node=(nsenter --net="/run/netns/$LC_NETNS")
# NAME: the daemons are portal-NAME-host and portal-NAME-node (after the namespace each runs in), the socket NAME.sock.
if [[ $direction == to-node ]]; then
  name=$port service_side=host listen_side=node service_ns=() listen_ns=("${in_node[@]}")
else
  name=$port-to-host service_side=node listen_side=host service_ns=("${in_node[@]}") listen_ns=()
fi
mkdir -p "$LC_STATE/portal"
sock="$LC_STATE/portal/$name.sock"
listening() { "${listen_ns[@]}" ss -Hltn "sport = :$port" | grep -q .; }
if ! lc_pid_alive "portal-$name-$service_side"; then
  rm -f "$sock"
  lc_start_daemon "portal-$name-$service_side" "${service_ns[@]}" socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:127.0.0.1:$port"
  lc_wait_for "portal socket" 10 test -S "$sock" || lc_die "the $service_side side of the portal for $port did not start"
fi
if ! lc_pid_alive "portal-$name-$listen_side"; then
  lc_start_daemon "portal-$name-$listen_side" "${listen_ns[@]}" socat "TCP-LISTEN:$port,bind=$address,fork,reuseaddr" "UNIX-CONNECT:$sock"
  lc_wait_for "portal listener" 10 listening || lc_die "the $listen_side side of the portal for $port did not start"
fi
if [[ $direction == to-node ]]; then echo "http://$address:$port"; fi
