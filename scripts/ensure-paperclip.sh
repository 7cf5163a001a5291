#!/usr/bin/env bash
# Installs (once, cached by version under <repo>/.cache/paperclip/<version>) the Paperclip server used by the end-to-end
# tests and the demo, creates its non-root user `ck8s-paperclip`, and verifies the embedded PostgreSQL runs as that user.
#   scripts/ensure-paperclip.sh [--version 2026.916.1] [--cache-dir DIR]
# Needs root (for the user) on the first run, the system npm, and the npm registry on the first install.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
# shellcheck source=toolchain.sh
source "$root/scripts/toolchain.sh"
exec node "$root/internal/paperclip-server/src/cli.ts" install "$@"
