#!/usr/bin/env bash
# Runs inside `unshare -m --propagation private`: shadows the host paths and sysctls the node components would
# touch with files and directories of the state dir, then becomes containerd. The kubelet later joins this mount
# namespace (nsenter -t <containerd pid> -m), so volume mounts it makes are visible to runc, and nothing of it
# reaches the host's mount table.
set -euo pipefail
source "$(dirname "$0")/lib.sh"
NODE="$LC_STATE/node"
mount --make-rprivate /
for dir in "${LC_SHADOW_DIRS[@]}"; do
  src="$NODE/shadow${dir}"
  mkdir -p "$src"
  mount --bind "$src" "$dir"
done
mount -t tmpfs -o mode=0711 tmpfs /run/containerd
for entry in "${LC_SHADOW_SYSCTLS[@]}"; do
  key=${entry%%:*} value=${entry#*:}
  file="$NODE/sysctl/${key//\//.}"
  mkdir -p "$NODE/sysctl"
  printf '%s\n' "$value" > "$file"
  mount --bind "$file" "/proc/sys/$key"
done
exec containerd --config "$NODE/containerd.toml"
