#!/usr/bin/env bash
# Self-tests of the repository's scripts, offline and in seconds (part of the static tier, via check-scripts.sh):
# - scripts/toolchain.sh is safe to `source` in an interactive shell: it changes no shell option, a failure returns to
#   the caller instead of exiting it, sourcing it twice (or from a second checkout) leaves one toolchain directory on
#   PATH, and a second sourcing downloads nothing. Runs in temporary copies of the script with a stub node and no npm
#   on PATH, so any download attempt fails the check.
# - scripts/test-all.sh and scripts/test-cluster-tiers.sh refuse an unknown tier name in CK8S_TIERS before doing
#   anything, instead of running nothing and reporting success.
# - scripts/decisions-index.mjs finds each way a decision file can lack the form, a stale pin and a stale index, and
#   picks up a file added to the folder (needs the toolchain's node and the installed workspace, as the static tier).
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
work="$(mktemp -d "${TMPDIR:-/tmp}/ck8s-toolchain-test.XXXXXX")"
trap 'rm -rf "$work"' EXIT
failures=0
check() { # DESCRIPTION EXPECTED ACTUAL
  if [[ "$2" == "$3" ]]; then
    printf '  ok   %s\n' "$1"
  else
    printf '  FAIL %s\n       expected: %s\n       actual:   %s\n' "$1" "$2" "$3"
    failures=$((failures + 1))
  fi
}

# A fake checkout: the real toolchain.sh, a package.json pinning pnpm, and that pnpm already unpacked.
make_checkout() { # DIR [PACKAGE_JSON]
  mkdir -p "$1/scripts" "$1/.cache/toolchain/pnpm-9.9.9/bin"
  cp "$here/toolchain.sh" "$1/scripts/toolchain.sh"
  printf '%s\n' "${2:-{ \"packageManager\": \"pnpm@9.9.9\" \}}" >"$1/package.json"
  printf 'console.log("pnpm stub")\n' >"$1/.cache/toolchain/pnpm-9.9.9/bin/pnpm.mjs"
}
make_checkout "$work/a"
make_checkout "$work/b"
make_checkout "$work/broken" '{ "name": "no package manager" }'
# A machine node that is new enough, and nothing else: no npm, so a download attempt fails loudly.
mkdir -p "$work/sys"
cat >"$work/sys/node" <<'NODE'
#!/bin/sh
[ "$1" = -p ] && echo 24.11.0
NODE
chmod +x "$work/sys/node"
base_path="$work/sys:/usr/bin:/bin"

# Runs the script on stdin in a bash as an interactive user has it (no errexit, no nounset, a minimal environment),
# with the work directory as $1; its stderr goes to $work/stderr.
interactive() {
  env -i HOME="$work" PATH="$base_path" bash --norc --noprofile -s -- "$work" 2>"$work/stderr"
}

echo "toolchain.sh sourced in an interactive shell:"
out="$(interactive <<'SH'
before="$(set +o; shopt -p)"
source "$1/a/scripts/toolchain.sh"; rc=$?
after="$(set +o; shopt -p)"
echo "rc=$rc"
if [[ "$before" == "$after" ]]; then echo "options unchanged"; else echo "options changed:"; diff <(echo "$before") <(echo "$after"); fi
echo "node=$(command -v node)"
echo "pnpm=$(command -v pnpm)"
echo "root=$CK8S_ROOT"
SH
)" || true
check "returns 0" "rc=0" "$(sed -n 1p <<<"$out")"
check "leaves the shell options as they were (no set -e/-u/-o pipefail leak)" "options unchanged" "$(sed -n 2p <<<"$out")"
check "puts the toolchain's node first" "node=$work/a/.cache/toolchain/bin/node" "$(sed -n 3p <<<"$out")"
check "puts pnpm on PATH" "pnpm=$work/a/.cache/toolchain/bin/pnpm" "$(sed -n 4p <<<"$out")"
check "exports its own checkout as CK8S_ROOT" "root=$work/a" "$(sed -n 5p <<<"$out")"
check "the node link points at the machine's node" "$work/sys/node" "$(readlink "$work/a/.cache/toolchain/bin/node")"

