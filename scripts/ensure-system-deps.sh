#!/usr/bin/env bash
# Installs the Debian packages the test tiers and the main job need, when missing (idempotent, quiet when present).
#   scripts/ensure-system-deps.sh cluster   containerd, runc, CNI plugins, jq, iproute2, util-linux, openssl, nftables, iptables, ipset
#   scripts/ensure-system-deps.sh browser   Debian's chromium (for the UI tests)
#   scripts/ensure-system-deps.sh image     mmdebstrap, busybox-static (for building the agent image)
#   scripts/ensure-system-deps.sh lint      shellcheck (the static tier's shell script check)
set -euo pipefail
declare -A GROUPS_=(
  [cluster]="containerd runc containernetworking-plugins jq iproute2 util-linux openssl procps socat curl nftables iptables ipset"
  [browser]="chromium"
  [image]="mmdebstrap busybox-static jq"
  [lint]="shellcheck"
)
want=()
for group in "${@:-cluster browser image lint}"; do
  for group_name in $group; do
    [[ -n "${GROUPS_[$group_name]:-}" ]] || { echo "ensure-system-deps: unknown group '$group_name' (cluster, browser, image, lint)" >&2; exit 2; }
    for pkg in ${GROUPS_[$group_name]}; do
      dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || want+=("$pkg")
    done
  done
done
[[ ${#want[@]} -eq 0 ]] && exit 0
if [[ $(id -u) -ne 0 ]]; then
  echo "ensure-system-deps: these Debian packages are missing and installing them needs root: ${want[*]}" >&2
  echo "  run: sudo apt-get install -y --no-install-recommends ${want[*]}" >&2
  exit 3
fi
echo "[system-deps] installing: ${want[*]}" >&2
export DEBIAN_FRONTEND=noninteractive
apt_opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
# Do not let package scripts start services (containerd, etcd) on the host: the cluster runs its own instances.
policy=/usr/sbin/policy-rc.d
created_policy=0
if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; created_policy=1; fi
trap '[[ $created_policy == 1 ]] && rm -f "$policy"' EXIT
if ! apt-get "${apt_opts[@]}" install -y --no-install-recommends "${want[@]}" >/tmp/ck8s-apt.$$.log 2>&1; then
  apt-get "${apt_opts[@]}" update >/dev/null 2>&1 || true
  apt-get "${apt_opts[@]}" install -y --no-install-recommends "${want[@]}" >/tmp/ck8s-apt.$$.log 2>&1 || { tail -20 /tmp/ck8s-apt.$$.log >&2; echo "ensure-system-deps: apt-get install failed" >&2; exit 4; }
fi
rm -f /tmp/ck8s-apt.$$.log
