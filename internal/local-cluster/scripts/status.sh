#!/usr/bin/env bash
# Print the state of the local cluster as one JSON line (and a human summary unless --quiet).
# Exit 0 when every component runs and the node is Ready, 1 otherwise.
set -uo pipefail
source "$(dirname "$0")/lib.sh"
quiet=0; [[ "${1:-}" == "--quiet" ]] && quiet=1
components=(etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet kube-proxy coredns kube-router)
json_components=""; all=1
for c in "${components[@]}"; do
  if lc_pid_alive "$c"; then state="\"running\",\"pid\":$(lc_pid "$c")"; else state="\"stopped\""; all=0; fi
  json_components+="${json_components:+,}\"$c\":{\"state\":$state}"
done
ready=false
if (( all )) && [[ "$(lc_kubectl get node "$LC_NODE_NAME" -o jsonpath='{.status.conditions[?(@.type=="Ready")].status}' 2>/dev/null)" == "True" ]]; then ready=true; fi
images="$(cat "$LC_STATE/images.json" 2>/dev/null || echo null)"
printf '{"running":%s,"nodeReady":%s,"kubeconfig":"%s","server":"https://%s:%s","state":"%s","version":"%s","images":%s,"components":{%s}}\n' \
  "$([[ $all == 1 ]] && echo true || echo false)" "$ready" "$LC_STATE/pki/admin.kubeconfig" "$LC_HOST" "$LC_APISERVER_PORT" "$LC_STATE" "$K8S_VERSION" "$images" "$json_components"
(( quiet )) || lc_log "node Ready: $ready; export KUBECONFIG=$LC_STATE/pki/admin.kubeconfig"
[[ $ready == true ]]
