/**
 * The shell the transfer mode runs in the pod: the container's entry (waits for the workspace, runs claude, stays up
 * for the collection) and the scripts the adapter runs through `pods/exec` (snapshot, export). POSIX `sh`, git and
 * coreutils only. Every value reaches them as a positional argument or an environment variable, never spliced into
 * the script text.
 */

/** Where the transfer's control files live in the pod (outside the workspace, so no snapshot sees them). */
export const TRANSFER_CONTROL_DIR = '/run/ck8s/transfer';

/** Control files, relative to {@link TRANSFER_CONTROL_DIR}. */
export const CONTROL_FILE = {
  /** Written by the adapter once the workspace is in place: claude may start. */
  ready: 'ready',
  /** Written by the adapter when the copy-in failed: the entry exits without starting claude. */
  abort: 'abort',
  /** Written by the entry when claude ended: its exit code. */
  exited: 'exited',
  /** Written by the adapter once the changes are collected: the container may end. */
  collected: 'collected',
} as const;

/** The refs of the pod's two snapshot commits (in the pod's repository; the bundle carries them). */
export const POD_REF = {
  base: 'refs/claude-k8s/base',
  worktree: 'refs/claude-k8s/worktree',
  /** The agent's index as a commit on top of its HEAD (what it staged); absent when the index cannot be written. */
  index: 'refs/claude-k8s/index',
} as const;

/** How long the entry waits for the workspace before it gives up (claude never starts then). Seconds. */
export const TRANSFER_WAIT_SEC = 900;

/**
 * The container's entry in the transfer mode. Arguments: the control directory, the seconds to wait for the workspace,
 * the collection window in seconds, the prompt file, the working directory, then claude's argv. A SIGTERM (cancel,
 * deadline) stops claude; the entry then still waits for the collection (within the pod's grace period, extended by
 * the window) and exits with claude's code.
 */
export const TRANSFER_LAUNCH_SCRIPT = [
  'set -u',
  'd=$1; wait_sec=$2; collect_sec=$3; prompt=$4',
  'shift 4',
  'waited=0',
  'while [ ! -e "$d/ready" ]; do',
  '  if [ -e "$d/abort" ]; then echo "[claude-k8s] the workspace could not be copied into the pod; claude did not start" >&2; exit 125; fi',
  '  if [ "$waited" -ge "$wait_sec" ]; then echo "[claude-k8s] the workspace did not arrive within ${wait_sec}s; claude did not start" >&2; exit 125; fi',
  '  sleep 1; waited=$((waited + 1))',
  'done',
  'mkdir -p -- "$1" "$PAPERCLIP_RUN_SCRATCH_DIR"',
  'cd -- "$1"',
  'shift',
  '"$@" < "$prompt" &',
  'pid=$!',
  'trap \'kill -TERM "$pid" 2>/dev/null\' TERM INT',
  'while :; do',
  '  wait "$pid"; code=$?',
  '  kill -0 "$pid" 2>/dev/null || break',
  'done',
  "trap ':' TERM INT",
  'printf "%s\\n" "$code" > "$d/exited"',
  'waited=0',
  'while [ ! -e "$d/collected" ] && [ "$waited" -lt "$collect_sec" ]; do sleep 1; waited=$((waited + 1)); done',
  'exit "$code"',
].join('\n');

/**
 * Commits the working tree (everything `git add -A` takes: ignored files stay out, like Paperclip's own sync) on top
 * of HEAD as ref `$3`, with a private index (the agent's index is untouched). Arguments: workspace, control directory,
 * ref, message.
 */
export const SNAPSHOT_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2; ref=$3; message=$4',
  'cd -- "$ws"',
  'idx="$ctl/snapshot.index"',
  'rm -f -- "$idx"',
  'real=$(git rev-parse --git-path index)',
  'if [ -f "$real" ]; then cp -- "$real" "$idx"; fi',
  'printf "%s\\n" "/.paperclip-runtime/" > "$ctl/snapshot.exclude"',
  'GIT_INDEX_FILE=$idx; export GIT_INDEX_FILE',
  'if [ ! -f "$idx" ]; then git read-tree HEAD; fi',
  'git -c core.excludesFile="$ctl/snapshot.exclude" add -A -- .',
  'tree=$(git write-tree)',
  'commit=$(git -c user.name=claude-k8s -c user.email=claude-k8s@invalid commit-tree "$tree" -p HEAD -m "$message")',
  'git update-ref "$ref" "$commit"',
  'rm -f -- "$idx"',
].join('\n');

