#!/usr/bin/env bash
# Install the pinned real Claude Code CLI (npm @anthropic-ai/claude-code) into the project cache and print the path of
# its `claude` executable as the last line on stdout. Idempotent: a finished install is detected by a marker file and
# the second run returns at once.
#
#   scripts/ensure-claude-cli.sh            # -> $CK8S_ROOT/.cache/claude-code/<version>/bin/claude
#   scripts/ensure-claude-cli.sh /opt/cc    # -> /opt/cc/bin/claude (any destination directory)
#   CLAUDE_CODE_VERSION=2.1.331 scripts/ensure-claude-cli.sh
#
# Layout of the install directory (self-contained; copy it as a whole, e.g. into a container image):
#   <dir>/package.json                                        pins the version (written by npm)
#   <dir>/node_modules/@anthropic-ai/claude-code/             the wrapper package (bin/claude.exe = native binary)
#   <dir>/node_modules/@anthropic-ai/claude-code-linux-x64/   the platform package (claude = native binary)
#   <dir>/bin/claude -> ../node_modules/@anthropic-ai/claude-code/bin/claude.exe   (relative symlink)
#   <dir>/.ck8s-installed                                     marker: the verified version string
# The native binary is a self-contained ELF linked against glibc only; Node is needed only at install time.
#
# npm is the system npm (any npm >= 9; the toolchain's Node 24 ships without npm). npm 11 may not run dependency
# install scripts unless allowed (`allow-scripts`), so the script allows the one postinstall it needs and, if the
# postinstall still did not put the native binary in place, links it itself. Either way `claude --version` is checked.
set -euo pipefail

CK8S_ROOT="${CK8S_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)}"
version="${CLAUDE_CODE_VERSION:-2.1.331}"
dest="${1:-$CK8S_ROOT/.cache/claude-code/$version}"
package="@anthropic-ai/claude-code"

log() { printf '[ensure-claude-cli] %s\n' "$*" >&2; }
fail() { printf '[ensure-claude-cli] error: %s\n' "$*" >&2; exit 1; }

case "$(uname -s)-$(uname -m)" in
  Linux-x86_64) platform=linux-x64 ;;
  Linux-aarch64 | Linux-arm64) platform=linux-arm64 ;;
  Darwin-x86_64) platform=darwin-x64 ;;
  Darwin-arm64) platform=darwin-arm64 ;;
  *) fail "unsupported platform $(uname -s)-$(uname -m)" ;;
esac
# Alpine and other musl systems need the -musl platform package.
if [[ "$platform" == linux-* && "$(ldd --version 2>&1 || true)" != *[Gg][Ll][Ii][Bb][Cc]* && "$(ldd --version 2>&1 || true)" != *"GNU libc"* ]]; then
  platform="$platform-musl"
fi

if [[ -f "$dest/.ck8s-installed" && -x "$dest/bin/claude" && "$(cat "$dest/.ck8s-installed")" == "$version" ]]; then
  printf '%s\n' "$dest/bin/claude"
  exit 0
fi

command -v npm >/dev/null 2>&1 || fail "npm is required to install $package@$version from the npm registry"

mkdir -p "$(dirname "$dest")"
staging="$(mktemp -d "$(dirname "$dest")/.install-$version.XXXXXX")"
trap 'rm -rf "$staging"' EXIT

log "installing $package@$version into $dest (first run downloads ~100 MB and takes a while)"
started=$SECONDS
# npm 11 keeps an allow-list of dependency install scripts in package.json ("allowScripts"; the --allow-scripts flag
# is refused for project installs). Older npm ignores the field and runs the script anyway.
cat > "$staging/package.json" <<JSON
{
  "name": "ck8s-claude-code",
  "private": true,
  "dependencies": { "$package": "$version" },
  "allowScripts": { "$package@$version": true }
}
JSON
if ! (cd "$staging" && npm install --prefix "$staging" --no-audit --no-fund --no-update-notifier --loglevel=error \
  --save-exact "$package@$version" >&2); then
  fail "npm install $package@$version failed (is the npm registry reachable?)"
fi

wrapper="$staging/node_modules/$package"
native="$staging/node_modules/$package-$platform/claude"
[[ -d "$wrapper" ]] || fail "npm did not install $package"
[[ -f "$native" ]] || fail "npm did not install the platform package $package-$platform (optional dependency)"

# The postinstall (install.cjs) hard-links the platform binary over bin/claude.exe. If it did not run (scripts not
# allowed, or an npm that ignores them), bin/claude.exe is still the small placeholder: do the same link ourselves.
exe="$wrapper/bin/claude.exe"
if [[ ! -f "$exe" ]] || ! cmp -s "$exe" "$native"; then
  log "postinstall did not link the native binary; linking $package-$platform/claude to bin/claude.exe"
  rm -f "$exe"
  ln "$native" "$exe" 2>/dev/null || cp "$native" "$exe"
fi
chmod 755 "$exe"

mkdir -p "$staging/bin"
ln -sfn "../node_modules/$package/bin/claude.exe" "$staging/bin/claude"

reported="$(HOME="$staging" DISABLE_AUTOUPDATER=1 "$staging/bin/claude" --version 2>&1 || true)"
[[ "$reported" == "$version"* ]] || fail "installed CLI reports '$reported', expected $version"

printf '%s\n' "$version" > "$staging/.ck8s-installed"
chmod 755 "$staging" # mktemp -d made it 0700; a non-root user (e.g. in the agent image) must be able to run the CLI
rm -rf "$staging/.claude" "$staging/.claude.json" "$staging"/.claude.json.* 2>/dev/null || true
rm -rf "$dest"
mv "$staging" "$dest"
trap - EXIT
log "installed $package@$version in $((SECONDS - started)) s ($(du -sh "$dest" | cut -f1)): $reported"
printf '%s\n' "$dest/bin/claude"
