#!/usr/bin/env bash
# Deterministic one-layer OCI image-layout tarball from a rootfs directory (tar, gzip -n, sha256sum, jq).
#
#   mkimage.sh --rootfs DIR --ref localhost/NAME:TAG --out FILE.oci.tar \
#              [--user U] [--workdir DIR] [--env K=V]... [--label K=V]... [--entrypoint ARG]... -- CMD...
#
# Determinism: entries sorted by byte order (LC_ALL=C), every mtime = SOURCE_DATE_EPOCH (default 0),
# numeric owners/modes preserved from the rootfs (no user names), no xattrs/ACLs, GNU tar format,
# `gzip -n` (no name/timestamp), config "created" = SOURCE_DATE_EPOCH, canonical JSON (jq -cS).
# Same rootfs + same arguments => byte-identical tarball (with the same tar/gzip versions).
# Import: `ctr -n k8s.io images import FILE` (ref from the index annotation io.containerd.image.name).
# Prints one JSON line on stdout: {"ref","tar","manifest","config","layer","diffId","size","layerSize","rootfsSize"}.
set -euo pipefail
export LC_ALL=C
SDE="${SOURCE_DATE_EPOCH:-0}"

rootfs="" ref="" out="" user="" workdir="" envs=() labels=() entrypoint=() cmd=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rootfs) rootfs="$2"; shift 2 ;;
    --ref) ref="$2"; shift 2 ;;
    --out) out="$2"; shift 2 ;;
    --user) user="$2"; shift 2 ;;
    --workdir) workdir="$2"; shift 2 ;;
    --env) envs+=("$2"); shift 2 ;;
    --label) labels+=("$2"); shift 2 ;;
    --entrypoint) entrypoint+=("$2"); shift 2 ;;
    --) shift; cmd=("$@"); break ;;
    *) echo "mkimage: unknown argument $1" >&2; exit 2 ;;
  esac
done
[[ -d "$rootfs" && -n "$ref" && -n "$out" ]] || { echo "mkimage: --rootfs DIR, --ref and --out are required" >&2; exit 2; }
[[ "$ref" == *:* ]] || { echo "mkimage: --ref must include a tag (NAME:TAG)" >&2; exit 2; }
for t in tar gzip sha256sum jq find sort; do command -v "$t" >/dev/null || { echo "mkimage: $t not found" >&2; exit 3; }; done

tag="${ref##*:}"
out_dir="$(dirname "$out")"; mkdir -p "$out_dir"
work="$(mktemp -d "$out_dir/.mkimage.XXXXXX")"
trap 'rm -rf "$work"' EXIT
blobs="$work/layout/blobs/sha256"; mkdir -p "$blobs"

# 1. Layer: explicit sorted file list (no ./ prefix), numeric owners, fixed mtime.
(cd "$rootfs" && find . -mindepth 1 -printf '%P\0' | sort -z) >"$work/files"
tar -C "$rootfs" --null --no-recursion -T "$work/files" \
  --format=gnu --numeric-owner --mtime="@$SDE" --no-acls --no-xattrs --no-selinux \
  -cf "$work/layer.tar"
rootfs_size=$(stat -c %s "$work/layer.tar")
sha256sum "$work/layer.tar" | cut -d' ' -f1 >"$work/diffid" &
gzip -n -"${MKIMAGE_GZIP_LEVEL:-6}" -c "$work/layer.tar" >"$work/layer.tar.gz"
wait
diff_id="sha256:$(cat "$work/diffid")"
rm -f "$work/layer.tar"
layer_hex="$(sha256sum "$work/layer.tar.gz" | cut -d' ' -f1)"
layer_size=$(stat -c %s "$work/layer.tar.gz")
mv "$work/layer.tar.gz" "$blobs/$layer_hex"

