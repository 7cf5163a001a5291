#!/usr/bin/env bash
# PKI for the local cluster with openssl only: a CA, serving certs, client certs and kubeconfigs.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
PKI="$LC_STATE/pki"
mkdir -p "$PKI" && cd "$PKI"
[[ -f ca.crt && -f admin.kubeconfig ]] && exit 0
umask 077
openssl_q() { openssl "$@" 2>/dev/null; }
openssl_q genrsa -out ca.key 2048
openssl_q req -x509 -new -nodes -key ca.key -subj "/CN=claude-k8s-local-ca" -days 3650 -out ca.crt
openssl_q genrsa -out sa.key 2048
openssl_q rsa -in sa.key -pubout -out sa.pub

# cert NAME CN O SANS(comma-separated openssl SAN list or "") USAGE(serverAuth|clientAuth|both)
cert() {
  local name=$1 cn=$2 o=$3 sans=$4 usage=$5 subj="/CN=$2"
  [[ -n "$o" ]] && subj="/O=$o/CN=$cn"
  local eku
  case $usage in server) eku=serverAuth ;; client) eku=clientAuth ;; both) eku=serverAuth,clientAuth ;; esac
  {
    echo "basicConstraints=CA:FALSE"
    echo "keyUsage=critical,digitalSignature,keyEncipherment"
    echo "extendedKeyUsage=$eku"
    [[ -n "$sans" ]] && echo "subjectAltName=$sans"
  } > "$name.ext"
  openssl_q genrsa -out "$name.key" 2048
  openssl_q req -new -key "$name.key" -subj "$subj" -out "$name.csr"
  openssl_q x509 -req -in "$name.csr" -CA ca.crt -CAkey ca.key -CAcreateserial -days 3650 -extfile "$name.ext" -out "$name.crt"
  rm -f "$name.csr" "$name.ext"
}
cert apiserver kube-apiserver "" "IP:127.0.0.1,IP:$LC_KUBERNETES_SERVICE_IP,IP:$LC_POD_GATEWAY,DNS:localhost,DNS:kubernetes,DNS:kubernetes.default,DNS:kubernetes.default.svc,DNS:kubernetes.default.svc.cluster.local" server
cert apiserver-kubelet-client kube-apiserver-kubelet-client system:masters "" client
cert admin claude-k8s-admin system:masters "" client
cert controller-manager system:kube-controller-manager "" "" client
cert scheduler system:kube-scheduler "" "" client
cert kubelet "system:node:$LC_NODE_NAME" system:nodes "" client
cert kubelet-serving "$LC_NODE_NAME" "" "IP:127.0.0.1,IP:$LC_NODE_IP,DNS:localhost" server
cert kube-proxy system:kube-proxy "" "" client
cert coredns system:coredns "" "" client
cert kube-router system:kube-router "" "" client

# kubeconfig NAME USER_CERT [SERVER]: components in the node's network namespace reach the apiserver through its
# portal there (LC_NODE_APISERVER), the others on the host's loopback.
kubeconfig() {
  local name=$1 user=$2 server=${3:-https://$LC_HOST:$LC_APISERVER_PORT}
  cat > "$name.kubeconfig" <<KC
apiVersion: v1
kind: Config
clusters:
- name: $LC_CLUSTER_NAME
  cluster:
    server: $server
    certificate-authority-data: $(base64 -w0 < ca.crt)
users:
- name: $name
  user:
    client-certificate-data: $(base64 -w0 < "$user.crt")
    client-key-data: $(base64 -w0 < "$user.key")
contexts:
- name: $LC_CLUSTER_NAME
  context: {cluster: $LC_CLUSTER_NAME, user: $name, namespace: default}
current-context: $LC_CLUSTER_NAME
KC
}
kubeconfig admin admin
kubeconfig controller-manager controller-manager
kubeconfig scheduler scheduler
kubeconfig kubelet kubelet "$LC_NODE_APISERVER"
kubeconfig kube-proxy kube-proxy "$LC_NODE_APISERVER"
kubeconfig coredns coredns "$LC_NODE_APISERVER"
kubeconfig kube-router kube-router "$LC_NODE_APISERVER"
chmod 644 ca.crt
