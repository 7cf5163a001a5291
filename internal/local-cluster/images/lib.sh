# Shared helpers for the image build scripts (sourced, not executed).
# shellcheck shell=bash

CK8S_IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CK8S_ROOT="${CK8S_ROOT:-$(cd "$CK8S_IMAGES_DIR/../../.." && pwd)}"
CK8S_CACHE="${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}"
# shellcheck disable=SC2034  # used by the build scripts that source this file
CK8S_IMAGE_CACHE="$CK8S_CACHE/images"
# The Debian mirror: the only non-npm network endpoint used.
CK8S_DEBIAN_MIRROR="${CK8S_DEBIAN_MIRROR:-http://deb.debian.org/debian}"
CK8S_DEBIAN_SECURITY_MIRROR="${CK8S_DEBIAN_SECURITY_MIRROR:-http://deb.debian.org/debian-security}"
CK8S_DEBIAN_SUITE="${CK8S_DEBIAN_SUITE:-bookworm}"

img_log() { printf '[images] %s\n' "$*" >&2; }
img_die() { printf '[images] ERROR: %s\n' "$*" >&2; exit 1; }

# img_now: seconds since epoch with fractions (for timings).
img_now() { date +%s.%N; }
img_elapsed() { awk -v a="$1" -v b="$(img_now)" 'BEGIN { printf "%.1f", b - a }'; }
img_human() { numfmt --to=iec --suffix=B --format='%.1f' "$1" 2>/dev/null || echo "${1}B"; }

# img_ensure_debs PKG...: installs missing Debian packages (idempotent; never starts services).
img_ensure_debs() {
  local want=() pkg
  for pkg in "$@"; do
    dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'install ok installed' || want+=("$pkg")
  done
  [[ ${#want[@]} -eq 0 ]] && return 0
  [[ $(id -u) -eq 0 ]] || img_die "missing Debian packages (need root to install): ${want[*]}"
  img_log "installing Debian packages: ${want[*]}"
  local policy=/usr/sbin/policy-rc.d created=0 log rc=0
  if [[ ! -e $policy ]]; then printf '#!/bin/sh\nexit 101\n' >"$policy"; chmod +x "$policy"; created=1; fi
  log="$(mktemp)"
  local opts=(-o DPkg::Lock::Timeout=600 -o Acquire::Retries=3)
  DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "${want[@]}" >"$log" 2>&1 || {
    DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" update >>"$log" 2>&1 || true
    DEBIAN_FRONTEND=noninteractive apt-get "${opts[@]}" install -y --no-install-recommends "${want[@]}" >>"$log" 2>&1 || rc=$?
  }
  [[ $created == 1 ]] && rm -f "$policy"
  if [[ $rc -ne 0 ]]; then tail -20 "$log" >&2; rm -f "$log"; img_die "apt-get install ${want[*]} failed"; fi
  rm -f "$log"
}

# img_fetch URL FILE: downloads a small file from the Debian mirror (curl if present, else apt's own helper).
img_fetch() {
  if command -v curl >/dev/null 2>&1; then
    curl -fsS --retry 2 --max-time 60 -o "$2" "$1"
  else
    /usr/lib/apt/apt-helper download-file "$1" "$2" >/dev/null
  fi
}

img_sha256() { sha256sum "$1" | cut -d' ' -f1; }