out="$(interactive <<'SH'
source "$1/a/scripts/toolchain.sh"; source "$1/a/scripts/toolchain.sh"; rc=$?
echo "rc=$rc"
tr ":" "\n" <<<"$PATH" | grep -c "/.cache/toolchain/bin$"
source "$1/b/scripts/toolchain.sh"
tr ":" "\n" <<<"$PATH" | grep "/.cache/toolchain/bin$"
echo "root=$CK8S_ROOT"
SH
)" || true
check "a second sourcing succeeds without downloading (no npm on PATH)" "rc=0" "$(sed -n 1p <<<"$out")"
check "a second sourcing leaves one toolchain entry on PATH" "1" "$(sed -n 2p <<<"$out")"
check "sourcing another checkout's script replaces the first one's entry" "$work/b/.cache/toolchain/bin" "$(sed -n 3p <<<"$out")"
check "and CK8S_ROOT with it" "root=$work/b" "$(sed -n 4p <<<"$out")"
check "no download was attempted" "" "$(grep -i fetch "$work/stderr" || true)"

out="$(interactive <<'SH'
source "$1/broken/scripts/toolchain.sh"; echo "rc=$?"; echo "shell still running"
SH
)" || true
check "a failure returns non-zero to the caller" "rc=3" "$(sed -n 1p <<<"$out")"
check "a failure does not exit the caller's shell" "shell still running" "$(sed -n 2p <<<"$out")"
check "a failure says why" "[toolchain] no \"packageManager\": \"pnpm@<version>\" in $work/broken/package.json" "$(cat "$work/stderr")"

out="$(interactive <<'SH' 2>/dev/null
set -e; source "$1/broken/scripts/toolchain.sh"; echo "not reached"
SH
echo "rc=$?")"
check "under a caller's set -e, a failure stops that caller" "rc=3" "$out"

out="$(env -i HOME="$work" PATH="$base_path" "$work/a/scripts/toolchain.sh" sh -c 'command -v pnpm' 2>&1)"
check "run with a command, it runs the command with the toolchain" "$work/a/.cache/toolchain/bin/pnpm" "$out"

echo "CK8S_TIERS:"
tiers() { # SCRIPT CK8S_TIERS -> "rc=N <stderr>"
  local rc=0 err
  err="$(CK8S_TIERS="$2" "$here/$1" 2>&1 >/dev/null </dev/null)" || rc=$?
  printf 'rc=%s %s' "$rc" "$err"
}
check "test-all.sh refuses a misspelt tier" \
  "rc=2 test-all: unknown tier 'statc' in CK8S_TIERS=\"statc unit\" (known: static unit package cluster e2e, separated by spaces)" \
  "$(tiers test-all.sh 'statc unit')"
check "test-all.sh refuses a comma-separated list" \
  "rc=2 test-all: unknown tier 'static,unit' in CK8S_TIERS=\"static,unit\" (known: static unit package cluster e2e, separated by spaces)" \
  "$(tiers test-all.sh 'static,unit')"
check "test-all.sh refuses a list with no tier" \
  "rc=2 test-all: CK8S_TIERS names no tier (known: static unit package cluster e2e)" "$(tiers test-all.sh ' ')"
check "test-cluster-tiers.sh refuses a misspelt tier" \
  "rc=2 test-cluster-tiers: unknown tier 'e2e-tests' in CK8S_TIERS=\"cluster e2e-tests\" (known: static unit package cluster e2e)" \
  "$(tiers test-cluster-tiers.sh 'cluster e2e-tests')"
check "test-cluster-tiers.sh refuses tiers it does not run" \
  "rc=2 test-cluster-tiers: CK8S_TIERS=\"static unit\" names neither cluster nor e2e" "$(tiers test-cluster-tiers.sh 'static unit')"

