#!/usr/bin/env bash
# Builds (or reuses) the pod sandbox image localhost/pause:3.10-ck8s from Debian's busybox-static.
# PID 1 is a busybox sh that traps SIGTERM/SIGINT/SIGHUP and exits 0 at once, and otherwise loops on
# `sleep & wait` (ash's wait uses waitpid(-1), so zombies re-parented to it are reaped).
# Prints the mkimage JSON line on stdout. The tag is fixed (containerd's sandbox_image names it);
# the tarball is cached by an input hash (busybox binary + these scripts).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

PAUSE_REF="${CK8S_PAUSE_REF:-localhost/pause:3.10-ck8s}"
img_ensure_debs busybox-static jq
mkdir -p "$CK8S_IMAGE_CACHE"
name="${PAUSE_REF##*/}"; out="$CK8S_IMAGE_CACHE/${name%%:*}-${name##*:}.oci.tar"

PAUSE_SCRIPT='#!/bin/sh
# claude-k8s pause: exit promptly on SIGTERM/SIGINT/SIGHUP, reap zombies, otherwise sleep forever.
trap "exit 0" TERM INT HUP
while :; do
  sleep 2147483647 &
  wait $!
done
'
inputs_hash="$( { img_sha256 /bin/busybox; printf '%s' "$PAUSE_REF" "$PAUSE_SCRIPT"; cat "$CK8S_IMAGES_DIR/mkimage.sh" "${BASH_SOURCE[0]}"; } | sha256sum | cut -c1-64)"
if [[ -f "$out" && -f "$out.json" && "$(cat "$out.inputs" 2>/dev/null)" == "$inputs_hash" ]]; then
  img_log "pause: reusing $out ($(img_human "$(stat -c %s "$out")"))"
  cat "$out.json"; exit 0
fi

t0="$(img_now)"
rootfs="$(mktemp -d "$CK8S_IMAGE_CACHE/.pause-rootfs.XXXXXX")"
trap 'rm -rf "$rootfs"' EXIT
umask 022
mkdir -p "$rootfs"/{bin,etc,dev,proc,sys,tmp}
chmod 1777 "$rootfs/tmp"
cp /bin/busybox "$rootfs/bin/busybox"
for a in sh sleep; do ln -s busybox "$rootfs/bin/$a"; done
printf '%s' "$PAUSE_SCRIPT" >"$rootfs/pause"; chmod 0755 "$rootfs/pause"
printf 'root:x:0:0:root:/:/bin/sh\nnobody:x:65534:65534:nobody:/:/bin/false\npause:x:65535:65535:pause:/:/bin/false\n' >"$rootfs/etc/passwd"
printf 'root:x:0:\nnogroup:x:65534:\npause:x:65535:\n' >"$rootfs/etc/group"
chown -R 0:0 "$rootfs"; chmod 0755 "$rootfs"

json="$(SOURCE_DATE_EPOCH=0 "$CK8S_IMAGES_DIR/mkimage.sh" --rootfs "$rootfs" --ref "$PAUSE_REF" --out "$out.tmp" \
  --user 65535:65535 --workdir / --env PATH=/bin --entrypoint /pause)"
mv -f "$out.tmp" "$out"
json="$(jq -cS --arg tar "$out" '.tar = $tar' <<<"$json")"
printf '%s\n' "$json" >"$out.json"; printf '%s\n' "$inputs_hash" >"$out.inputs"
img_log "pause: built $PAUSE_REF in $(img_elapsed "$t0") s, tarball $(img_human "$(stat -c %s "$out")") -> $out"
printf '%s\n' "$json"
