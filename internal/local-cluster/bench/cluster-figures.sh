#!/usr/bin/env bash
# Prints the local cluster's figures: warm `up` time to node Ready, Job created -> container running latency
# (median of N), control-plane memory at idle (RSS per component), and `down` time. Run as root with the binaries
# and images already built (a warm cache); the cold build time is printed by build-k8s.sh / build-images.sh.
set -euo pipefail
HERE="$(cd "$(dirname "$0")" && pwd)"
LC="$HERE/../bin/local-cluster"
source "$HERE/../scripts/lib.sh"
N="${1:-10}"
"$LC" down >/dev/null 2>&1 || true
t0=$(lc_now_ms); "$LC" up >/dev/null; up_ms=$(( $(lc_now_ms) - t0 ))
eval "$("$LC" env)"
K="$K8S_BIN/kubectl"
ns=ck8s-figures; $K create namespace $ns >/dev/null
until $K -n $ns get serviceaccount default >/dev/null 2>&1; do sleep 0.2; done
latencies=()
for i in $(seq 1 "$N"); do
  t_create=$(lc_now_ms)
  cat <<JOB | $K -n $ns create -f - >/dev/null
apiVersion: batch/v1
kind: Job
metadata: {name: latency-$i}
spec:
  backoffLimit: 0
  template:
    spec:
      restartPolicy: Never
      hostNetwork: true
      automountServiceAccountToken: false
      containers: [{name: main, image: $CK8S_TEST_IMAGE, imagePullPolicy: Never, command: [sh, -c, "sleep 3"]}]
JOB
  created_ms=$t_create
  # Client-side clock, ~0.1 s resolution (each probe is one kubectl call): the API's own timestamps are whole seconds.
  until [[ "$("$K" -n "$ns" get pods -l "job-name=latency-$i" -o jsonpath='{.items[0].status.containerStatuses[0].started}' 2>/dev/null)" == true ]]; do :; done
  latencies+=("$(( $(lc_now_ms) - created_ms ))")
done
mapfile -t sorted < <(printf '%s\n' "${latencies[@]}" | sort -n)
median=${sorted[$(( N / 2 ))]}
sleep 5
rss() { local pid; pid=$(lc_pid "$1"); awk '/VmRSS/ {printf "%d", $2/1024}' "/proc/$pid/status"; }
mem_json=""; total=0
for c in etcd kube-apiserver kube-controller-manager kube-scheduler containerd kubelet; do r=$(rss $c); total=$((total + r)); mem_json+="${mem_json:+, }\"$c\": $r"; done
$K delete namespace $ns --wait=false >/dev/null
t0=$(lc_now_ms); "$LC" down >/dev/null 2>&1; down_ms=$(( $(lc_now_ms) - t0 ))
echo "warm up to node Ready: ${up_ms} ms"
echo "job created -> container running median of $N: ${median} ms (all: ${latencies[*]})"
echo "control plane + node RSS at idle (MiB): {$mem_json}, total ${total} MiB"
echo "down: ${down_ms} ms"
