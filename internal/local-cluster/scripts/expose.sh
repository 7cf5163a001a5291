#!/usr/bin/env bash
# Expose a TCP service listening on the host's 127.0.0.1:PORT to the pods, at LC_PORTAL_IP:PORT (or --address ADDR,
# an address of the node's network namespace; up.sh exposes the apiserver at LC_POD_GATEWAY) inside the node's
# network namespace. Two socat processes joined by a Unix socket (sockets on the filesystem cross network
# namespaces): one in the host namespace connecting to 127.0.0.1:PORT, one in the node namespace listening on the
# pod bridge. Prints the base URL pods use (http://GATEWAY:PORT). Idempotent.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
port=${1:?usage: expose.sh PORT [--address ADDR]}
address=$LC_PORTAL_IP
if [[ "${2:-}" == "--address" ]]; then address=${3:?usage: expose.sh PORT [--address ADDR]}; fi
[[ "$port" =~ ^[0-9]+$ ]] || lc_die "not a port: $port"
lc_pid_alive containerd || lc_die "the local cluster is not running"
mkdir -p "$LC_STATE/portal"
sock="$LC_STATE/portal/$port.sock"
if ! lc_pid_alive "portal-$port-host"; then
  rm -f "$sock"
  lc_start_daemon "portal-$port-host" socat "UNIX-LISTEN:$sock,fork,mode=600" "TCP:127.0.0.1:$port"
  lc_wait_for "portal socket" 10 test -S "$sock" || lc_die "the host side of the portal for $port did not start"
fi
if ! lc_pid_alive "portal-$port-node"; then
  lc_start_daemon "portal-$port-node" nsenter --net="/run/netns/$LC_NETNS" socat "TCP-LISTEN:$port,bind=$address,fork,reuseaddr" "UNIX-CONNECT:$sock"
  lc_wait_for "portal listener" 10 lc_in_netns ss -Hltn "sport = :$port" || lc_die "the node side of the portal for $port did not start"
fi
echo "http://$address:$port"
