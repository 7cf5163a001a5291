#!/usr/bin/env bash
# The static tier's checks of everything that is not TypeScript:
#   ShellCheck   every shell script git knows of (tracked or new and not ignored): *.sh, *.bash, and files whose first
#                line is a sh/bash shebang; settings in .shellcheckrc (follow `source`d files, nothing disabled)
#   actionlint   every workflow under .github/workflows (it runs shellcheck on each `run:` block too)
#   self-tests   scripts/test-scripts.sh (toolchain.sh sourcing, CK8S_TIERS validation)
# Every check runs even when an earlier one fails; the script fails at the end. shellcheck is a Debian package
# (scripts/ensure-system-deps.sh lint, as root); actionlint is built from the Go module proxy (ensure-actionlint.sh).
#   scripts/check-scripts.sh
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
failed=()

if ! command -v shellcheck >/dev/null 2>&1; then
  scripts/ensure-system-deps.sh lint || true
fi
if command -v shellcheck >/dev/null 2>&1; then
  scripts=()
  while IFS= read -r -d '' file; do
    [[ -f "$file" ]] || continue # deleted in the work tree
    case $file in
      *.sh | *.bash) scripts+=("$file") ;;
      *) if head -n 1 "$file" 2>/dev/null | grep -Eq '^#!.*[/ ](ba|da)?sh([[:space:]]|$)'; then scripts+=("$file"); fi ;;
    esac
  done < <(git ls-files -z --cached --others --exclude-standard)
  echo "shellcheck $(shellcheck --version | sed -n 's/^version: //p'): ${#scripts[@]} scripts"
  shellcheck "${scripts[@]}" || failed+=("shellcheck")
else
  echo "check-scripts: shellcheck is not installed; install it (as root) with: scripts/ensure-system-deps.sh lint" >&2
  failed+=("shellcheck (not installed)")
fi

if actionlint="$(scripts/ensure-actionlint.sh)"; then
  workflows=(.github/workflows/*.yml)
  echo "actionlint $("$actionlint" -version | head -n 1): ${#workflows[@]} workflows"
  "$actionlint" "${workflows[@]}" || failed+=("actionlint")
else
  failed+=("actionlint (could not build it)")
fi

scripts/test-scripts.sh || failed+=("script self-tests")

if ((${#failed[@]} > 0)); then
  printf 'check-scripts failed: %s\n' "${failed[@]}" >&2
  exit 1
fi
echo "check-scripts: all clean"