# 2. Config.
created="$(date -u -d "@$SDE" +%Y-%m-%dT%H:%M:%SZ)"
# Each argument JSON-encoded on its own (jq 1.6 would parse a "--version" after --args as its own option).
to_json_array() { if [[ $# -eq 0 ]]; then echo null; else local a; for a in "$@"; do printf '%s' "$a" | jq -Rs .; done | jq -sc .; fi; }
env_json="$(to_json_array "${envs[@]}")"
cmd_json="$(to_json_array "${cmd[@]}")"
ep_json="$(to_json_array "${entrypoint[@]}")"
labels_json="$(if [[ ${#labels[@]} -eq 0 ]]; then echo null; else to_json_array "${labels[@]}" | jq -c 'map(capture("^(?<key>[^=]+)=(?<value>.*)$")) | from_entries'; fi)"
jq -ncS --arg created "$created" --arg user "$user" --arg wd "$workdir" --arg diff "$diff_id" \
  --argjson env "$env_json" --argjson cmd "$cmd_json" --argjson ep "$ep_json" --argjson labels "$labels_json" '
  { architecture: "amd64", os: "linux", created: $created,
    config: ({ User: (if $user == "" then null else $user end), Env: $env, Cmd: $cmd, Entrypoint: $ep,
               WorkingDir: (if $wd == "" then null else $wd end), Labels: $labels } | with_entries(select(.value != null))),
    rootfs: { type: "layers", diff_ids: [ $diff ] },
    history: [ { created: $created, created_by: "claude-k8s mkimage.sh" } ] }' | tr -d '\n' >"$work/config.json"
config_hex="$(sha256sum "$work/config.json" | cut -d' ' -f1)"
config_size=$(stat -c %s "$work/config.json")
mv "$work/config.json" "$blobs/$config_hex"

# 3. Manifest.
jq -ncS --arg c "sha256:$config_hex" --argjson cs "$config_size" --arg l "sha256:$layer_hex" --argjson ls "$layer_size" '
  { schemaVersion: 2, mediaType: "application/vnd.oci.image.manifest.v1+json",
    config: { mediaType: "application/vnd.oci.image.config.v1+json", digest: $c, size: $cs },
    layers: [ { mediaType: "application/vnd.oci.image.layer.v1.tar+gzip", digest: $l, size: $ls } ] }' | tr -d '\n' >"$work/manifest.json"
manifest_hex="$(sha256sum "$work/manifest.json" | cut -d' ' -f1)"
manifest_size=$(stat -c %s "$work/manifest.json")
mv "$work/manifest.json" "$blobs/$manifest_hex"

# 4. Index (the name annotations are what `ctr images import` uses as the image reference) + layout marker.
jq -ncS --arg m "sha256:$manifest_hex" --argjson ms "$manifest_size" --arg ref "$ref" --arg tag "$tag" '
  { schemaVersion: 2, mediaType: "application/vnd.oci.image.index.v1+json",
    manifests: [ { mediaType: "application/vnd.oci.image.manifest.v1+json", digest: $m, size: $ms,
                   platform: { architecture: "amd64", os: "linux" },
                   annotations: { "io.containerd.image.name": $ref, "org.opencontainers.image.ref.name": $tag } } ] }' \
  | tr -d '\n' >"$work/layout/index.json"
printf '{"imageLayoutVersion":"1.0.0"}' >"$work/layout/oci-layout"

# 5. The layout tarball itself: sorted, root-owned, fixed mtime and modes.
tar -C "$work/layout" --sort=name --format=gnu --owner=0 --group=0 --numeric-owner --mtime="@$SDE" \
  --mode='u=rwX,go=rX' -cf "$work/image.tar" oci-layout index.json blobs
mv -f "$work/image.tar" "$out"
jq -ncS --arg ref "$ref" --arg tar "$out" --arg m "sha256:$manifest_hex" --arg c "sha256:$config_hex" \
  --arg l "sha256:$layer_hex" --arg d "$diff_id" --argjson size "$(stat -c %s "$out")" --argjson ls "$layer_size" --argjson rs "$rootfs_size" \
  '{ref: $ref, tar: $tar, manifest: $m, config: $c, layer: $l, diffId: $d, size: $size, layerSize: $ls, rootfsSize: $rs}'
