#!/usr/bin/env bash
# Service routing and cluster DNS for the running local cluster, both inside the node's network namespace only:
#   - the namespace forwards (ip_forward) and passes bridged traffic through netfilter (bridge-nf-call-iptables), so
#     a reply from a Service's backend on the same bridge is translated back; the Service range is routed to the
#     bridge, so processes in the namespace can reach ClusterIPs too;
#   - kube-proxy (nftables mode) programs the Services, including `kubernetes` (10.0.0.1:443 -> the apiserver's
#     portal) and `kube-dns` (10.0.0.10:53 -> CoreDNS);
#   - CoreDNS (built with the kubernetes plugin only, no forwarding) answers for cluster.local on the bridge address
#     (the kube-dns Service's endpoint) and on the node-local DNS address the pods use as their nameserver;
#   - kube-router's firewall controller (no routing, no service proxy) enforces NetworkPolicy with iptables and
#     ipsets of the namespace.
# Nothing of this reaches the host: no host sysctl, route or nftables rule changes. Called by up.sh once the node is
# Ready; idempotent.
set -euo pipefail
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
source "$SCRIPTS/lib.sh"
NODE="$LC_STATE/node"
PKI="$LC_STATE/pki"
lc_pid_alive kubelet || lc_die "the kubelet is not running; run up first"
for bin in "$K8S_BIN/kube-proxy" "$COREDNS_BIN/coredns" "$KUBE_ROUTER_BIN/kube-router"; do [[ -x "$bin" ]] || lc_die "missing $bin (run build-k8s.sh all)"; done
command -v nft >/dev/null || lc_die "kube-proxy's nftables mode needs the nft command (apt-get install nftables)"
for cmd in iptables ipset; do command -v "$cmd" >/dev/null || lc_die "kube-router needs the $cmd command (apt-get install $cmd)"; done

lc_in_netns sysctl -qw net.ipv4.ip_forward=1
lc_in_netns sysctl -qw net.bridge.bridge-nf-call-iptables=1 || lc_die "could not enable bridge-nf-call-iptables in the node namespace (kernel without br_netfilter?)"
ip -n "$LC_NETNS" route replace "$LC_SERVICE_CIDR" dev ck8s0 src "$LC_NODE_IP"