echo "decisions-index.mjs:"
if command -v node >/dev/null 2>&1 && [[ -d "$here/../node_modules/prettier" ]]; then
  decisions="$work/decisions"
  mkdir -p "$decisions"
  write_decision() { # FILE TITLE STATUS [SECTIONS...]
    local file=$1 title=$2 status=$3
    shift 3
    { printf '# %s\n\n%s\n' "$title" "$status"; for section in "$@"; do printf '\n## %s\n\nText.\n' "$section"; done; } >"$decisions/$file"
  }
  write_decision good-one.md 'A good one' 'Status: accepted · 2026-12' What Why Considered
  index() { (cd "$here/.." && node scripts/decisions-index.mjs --dir "$decisions" "$@" 2>&1); }
  out="$(index)" || true
  check "writes the index of a well-formed folder" "decisions-index: wrote $(cd "$here/.." && realpath --relative-to=. "$decisions")/README.md (1 decisions)" "$out"
  check "the index lists the decision" "1" "$(grep -c '\[A good one\](good-one.md)' "$decisions/README.md")"
  out="$(index --check)" || true
  check "--check passes on a current index" "0" "$(grep -c problem <<<"$out")"

  write_decision later-one.md 'Added on another branch' 'Status: accepted · 2026-12' What Why Considered
  rc=0; out="$(index --check)" || rc=$?
  check "--check fails when a new file is not in the index yet" "1 stale" "$rc $(grep -o 'stale' <<<"$out")"
  index >/dev/null || true
  check "the generator picks the new file up" "1" "$(grep -c '(later-one.md)' "$decisions/README.md")"

  write_decision Bad_Name.md 'Bad name' 'Status: accepted · 2026-12' What Why Considered
  write_decision no-considered.md 'No considered' 'Status: accepted · 2026-12' What Why
  write_decision wrong-order.md 'Wrong order' 'Status: accepted · 2026-12' What Considered Why
  write_decision bad-status.md 'Bad status' 'Status: decided in 2026' What Why Considered
  write_decision bad-month.md 'Bad month' 'Status: accepted · 2026-13' What Why Considered
  write_decision dangling.md 'Dangling' 'Status: superseded by [gone](gone.md) · 2026-12' What Why Considered
  write_decision duplicate.md 'A good one' 'Status: accepted · 2026-12' What Why Considered
  printf '# Empty why\n\nStatus: accepted · 2026-12\n\n## What\n\nx [link](nowhere.md)\n\n## Why\n\n## Considered\n\ny\n' >"$decisions/empty-why.md"
  cat >"$decisions/version-pins.md" <<'MD'
# Pins

Status: accepted · 2026-12

## What

| What | Pinned | Set in |
| --- | --- | --- |
| turbo | `"turbo": "0.0.0-not-this"` | `package.json` |
| gone | `1.0` | `no/such/file` |

## Why

x

## Considered

y
MD
  rc=0; out="$(index --check)" || rc=$?
  check "--check fails on malformed files" "1" "$rc"
  expect_problem() { # DESCRIPTION PATTERN
    if grep -qF -- "$2" <<<"$out"; then printf '  ok   %s\n' "$1"; else printf '  FAIL %s\n       no line containing: %s\n' "$1" "$2"; failures=$((failures + 1)); fi
  }
  expect_problem "names a non-kebab file name" "Bad_Name.md: the file name must be kebab-case"
  expect_problem "names a missing section" 'no-considered.md: missing section "## Considered"'
  expect_problem "names sections out of order" 'wrong-order.md: "## Considered" is out of order'
  expect_problem "names a malformed status line" 'bad-status.md: line 3: the line after the title must be "Status: accepted'
  expect_problem "names an impossible month" "bad-month.md: line 3: month 13 is not 01-12"
  expect_problem "names a superseding slug that does not exist" 'dangling.md: line 3: superseded by "gone", but gone.md does not exist'
  expect_problem "names a duplicate title" 'good-one.md: the title "A good one" is also the title of duplicate.md'
  expect_problem "names an empty section" 'empty-why.md: line 9: "## Why" is empty'
  expect_problem "names a link to nothing" "empty-why.md: line 7: the link nowhere.md points to nothing"
  IFS= read -r stale_pin <<'TEXT'
version-pins.md: line 9: turbo is pinned at `"turbo": "0.0.0-not-this"`, but package.json does not contain it
TEXT
  expect_problem "names a pin its file no longer has" "$stale_pin"
  expect_problem "names a pin file that does not exist" 'version-pins.md: line 10: "Set in" names no/such/file, which does not exist'
else
  echo "  FAIL node or the installed workspace (node_modules/prettier) is missing: run pnpm install first"
  failures=$((failures + 1))
fi

if ((failures > 0)); then
  echo "script self-tests: $failures check(s) failed" >&2
  exit 1
fi
echo "script self-tests: all checks passed"
