#!/usr/bin/env bash
# Bring up the single-node local cluster: certificates, etcd, kube-apiserver, kube-controller-manager,
# kube-scheduler on the host's loopback; containerd and the kubelet in a private mount namespace and the node's
# network namespace; kube-proxy and CoreDNS in that network namespace (addons.sh); images imported. Ends with the
# node Ready, Services and cluster DNS programmed, the default ServiceAccount present and Pod Security admission
# active. Idempotent: a running, healthy
# cluster is reused; a half-running one is refused with a message (run `down` first).
set -euo pipefail
SCRIPTS="$(cd "$(dirname "$0")" && pwd)"
source "$SCRIPTS/lib.sh"
[[ $(id -u) -eq 0 ]] || lc_die "up needs root (it starts containerd and the kubelet); run it with sudo" 3
started_ms=$(lc_now_ms)
mkdir -p "$LC_STATE"
exec 9>"$LC_STATE/.lock"
flock -n 9 || lc_die "another local-cluster up/down is running (lock $LC_STATE/.lock)" 4

components=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns kube-router)
alive=0; for c in "${components[@]}"; do lc_pid_alive "$c" && alive=$((alive + 1)); done
if (( alive == ${#components[@]} )) && lc_kubectl get --raw=/readyz >/dev/null 2>&1; then
  lc_log "already running and healthy (state $LC_STATE); reusing it"
  "$SCRIPTS/status.sh" --quiet && exit 0
fi
if (( alive > 0 )); then
  lc_die "a local cluster is partly running ($alive of ${#components[@]} components alive, state $LC_STATE); run 'local-cluster down' first" 5
fi

"$SCRIPTS/../../../scripts/ensure-system-deps.sh" cluster
"$SCRIPTS/build-k8s.sh" all
for bin in kube-apiserver kube-controller-manager kube-scheduler kubelet kube-proxy kubectl; do [[ -x "$K8S_BIN/$bin" ]] || lc_die "missing $K8S_BIN/$bin after build" 6; done
[[ -x "$KUBE_ROUTER_BIN/kube-router" ]] || lc_die "missing $KUBE_ROUTER_BIN/kube-router after build" 6

for port in "$LC_APISERVER_PORT" "$LC_ETCD_CLIENT_PORT" "$LC_ETCD_PEER_PORT" "$LC_KCM_PORT" "$LC_SCHED_PORT" "$LC_KUBELET_PORT"; do
  lc_port_in_use "$port" && lc_die "port 127.0.0.1:$port is already in use (ss -ltnp 'sport = :$port'); stop what uses it or set the CK8S_*_PORT variables" 7
done

# A failed up leaves nothing behind.
cleanup_on_failure() { local rc=$?; if (( rc != 0 )); then lc_log "up failed (exit $rc); logs in $LC_STATE/logs; tearing down"; cp -r "$LC_STATE/logs" "${TMPDIR:-/tmp}/claude-k8s-cluster-logs.$$" 2>/dev/null && lc_log "logs kept in ${TMPDIR:-/tmp}/claude-k8s-cluster-logs.$$"; flock -u 9; "$SCRIPTS/down.sh" >&2 || true; fi; }
trap cleanup_on_failure EXIT

step() { lc_log "$* ($(( $(lc_now_ms) - started_ms )) ms)"; }
"$SCRIPTS/certs.sh"
PKI="$LC_STATE/pki"
mkdir -p "$LC_STATE/etcd" "$LC_STATE/logs" "$LC_STATE/pids" "$LC_STATE/node"

step "starting etcd"
lc_start_daemon etcd "$ETCD_BIN/etcd" --name ck8s --data-dir "$LC_STATE/etcd" --logger zap --log-level warn \
  --listen-client-urls "http://$LC_HOST:$LC_ETCD_CLIENT_PORT" --advertise-client-urls "http://$LC_HOST:$LC_ETCD_CLIENT_PORT" \
  --listen-peer-urls "http://$LC_HOST:$LC_ETCD_PEER_PORT" --initial-advertise-peer-urls "http://$LC_HOST:$LC_ETCD_PEER_PORT" \
  --initial-cluster "ck8s=http://$LC_HOST:$LC_ETCD_PEER_PORT" --listen-metrics-urls "" \
  --quota-backend-bytes 2147483648 --unsafe-no-fsync
lc_wait_for etcd 30 curl -fsS "http://$LC_HOST:$LC_ETCD_CLIENT_PORT/health" || lc_die "etcd did not become healthy in 30 s"

step "starting kube-apiserver"
cat > "$LC_STATE/audit-policy.yaml" <<AUDIT
apiVersion: audit.k8s.io/v1
kind: Policy
omitStages: [RequestReceived]
rules:
- level: None
  users: ["system:kube-controller-manager", "system:kube-scheduler", "system:node:$LC_NODE_NAME", "system:apiserver"]
- level: None
  userGroups: ["system:serviceaccounts:kube-system"]
- level: Metadata
AUDIT
lc_start_daemon kube-apiserver "$K8S_BIN/kube-apiserver" \
  --etcd-servers "http://$LC_HOST:$LC_ETCD_CLIENT_PORT" \
  --bind-address "$LC_HOST" --secure-port "$LC_APISERVER_PORT" --advertise-address "$LC_HOST" \
  --endpoint-reconciler-type none \
  --tls-cert-file "$PKI/apiserver.crt" --tls-private-key-file "$PKI/apiserver.key" --client-ca-file "$PKI/ca.crt" \
  --service-account-issuer https://kubernetes.default.svc.cluster.local \
  --service-account-key-file "$PKI/sa.pub" --service-account-signing-key-file "$PKI/sa.key" \
  --service-cluster-ip-range "$LC_SERVICE_CIDR" --authorization-mode Node,RBAC --allow-privileged=true \
  --enable-admission-plugins NodeRestriction \
  --kubelet-client-certificate "$PKI/apiserver-kubelet-client.crt" --kubelet-client-key "$PKI/apiserver-kubelet-client.key" \
  --kubelet-certificate-authority "$PKI/ca.crt" --kubelet-preferred-address-types Hostname,InternalIP \
  --audit-policy-file "$LC_STATE/audit-policy.yaml" --audit-log-path "$LC_STATE/logs/audit.log" \
  --audit-log-maxsize 200 --audit-log-maxbackup 1 --audit-log-format json \
  --profiling=false --v=1
lc_wait_for apiserver 90 lc_kubectl get --raw=/readyz || lc_die "kube-apiserver did not become ready in 90 s (log: $LC_STATE/logs/kube-apiserver.log)"

step "starting kube-controller-manager and kube-scheduler"
lc_start_daemon kube-controller-manager "$K8S_BIN/kube-controller-manager" \
  --kubeconfig "$PKI/controller-manager.kubeconfig" \
  --authentication-kubeconfig "$PKI/controller-manager.kubeconfig" --authorization-kubeconfig "$PKI/controller-manager.kubeconfig" \
  --use-service-account-credentials --service-account-private-key-file "$PKI/sa.key" --root-ca-file "$PKI/ca.crt" \
  --cluster-signing-cert-file "$PKI/ca.crt" --cluster-signing-key-file "$PKI/ca.key" --cluster-name "$LC_CLUSTER_NAME" \
  --leader-elect=false --bind-address "$LC_HOST" --secure-port "$LC_KCM_PORT" --profiling=false --v=1
lc_start_daemon kube-scheduler "$K8S_BIN/kube-scheduler" \
  --kubeconfig "$PKI/scheduler.kubeconfig" \
  --authentication-kubeconfig "$PKI/scheduler.kubeconfig" --authorization-kubeconfig "$PKI/scheduler.kubeconfig" \
  --leader-elect=false --bind-address "$LC_HOST" --secure-port "$LC_SCHED_PORT" --profiling=false --v=1

step "starting containerd in the node's private mount namespace"
NODE="$LC_STATE/node"
mkdir -p "$NODE/containerd" "$NODE/cni/net.d" "$NODE/kubelet-plugins"
: > "$LC_STATE/created-host-dirs"
for dir in "${LC_SHADOW_DIRS[@]}"; do
  if [[ ! -e "$dir" ]]; then mkdir -p "$dir"; echo "$dir" >> "$LC_STATE/created-host-dirs"; fi
done
# The node's network namespace: loopback plus a bridge for the pods, nothing else (no route out of it).
if ! ip netns list | grep -qw "$LC_NETNS"; then ip netns add "$LC_NETNS"; fi
echo "$LC_NETNS" > "$LC_STATE/created-netns"
ip -n "$LC_NETNS" link set lo up
if ! ip -n "$LC_NETNS" link show ck8s0 >/dev/null 2>&1; then
  ip -n "$LC_NETNS" link add ck8s0 type bridge
  ip -n "$LC_NETNS" addr add "$LC_POD_GATEWAY/24" dev ck8s0
  ip -n "$LC_NETNS" link set ck8s0 up
fi
ip -n "$LC_NETNS" addr replace "$LC_PORTAL_IP/32" dev ck8s0
# The node-local DNS address, on the bridge too (a second address; the kernel here has no dummy interfaces).
ip -n "$LC_NETNS" addr replace "$LC_NODE_LOCAL_DNS_IP/32" dev ck8s0
cat > "$NODE/cni/net.d/10-ck8s-bridge.conflist" <<CNI
{"cniVersion": "0.4.0", "name": "claude-k8s-pods", "plugins": [
  {"type": "bridge", "bridge": "ck8s0", "isGateway": true, "ipMasq": false, "hairpinMode": false,
   "ipam": {"type": "host-local", "dataDir": "$NODE/cni/ipam", "ranges": [[{"subnet": "$LC_POD_CIDR", "gateway": "$LC_POD_GATEWAY"}]], "routes": [{"dst": "0.0.0.0/0"}]}},
  {"type": "loopback"}
]}
CNI
"$SCRIPTS/containerd-config.sh" "$NODE/containerd" "$NODE/containerd/containerd.sock" "$LC_SANDBOX_IMAGE" "$NODE/cni/net.d" \
  > "$NODE/containerd.toml"
lc_start_daemon containerd nsenter --net="/run/netns/$LC_NETNS" unshare -m --propagation private "$SCRIPTS/node-ns.sh"
SOCK="$NODE/containerd/containerd.sock"
lc_wait_for containerd 30 ctr -a "$SOCK" version || lc_die "containerd did not start in 30 s (log: $LC_STATE/logs/containerd.log)"

step "importing images"
IMAGES_JSON="$("${CK8S_BUILD_IMAGES_CMD:-$SCRIPTS/build-images.sh}" | tail -n 1)"
echo "$IMAGES_JSON" > "$LC_STATE/images.json"
for key in pause agent; do
  tar="$(jq -r ".$key.tar" <<<"$IMAGES_JSON")"
  ctr -a "$SOCK" -n k8s.io images import "$tar" >/dev/null || lc_die "could not import $tar into containerd"
done
sandbox_ref="$(jq -r .pause.ref <<<"$IMAGES_JSON")"
[[ "$sandbox_ref" == "$LC_SANDBOX_IMAGE" ]] || lc_die "the pause image is $sandbox_ref, containerd expects $LC_SANDBOX_IMAGE"

# The node's components reach the apiserver through its portal in the node namespace (its certificate names
# the gateway address).
step "exposing the apiserver in the node namespace at $LC_POD_GATEWAY:$LC_APISERVER_PORT"
"$SCRIPTS/expose.sh" "$LC_APISERVER_PORT" --address "$LC_POD_GATEWAY" >/dev/null

step "starting kubelet"
cat > "$NODE/kubelet.yaml" <<KUBELET
apiVersion: kubelet.config.k8s.io/v1beta1
kind: KubeletConfiguration
# The node namespace's own loopback (start-kubelet.sh exposes the port to the host's).
address: 127.0.0.1
port: $LC_KUBELET_PORT
readOnlyPort: 0
healthzBindAddress: 127.0.0.1
healthzPort: $LC_KUBELET_HEALTHZ_PORT
tlsCertFile: $PKI/kubelet-serving.crt
tlsPrivateKeyFile: $PKI/kubelet-serving.key
authentication:
  anonymous: {enabled: false}
  webhook: {enabled: false}
  x509: {clientCAFile: $PKI/ca.crt}
authorization: {mode: AlwaysAllow}
containerRuntimeEndpoint: unix://$SOCK
imageServiceEndpoint: unix://$SOCK
cgroupDriver: cgroupfs
failCgroupV1: false
failSwapOn: false
cgroupsPerQOS: true
enforceNodeAllocatable: [pods]
oomScoreAdj: 0
makeIPTablesUtilChains: false
protectKernelDefaults: false
volumePluginDir: $NODE/kubelet-plugins
clusterDomain: cluster.local
clusterDNS: [$LC_NODE_LOCAL_DNS_IP]
resolvConf: /etc/resolv.conf
serializeImagePulls: false
imageGCHighThresholdPercent: 100
imageGCLowThresholdPercent: 99
evictionHard: {memory.available: "100Mi", nodefs.available: "1%", imagefs.available: "1%", nodefs.inodesFree: "1%"}
containerLogMaxSize: $LC_CONTAINER_LOG_MAX_SIZE
containerLogMaxFiles: $LC_CONTAINER_LOG_MAX_FILES
nodeStatusUpdateFrequency: 10s
syncFrequency: 10s
fileCheckFrequency: 20s
rotateCertificates: false
serverTLSBootstrap: false
KUBELET
"$SCRIPTS/start-kubelet.sh"
lc_wait_for "node registered" 60 lc_kubectl get node "$LC_NODE_NAME" || lc_die "the kubelet did not register node $LC_NODE_NAME in 60 s (log: $LC_STATE/logs/kubelet.log)"
lc_kubectl wait --for=condition=Ready "node/$LC_NODE_NAME" --timeout=120s >/dev/null || lc_die "node $LC_NODE_NAME not Ready in 120 s (log: $LC_STATE/logs/kubelet.log)"
lc_wait_for "default service account" 60 lc_kubectl -n default get serviceaccount default || lc_die "the default ServiceAccount did not appear in 60 s (log: $LC_STATE/logs/kube-controller-manager.log)"
step "starting kube-proxy and CoreDNS"
"$SCRIPTS/addons.sh"
step "checking Pod Security admission"
probe_ns="ck8s-psa-probe-$$"
lc_kubectl create namespace "$probe_ns" >/dev/null
lc_kubectl label namespace "$probe_ns" pod-security.kubernetes.io/enforce=restricted >/dev/null
if lc_kubectl -n "$probe_ns" run psa-probe --image="$sandbox_ref" --restart=Never --dry-run=server --privileged >/dev/null 2>&1; then
  lc_kubectl delete namespace "$probe_ns" --wait=false >/dev/null; lc_die "Pod Security admission did not reject a privileged pod in a restricted namespace"
fi
lc_kubectl delete namespace "$probe_ns" --wait=false >/dev/null
trap - EXIT
lc_log "up in $(( $(lc_now_ms) - started_ms )) ms; KUBECONFIG=$PKI/admin.kubeconfig"
"$SCRIPTS/status.sh" --quiet
