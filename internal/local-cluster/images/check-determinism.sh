#!/usr/bin/env bash
# Determinism check: builds both images twice from scratch (two fresh temp caches, so mmdebstrap runs twice)
# and compares the tarballs' sha256. Exit 0 iff identical. Takes ~2-3 min on 2 vCPU.
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"
base="$(mktemp -d /tmp/ck8s-determinism.XXXXXX)"
trap 'rm -rf "$base"' EXIT
for run in a b; do
  t0="$(img_now)"
  CLAUDE_K8S_CACHE="$base/$run" "$CK8S_ROOT/internal/local-cluster/scripts/build-images.sh" >"$base/$run.json" 2>"$base/$run.log" \
    || { cat "$base/$run.log" >&2; img_die "build $run failed"; }
  img_log "build $run: $(img_elapsed "$t0") s"
done
rc=0
for key in pause agent; do
  a="$(jq -r ".$key.tar" "$base/a.json")"; b="$(jq -r ".$key.tar" "$base/b.json")"
  sa="$(img_sha256 "$a")"; sb="$(img_sha256 "$b")"
  if [[ $sa == "$sb" && "$(jq -r ".$key.ref" "$base/a.json")" == "$(jq -r ".$key.ref" "$base/b.json")" ]]; then
    echo "$key: identical  $(jq -r ".$key.ref" "$base/a.json")  sha256 $sa"
  else
    echo "$key: DIFFERENT  $a ($sa) vs $b ($sb)"; rc=1
  fi
done
exit "$rc"
