#!/usr/bin/env bash
# Verifies the built images without the cluster: a throwaway private containerd (Debian 1.6) in a private mount
# namespace (tmpfs on /run, so /run/containerd/{s,fifo,runc} stay private), temp root/state/socket, the local
# cluster node's settings (scripts/containerd-config.sh: `restrict_oom_score_adj = true`, as there is no
# CAP_SYS_RESOURCE on these VMs), then `ctr images import` + `ctr run`.
# Leaves nothing behind: containerd and any shim are stopped by PID, cgroups (under a unique parent) and the
# temp dir are removed. Never touches the system containerd service or /etc/containerd.
#   verify-images.sh [PAUSE_TAR AGENT_TAR]     (default: the cached tarballs named by build-images.sh)
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
[[ $(id -u) -eq 0 ]] || img_die "verify-images.sh must run as root"
img_ensure_debs containerd runc jq util-linux

pause_tar="${1:-$(jq -r .tar "$CK8S_IMAGE_CACHE/pause-3.10-ck8s.oci.tar.json" 2>/dev/null || true)}"
agent_tar="${2:-}"
if [[ -z $agent_tar && -f $CK8S_IMAGE_CACHE/agent.ref ]]; then
  r="$(cat "$CK8S_IMAGE_CACHE/agent.ref")"; agent_tar="$CK8S_IMAGE_CACHE/claude-k8s-agent-${r##*:}.oci.tar"
fi
[[ -f $pause_tar && -f $agent_tar ]] || img_die "tarballs not found (pause='$pause_tar' agent='$agent_tar'); run scripts/build-images.sh first"
ref_of() { tar -xOf "$1" index.json | jq -r '.manifests[0].annotations["io.containerd.image.name"]'; }
pause_ref="$(ref_of "$pause_tar")"; agent_ref="$(ref_of "$agent_tar")"
expect_cli="${agent_ref##*:}"; expect_cli="${expect_cli%%-*}"   # the tag starts with the CLI version