/** `now`: milliseconds since the epoch (0 where `date` has no `%N`), for the `<phase> <ms>` lines of the copy-in. */
const NOW_FUNCTION = 'now() { v=$(date +%s%3N 2>/dev/null) || v=0; case $v in "" | *[!0-9]*) v=0 ;; esac; echo "$v"; }';

/**
 * Copy-in, step 1: receives the objects of HEAD as one git pack on stdin and checks HEAD out into the workspace: a
 * depth-1 repository (`shallow` = HEAD) on the branch (or detached), with a credential-free `origin` when the server's
 * workspace has one. Arguments: workspace, HEAD, branch (empty = detached), origin URL (empty = none), object format
 * (`sha1`, `sha256`). Prints the
 * milliseconds of its phases (`index-pack N`, `checkout N`) on stdout.
 */
export const CHECKOUT_PACK_SCRIPT = [
  'set -eu',
  'ws=$1; head=$2; branch=$3; origin=$4; format=$5',
  NOW_FUNCTION,
  't0=$(now)',
  'mkdir -p -- "$ws"',
  'cd -- "$ws"',
  'git -c init.defaultBranch=main init -q --object-format="$format"',
  'git index-pack --stdin >/dev/null',
  't1=$(now); echo "index-pack $((t1 - t0))"',
  'printf "%s\\n" "$head" > .git/shallow',
  'if [ -n "$branch" ]; then',
  '  git update-ref "refs/heads/$branch" "$head"',
  '  git symbolic-ref HEAD "refs/heads/$branch"',
  'else',
  '  git update-ref --no-deref HEAD "$head"',
  'fi',
  'if [ -n "$origin" ]; then git remote add origin "$origin"; fi',
  'git -c checkout.workers=0 read-tree -u --reset HEAD',
  't2=$(now); echo "checkout $((t2 - t1))"',
].join('\n');

/** Copy-in, step 2 (only when the server's working tree deleted tracked files): removes the NUL-separated paths on stdin. */
export const DELETE_PATHS_SCRIPT = ['set -eu', 'cd -- "$1"', 'xargs -0 rm -rf --'].join('\n');

/**
 * Copy-in, step 3: extracts the uncommitted and untracked files (a tar on stdin) into the workspace, then commits the
 * `base` snapshot ({@link SNAPSHOT_SCRIPT}, in `$CK8S_SNAPSHOT`). Arguments: workspace, control directory, ref, message.
 */
export const FINISH_IN_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2; ref=$3; message=$4',
  'tar -xf - -C "$ws"',
  'sh -c "$CK8S_SNAPSHOT" snapshot "$ws" "$ctl" "$ref" "$message"',
].join('\n');

/**
 * Snapshots the final working tree and the agent's index (what it staged; left out when git cannot write it, e.g.
 * during an unresolved merge), then writes a bundle of the snapshots relative to the server's HEAD to stdout (only what
 * changed). Arguments: workspace, control directory, server HEAD, message.
 */
export const EXPORT_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2; base=$3; message=$4',
  `sh -c "$CK8S_SNAPSHOT" snapshot "$ws" "$ctl" ${POD_REF.worktree} "$message"`,
  'cd -- "$ws"',
  `refs="${POD_REF.base} ${POD_REF.worktree}"`,
  `if tree=$(git write-tree 2>/dev/null) && commit=$(git -c user.name=claude-k8s -c user.email=claude-k8s@invalid commit-tree "$tree" -p HEAD -m "claude-k8s: the agent's index"); then git update-ref ${POD_REF.index} "$commit"; refs="$refs ${POD_REF.index}"; fi`,
  'rm -f -- "$ctl/changes.bundle"',
  `git bundle create "$ctl/changes.bundle" $refs --not "$base" 2>"$ctl/bundle.err" || { cat "$ctl/bundle.err" >&2; exit 1; }`,
  'cat -- "$ctl/changes.bundle"',
  'rm -f -- "$ctl/changes.bundle"',
].join('\n');

