#!/usr/bin/env bash
# Builds (or reuses from the cache) the local cluster's container images, without Docker or a registry:
#   localhost/pause:3.10-ck8s              pod sandbox image (busybox-static, exits on SIGTERM)
#   localhost/claude-k8s-agent:<tag>       Debian bookworm + Node 24 + Claude Code CLI, user agent (1000)
# as deterministic one-layer OCI image-layout tarballs in ${CLAUDE_K8S_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/claude-k8s}/images,
# ready for `ctr -n k8s.io images import <tar>`. See internal/local-cluster/images/README.md.
#   build-images.sh [--verify]     --verify: also import + run both in a throwaway private containerd
# Last stdout line: {"pause":{"ref":...,"tar":...},"agent":{"ref":...,"tar":...}}. Progress goes to stderr.
# Needs root (mmdebstrap --mode=root, numeric owners); installs missing Debian tools itself.
set -euo pipefail
IMAGES_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")/../images" && pwd)"
# shellcheck source=../images/lib.sh
source "$IMAGES_DIR/lib.sh"

verify=0
for a in "$@"; do
  case "$a" in
    --verify) verify=1 ;;
    -h|--help) sed -n '2,9p' "${BASH_SOURCE[0]}"; exit 0 ;;
    *) img_die "unknown argument '$a' (usage: build-images.sh [--verify])" ;;
  esac
done
[[ $(id -u) -eq 0 ]] || img_die "build-images.sh must run as root (mmdebstrap, numeric file owners in the image)"
img_ensure_debs jq tar gzip coreutils util-linux

t0="$(img_now)"
pause_json="$("$IMAGES_DIR/build-pause.sh")" || img_die "building the pause image failed (see above)"
agent_json="$("$IMAGES_DIR/build-agent.sh")" || img_die "building the agent image failed (see above)"
pause_ref="$(jq -r .ref <<<"$pause_json")"; pause_tar="$(jq -r .tar <<<"$pause_json")"
agent_ref="$(jq -r .ref <<<"$agent_json")"; agent_tar="$(jq -r .tar <<<"$agent_json")"
[[ -f $pause_tar && -f $agent_tar ]] || img_die "image tarballs missing after the build ($pause_tar, $agent_tar)"
img_log "images ready in $(img_elapsed "$t0") s:"
img_log "  $pause_ref  $pause_tar ($(img_human "$(stat -c %s "$pause_tar")"), manifest $(jq -r .manifest <<<"$pause_json"))"
img_log "  $agent_ref  $agent_tar ($(img_human "$(stat -c %s "$agent_tar")"), manifest $(jq -r .manifest <<<"$agent_json"))"
img_log "  import: ctr -n k8s.io images import <tar>   (agent ref also in $CK8S_IMAGE_CACHE/agent.ref)"
if [[ $verify == 1 ]]; then
  "$IMAGES_DIR/verify-images.sh" "$pause_tar" "$agent_tar" >&2 || img_die "image verification failed (see above)"
fi
jq -nc --arg pr "$pause_ref" --arg pt "$pause_tar" --arg ar "$agent_ref" --arg at "$agent_tar" \
  '{pause: {ref: $pr, tar: $pt}, agent: {ref: $ar, tar: $at}}'