work="$(mktemp -d /tmp/ck8s-imgverify.XXXXXX)"
cg="ck8s-imgverify-$$"   # unique cgroup parent for our containers (not the shared /k8s.io)
sock="$work/containerd.sock"
cpid="" nsref=""
# shellcheck disable=SC2317  # runs from the EXIT trap below; shellcheck 0.9 does not see trap-only calls
cleanup() {
  local rc=$? p left=0
  if [[ -n $cpid ]] && kill -0 "$cpid" 2>/dev/null; then
    # Tasks still running (e.g. after a failed check): kill and delete them through containerd first.
    for p in $(c tasks ls -q 2>/dev/null); do c tasks kill -s SIGKILL "$p" >/dev/null 2>&1 || true; done
    for p in $(c containers ls -q 2>/dev/null); do c tasks delete -f "$p" >/dev/null 2>&1 || true; c containers rm "$p" >/dev/null 2>&1 || true; done
    kill -TERM "$cpid" 2>/dev/null || true
    for _ in $(seq 50); do kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
    if kill -0 "$cpid" 2>/dev/null; then kill -KILL "$cpid" 2>/dev/null || true; fi
  fi
  # Any process still in our private mount namespace (a leftover shim) is ours: stop it by PID.
  if [[ -n $nsref ]]; then
    for p in /proc/[0-9]*; do
      if [[ "$(readlink "$p/ns/mnt" 2>/dev/null)" == "$nsref" ]]; then
        img_log "stopping leftover pid ${p#/proc/} ($(tr '\0' ' ' <"$p/cmdline" 2>/dev/null))"; kill -KILL "${p#/proc/}" 2>/dev/null || true; left=1
      fi
    done
    [[ $left == 1 ]] && sleep 0.5
  fi
  # Container processes (other mount namespaces) left in our unique cgroup parent are ours too.
  while read -r p; do
    [[ -n $p ]] || continue
    img_log "stopping leftover container pid $p"; kill -KILL "$p" 2>/dev/null || true; left=1
  done < <(cat /sys/fs/cgroup/pids/"$cg"/*/cgroup.procs 2>/dev/null)
  [[ $left == 1 ]] && sleep 0.5
  find /sys/fs/cgroup/*/"$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
  if ls -d /sys/fs/cgroup/*/"$cg" >/dev/null 2>&1; then img_log "warning: cgroup dirs left: $(ls -d /sys/fs/cgroup/*/"$cg")"; fi
  rm -rf "$work" 2>/dev/null || { sleep 1; rm -rf "$work" || img_log "warning: could not remove $work"; }
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

mkdir -p "$work"/{root,state,runc,cni,opt}
# The local cluster node's containerd configuration, in the temp directory.
"$CK8S_IMAGES_DIR/../scripts/containerd-config.sh" "$work" "$sock" "$pause_ref" "$work/cni" >"$work/config.toml"

t0="$(img_now)"
# shellcheck disable=SC2016  # "$1" is the inner sh's first argument (the config path)
unshare -m --propagation private -- sh -c 'mount -t tmpfs -o mode=0755 tmpfs /run && mkdir -p /run/containerd && exec containerd --config "$1"' sh "$work/config.toml" \
  >"$work/containerd.log" 2>&1 </dev/null &
cpid=$!
c() { nsenter -t "$cpid" -m -- ctr -a "$sock" -n k8s.io "$@"; }
for _ in $(seq 100); do c version >/dev/null 2>&1 && break; kill -0 "$cpid" 2>/dev/null || break; sleep 0.1; done
c version >/dev/null 2>&1 || { tail -20 "$work/containerd.log" >&2; img_die "private containerd did not start"; }
nsref="$(readlink "/proc/$cpid/ns/mnt")"
echo "containerd $(c version 2>/dev/null | awk '/Version/ {print $2; exit}') pid $cpid ready in $(img_elapsed "$t0") s (socket $sock, private mount ns $nsref)"

fail=0
check() { # NAME EXPECTED-REGEX ACTUAL (matched against the output joined into one line)
  local flat; flat="$(tr '\n' ' ' <<<"$3" | sed 's/ *$//')"
  if grep -Eq -- "$2" <<<"$flat"; then echo "  ok   $1: $flat"; else echo "  FAIL $1: expected /$2/, got: $flat"; fail=1; fi
}
for t in "$pause_tar" "$agent_tar"; do
  t1="$(img_now)"; out="$(c images import "$t" 2>&1)" || { echo "$out"; img_die "import of $t failed"; }
  echo "import $(basename "$t") ($(img_human "$(stat -c %s "$t")")) in $(img_elapsed "$t1") s: $(tr '\n' ' ' <<<"$out")"
done
c images ls | awk 'NR == 1 || /localhost\//' | cut -c1-160

run() { local id="$1"; shift; timeout 120 nsenter -t "$cpid" -m -- ctr -a "$sock" -n k8s.io run --rm --net-host --cgroup "/$cg/$id" "$@" </dev/null 2>&1; }
echo "agent image $agent_ref:"
t1="$(img_now)"; out="$(run t1 "$agent_ref" t1 claude --version)" || true
check "claude --version [$(img_elapsed "$t1") s]" "^$expect_cli \(Claude Code\)$" "$out"
out="$(run t2 "$agent_ref" t2 node --version)" || true; check "node --version" '^v24\.' "$out"
out="$(run t3 "$agent_ref" t3 id)" || true; check "id" '^uid=1000\(agent\) gid=1000\(agent\)' "$out"
# shellcheck disable=SC2016  # $(pwd) and $HOME are the container's, expanded by the sh inside it
out="$(run t4 "$agent_ref" t4 sh -c 'echo "pwd=$(pwd) HOME=$HOME"; touch "$HOME/.w" && touch /tmp/.w && echo writable; git --version; bash --version | head -n 1; ps --version; echo "man/doc entries: $(find /usr/share/man /usr/share/doc -type f ! -name copyright | wc -l)"')" || true
check "HOME and /tmp writable, git, bash, procps" 'pwd=/home/agent HOME=/home/agent writable git version .*GNU bash.*procps.*man/doc entries: 0' "$out"
# As the Job runs it: read-only root filesystem, emptyDir-like volumes (host dirs, mode 0777) over HOME and /tmp.
mkdir -p "$work/emptydir-home" "$work/emptydir-tmp"; chmod 0777 "$work/emptydir-home" "$work/emptydir-tmp"
# shellcheck disable=SC2016  # $HOME is the container's, expanded by the sh inside it
out="$(run t5 --read-only --mount "type=bind,src=$work/emptydir-home,dst=/home/agent,options=rbind:rw" \
  --mount "type=bind,src=$work/emptydir-tmp,dst=/tmp,options=rbind:rw" "$agent_ref" t5 \
  sh -c 'touch /usr/x 2>/dev/null && echo rootfs-writable || echo rootfs-read-only; claude --version; mkdir -p "$HOME/.claude" /tmp/claude-1000 && echo home-tmp-ok')" || true
check "read-only rootfs + emptyDir-like HOME,/tmp" 'rootfs-read-only .*Claude Code.* home-tmp-ok' "$out"

echo "pause image $pause_ref:"
timeout 60 nsenter -t "$cpid" -m -- ctr -a "$sock" -n k8s.io run --rm --cgroup "/$cg/p1" "$pause_ref" p1 </dev/null >"$work/p1.out" 2>&1 &
runpid=$!
for _ in $(seq 100); do c tasks ls 2>/dev/null | grep -q '^p1 .*RUNNING' && break; sleep 0.1; done
state="$(c tasks ls 2>/dev/null | awk '$1 == "p1" {print $3}')"
check "pause running ($(c tasks ps p1 2>/dev/null | awk 'NR == 2 {print "pid " $1}'))" '^RUNNING$' "$state"
# Zombie reaping: an exec'd shell leaves an orphan `sleep 1`; the kernel re-parents it to the pause PID 1, which must
# reap it when it exits (else it stays a zombie, state Z, under the pause process). The orphan must not hold the exec's
# stdio, or ctr would wait for it.
ppid1="$(c tasks ls 2>/dev/null | awk '$1 == "p1" {print $2}')"
exec_out="$(c tasks exec --exec-id z1 p1 /bin/sh -c 'sleep 1 </dev/null >/dev/null 2>&1 & exit 0' </dev/null 2>&1)" || echo "  (exec: $exec_out)"
sleep 0.5
orphan="$(for f in /proc/[0-9]*; do if [[ "$(awk '{print $4}' "$f/stat" 2>/dev/null)" == "$ppid1" && "$(tr '\0' ' ' <"$f/cmdline" 2>/dev/null)" == "sleep 1 " ]]; then echo "${f#/proc/}"; fi; done)"
sleep 1.5
zombies="$(awk -v p="$ppid1" '$4 == p && $3 == "Z"' /proc/[0-9]*/stat 2>/dev/null | wc -l)"
check "pause reaps orphans (orphan pid ${orphan:-none} re-parented to pause pid $ppid1; zombies after exit)" '^0$' "$([[ -n $orphan ]] && echo "$zombies" || echo no-orphan-seen)"
t1="$(img_now)"; c tasks kill -s SIGTERM p1 >/dev/null 2>&1 || true
rc=0; wait "$runpid" || rc=$?
check "pause exits on SIGTERM (exit code, after $(img_elapsed "$t1") s)" '^0$' "$rc"

c images rm "$pause_ref" "$agent_ref" >/dev/null 2>&1 || true
echo "verify: $([[ $fail == 0 ]] && echo PASS || echo FAIL) in $(img_elapsed "$t0") s"
exit "$fail"