# The Services' backends live outside any pod: their EndpointSlices are written here (the apiserver's endpoint
# reconciler is off, and CoreDNS runs as a node daemon like kube-proxy).
# node_endpoint_slice NAME NAMESPACE SERVICE PORT...: an EndpointSlice of SERVICE whose one ready endpoint is the
# node's address; each PORT is NAME:PROTOCOL:NUMBER.
node_endpoint_slice() {
  local name=$1 namespace=$2 service=$3 port port_name protocol number; shift 3
  cat <<YAML
apiVersion: discovery.k8s.io/v1
kind: EndpointSlice
metadata:
  name: $name
  namespace: $namespace
  labels:
    kubernetes.io/service-name: $service
    endpointslice.kubernetes.io/managed-by: local-cluster.claude-k8s.io
addressType: IPv4
endpoints:
  - addresses: ["$LC_NODE_IP"]
    conditions: {ready: true}
ports:
YAML
  for port in "$@"; do
    IFS=: read -r port_name protocol number <<<"$port"
    echo "  - {name: $port_name, protocol: $protocol, port: $number}"
  done
}
{
  node_endpoint_slice kubernetes-local-cluster default kubernetes "https:TCP:$LC_APISERVER_PORT"
  cat <<YAML
---
apiVersion: v1
kind: Service
metadata:
  name: kube-dns
  namespace: kube-system
  labels: {k8s-app: kube-dns, kubernetes.io/name: CoreDNS}
spec:
  clusterIP: $LC_DNS_SERVICE_IP
  ports:
    - {name: dns, protocol: UDP, port: 53, targetPort: 53}
    - {name: dns-tcp, protocol: TCP, port: 53, targetPort: 53}
---
YAML
  node_endpoint_slice kube-dns-local-cluster kube-system kube-dns dns:UDP:53 dns-tcp:TCP:53
  cat <<YAML
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-cluster:coredns
rules:
  - apiGroups: [""]
    resources: [services, namespaces]
    verbs: [list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-cluster:coredns
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "local-cluster:coredns"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:coredns"}
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRole
metadata:
  name: local-cluster:kube-router
rules:
  - apiGroups: [""]
    resources: [pods, namespaces, nodes, services, endpoints]
    verbs: [get, list, watch]
  - apiGroups: [networking.k8s.io]
    resources: [networkpolicies]
    verbs: [get, list, watch]
  - apiGroups: [discovery.k8s.io]
    resources: [endpointslices]
    verbs: [get, list, watch]
---
apiVersion: rbac.authorization.k8s.io/v1
kind: ClusterRoleBinding
metadata:
  name: local-cluster:kube-router
roleRef: {apiGroup: rbac.authorization.k8s.io, kind: ClusterRole, name: "local-cluster:kube-router"}
subjects:
  - {apiGroup: rbac.authorization.k8s.io, kind: User, name: "system:kube-router"}
YAML
} | lc_kubectl apply -f - >/dev/null

if ! lc_pid_alive kube-proxy; then
  cat > "$NODE/kube-proxy.yaml" <<KP
apiVersion: kubeproxy.config.k8s.io/v1alpha1
kind: KubeProxyConfiguration
clientConnection: {kubeconfig: $PKI/kube-proxy.kubeconfig}
mode: nftables
hostnameOverride: "$LC_NODE_NAME"
clusterCIDR: $LC_POD_CIDR
nodePortAddresses: ["$LC_NODE_IP/32"]
healthzBindAddress: 127.0.0.1:$LC_KUBE_PROXY_HEALTHZ_PORT
metricsBindAddress: 127.0.0.1:$LC_KUBE_PROXY_METRICS_PORT
# 0: leave the kernel's conntrack settings alone (they are not the namespace's own to change).
conntrack: {maxPerCore: 0, min: 0, tcpEstablishedTimeout: 0s, tcpCloseWaitTimeout: 0s, udpTimeout: 0s, udpStreamTimeout: 0s}
KP
  lc_start_daemon kube-proxy nsenter --net="/run/netns/$LC_NETNS" "$K8S_BIN/kube-proxy" --config "$NODE/kube-proxy.yaml" --v=1
fi
if ! lc_pid_alive coredns; then
  cat > "$NODE/Corefile" <<COREFILE
.:53 {
    bind $LC_NODE_IP $LC_NODE_LOCAL_DNS_IP
    errors
    health 127.0.0.1:$LC_COREDNS_HEALTH_PORT
    ready 127.0.0.1:$LC_COREDNS_READY_PORT
    kubernetes cluster.local in-addr.arpa ip6.arpa {
        kubeconfig $PKI/coredns.kubeconfig $LC_CLUSTER_NAME
        pods disabled
        ttl 5
    }
    cache 5
    loadbalance
}
COREFILE
  lc_start_daemon coredns nsenter --net="/run/netns/$LC_NETNS" "$COREDNS_BIN/coredns" -conf "$NODE/Corefile"
fi
if ! lc_pid_alive kube-router; then
  lc_start_daemon kube-router nsenter --net="/run/netns/$LC_NETNS" "$KUBE_ROUTER_BIN/kube-router" \
    --run-firewall=true --run-router=false --run-service-proxy=false --enable-cni=false \
    --enable-ipv4=true --enable-ipv6=false --kubeconfig "$PKI/kube-router.kubeconfig" \
    --hostname-override "$LC_NODE_NAME" --service-cluster-ip-range "$LC_SERVICE_CIDR" \
    --health-port 0 --metrics-port 0 --v=1
fi
lc_wait_for kube-proxy 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_KUBE_PROXY_HEALTHZ_PORT/healthz" || lc_die "kube-proxy did not become healthy in 60 s (log: $LC_STATE/logs/kube-proxy.log)"
# Synced: the DNS Service is programmed.
lc_wait_for "kube-proxy's rule for kube-dns" 60 bash -c "nsenter --net=/run/netns/$LC_NETNS nft list table ip kube-proxy | grep -q '$LC_DNS_SERVICE_IP'" || lc_die "kube-proxy did not program the kube-dns Service in 60 s (log: $LC_STATE/logs/kube-proxy.log)"
lc_wait_for coredns 60 lc_in_netns curl -fsS "http://127.0.0.1:$LC_COREDNS_READY_PORT/ready" || lc_die "CoreDNS did not become ready in 60 s (log: $LC_STATE/logs/coredns.log)"
lc_wait_for kube-router 60 lc_in_netns iptables -S KUBE-ROUTER-FORWARD || lc_die "kube-router did not set up its firewall chains in 60 s (log: $LC_STATE/logs/kube-router.log)"