/** Waits until claude ended (the entry wrote its exit code), printing it; bounded by `$1` seconds (exit 3 then). */
export const WAIT_EXITED_SCRIPT = [
  'set -u',
  'd=$CK8S_TRANSFER_DIR; waited=0',
  'while [ ! -e "$d/exited" ]; do',
  '  if [ "$waited" -ge "$1" ]; then exit 3; fi',
  '  sleep 1; waited=$((waited + 1))',
  'done',
  'cat -- "$d/exited"',
].join('\n');

/**
 * The directory kind (a workspace that is not a git repository): a scratch git repository outside the workspace, in
 * the control directory (`GIT_DIR`; the work tree is the workspace), records what arrived and what the agent left.
 * The agent sees no `.git` in its workspace. `G` runs git on it: no filters, no end-of-line conversion (the
 * `info/attributes` below), so every blob is the file's bytes.
 */
const SCRATCH_GIT = [
  'g="$ctl/scratch.git"',
  'G() { git --git-dir="$g" --work-tree="$ws" -c core.autocrlf=false -c core.symlinks=true -c core.fileMode=true -c user.name=claude-k8s -c user.email=claude-k8s@invalid "$@"; }',
];

/**
 * Directory kind, step 1: creates the workspace and the scratch repository; its `info/exclude` (gitignore lines: what
 * the transfer leaves out) comes on stdin. Arguments: workspace, control directory.
 */
export const DIRECTORY_PREPARE_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2',
  ...SCRATCH_GIT,
  'mkdir -p -- "$ws"',
  'rm -rf -- "$g"',
  'G init -q --object-format=sha1',
  'mkdir -p -- "$g/info"',
  'cat > "$g/info/exclude"',
  'printf "%s\\n" "* -text -filter -ident !eol !working-tree-encoding" > "$g/info/attributes"',
].join('\n');

/**
 * Directory kind, step 2: extracts the workspace (a tar on stdin) and commits it as `base` in the scratch repository.
 * Only the blob ids of what arrived are recorded (`update-index --info-only`): the way back needs a changed path's base
 * id, never its base content, so the arrived files are hashed but not stored (storing them deflated 100 MB in 10,000
 * files took 9–10 s of the copy-in). Arguments: workspace, control directory, ref, message.
 */
export const DIRECTORY_FINISH_IN_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2; ref=$3; message=$4',
  ...SCRATCH_GIT,
  'tar -xf - -C "$ws"',
  'cd -- "$ws"',
  'G ls-files -z --others --exclude-standard -- . | G update-index -z --add --info-only --stdin',
  'tree=$(G write-tree --missing-ok)',
  'commit=$(G commit-tree "$tree" -m "$message")',
  'G update-ref "$ref" "$commit"',
].join('\n');

/**
 * Directory kind, the way back: commits the workspace as `worktree` (on top of `base`), then writes to stdout the size
 * of the raw diff in decimal and a newline, the raw diff (`git diff-tree -r -z --no-renames --raw base worktree`: each
 * changed path with its base blob id and mode, and its new ones), and the new blobs (`git cat-file --batch` records,
 * regular files and symlinks only). Stateless: it can run again, e.g. by the run that adopts the Job. Arguments:
 * workspace, control directory, message.
 */
export const DIRECTORY_EXPORT_SCRIPT = [
  'set -eu',
  'ws=$1; ctl=$2; message=$3',
  ...SCRATCH_GIT,
  'cd -- "$ws"',
  // Changed and new files are hashed and stored (their blobs go back); the unchanged keep their ids (not stored).
  'G add -A -- .',
  'tree=$(G write-tree --missing-ok)',
  `commit=$(G commit-tree "$tree" -p ${POD_REF.base} -m "$message")`,
  `G update-ref ${POD_REF.worktree} "$commit"`,
  `G diff-tree -r -z --no-renames --raw ${POD_REF.base} ${POD_REF.worktree} > "$ctl/changes.raw"`,
  'size=$(wc -c < "$ctl/changes.raw"); printf "%s\\n" $size',
  'cat -- "$ctl/changes.raw"',
  `G diff-tree -r --no-renames --raw ${POD_REF.base} ${POD_REF.worktree} | awk '$2 == "100644" || $2 == "100755" || $2 == "120000" { print $4 }' | G cat-file --batch`,
  'rm -f -- "$ctl/changes.raw"',
].join('\n');
