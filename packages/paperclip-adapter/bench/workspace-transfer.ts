/**
 * Benchmark of the transfer mode (local cluster, KUBECONFIG set), side by side in one run against `kubectl cp` of the
 * same tree, the reference users know, for each tree size:
 *
 * - in: the workspace (a git repository of N files, M MB in all, incompressible, one commit, plus one uncommitted and
 *   one untracked file) into a pod, by the transfer's copy-in (HEAD's pack over pods/exec, checked out in the pod, the
 *   overlay, the base snapshot) and by `kubectl cp <dir> <pod>:<dir>` (the directory with its `.git`, as a user would
 *   copy a repository with its history);
 * - back: a one-file change, by the transfer's collect (a git bundle of the change, applied) and by `kubectl cp` of the
 *   tree back (what a copy without deltas must do);
 * - shared: the same tree on a volume mounted at the same path in a pod (a hostPath: the local cluster's node is this
 *   machine): the time for the pod to see it (`git status` clean at the same HEAD, every file read once).
 *
 * After each copy-in the pod's workspace is checked: same HEAD and branch, `git status` showing only the overlay, and
 * the same bytes as the server's tree (a hash of `git ls-files -s` and of the overlay files).
 *
 * Run: `node --conditions=@claude-k8s/source bench/workspace-transfer.ts` (Node strips the types). Sizes:
 * CK8S_BENCH_SIZES (default `100:10000,200:20000`: MB:files, comma-separated); CK8S_BENCH_ROUNDS (default 3) rounds,
 * medians shown; CK8S_BENCH_PACKED=1 (the repository's objects packed, as in a clone; default loose, as after
 * committing a new tree); CK8S_BENCH_KIND=directory (the same tree as a plain folder, no git: the directory kind of the
 * transfer; checked by a hash of every file); CK8S_BENCH_NAMESPACE_PREFIX (default `transfer-bench`). Each round prints
 * the copy-in's steps.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync, appendFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeRuntime, loadKubeConfig, type RunHandle } from '@claude-k8s/kube-runtime';
import { describeSteps } from '../src/workspace-transfer/copy-in.ts';
import { collect, copyIn, type PodExec } from '../src/workspace-transfer/transfer-session.ts';

const SIZES = (process.env['CK8S_BENCH_SIZES'] ?? '100:10000,200:20000').split(',').map((entry) => {
  const [mb, files] = entry.split(':').map(Number);
  if (!Number.isInteger(mb) || !Number.isInteger(files) || (mb ?? 0) <= 0 || (files ?? 0) <= 0)
    throw new Error(`CK8S_BENCH_SIZES: "${entry}" is not MB:files`);
  return { mb: mb as number, files: files as number };
});
const PACKED = process.env['CK8S_BENCH_PACKED'] === '1';
const ROUNDS = Number(process.env['CK8S_BENCH_ROUNDS'] ?? '3');
const KIND: 'git' | 'directory' = process.env['CK8S_BENCH_KIND'] === 'directory' ? 'directory' : 'git';
const IMAGE = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

const kubeConfig = loadKubeConfig(process.env['KUBECONFIG'] ? { path: process.env['KUBECONFIG'] } : {});

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(2)} s`;
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function git(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-C', dir, ...args], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
  }).trim();
}

/**
 * A repository of `files` files, `mb` MB of incompressible content, in 100 directories, committed (with
 * CK8S_BENCH_KIND=directory: the same files in a plain folder).
 */
function makeRepository(root: string, mb: number, files: number): string {
  const repo = join(root, `repo-${mb}-${files}`);
  mkdirSync(repo);
  if (KIND === 'directory') {
    writeTree(repo, mb, files);
    return repo;
  }
  git(repo, 'init', '-q', '-b', 'main');
  // No `git gc --auto` in the background after the commit (10,000 loose objects start one): it would compete with
  // whatever is measured first. The objects stay loose, the costlier case for a pack (each one is inflated and
  // deflated again); CK8S_BENCH_PACKED=1 packs them first, as in a cloned repository.
  git(repo, 'config', 'gc.auto', '0');
  writeTree(repo, mb, files);
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'bench tree');
  if (PACKED) git(repo, 'repack', '-a', '-d', '-q');
  return repo;
}

function writeTree(dir: string, mb: number, files: number): void {
  const size = Math.floor((mb * 1024 * 1024) / files);
  for (let index = 0; index < files; index += 1) {
    const sub = join(dir, `d${index % 100}`);
    if (index < 100) mkdirSync(sub);
    writeFileSync(join(sub, `f${index}.bin`), randomBytes(size));
  }
}

/** The overlay every round starts from: one uncommitted change, one untracked file. */
function dirtyRepository(repo: string): void {
  appendFileSync(join(repo, 'd1', 'f1.bin'), 'uncommitted\n');
  writeFileSync(join(repo, 'untracked.txt'), 'untracked\n');
}

async function timedAsync<T>(run: () => Promise<T>): Promise<{ ms: number; value: T }> {
  const started = performance.now();
  const value = await run();
  return { ms: performance.now() - started, value };
}

function kubectl(...args: string[]): void {
  const result = spawnSync(KUBECTL, args, { encoding: 'utf8' });
  if (result.status !== 0) throw new Error(`kubectl ${args.join(' ')}: ${result.stderr}`);
}

/**
 * Times `kubectl cp` (the reference). It sometimes ends with "unexpected EOF" on a large tree (the exec stream ends
 * before tar's last block); such an attempt is reported and the copy timed again, from a clean destination.
 */
function timedCopy(clean: () => void, ...args: string[]): number {
  for (let attempt = 1; ; attempt += 1) {
    clean();
    const started = performance.now();
    const result = spawnSync(KUBECTL, ['cp', ...args], { encoding: 'utf8' });
    const ms = performance.now() - started;
    if (result.status === 0) return ms;
    if (attempt === 3) throw new Error(`kubectl cp ${args.join(' ')}: ${result.stderr}`);
    process.stdout.write(`  (kubectl cp failed after ${seconds(ms)}: ${result.stderr.trim()}; timed again)\n`);
  }
}

/** What identifies a workspace's content: HEAD, branch, index entries (mode, blob, path), the overlay's bytes. */
const FINGERPRINT =
  KIND === 'directory'
    ? ['set -eu', 'cd -- "$1"', 'find . -type f | LC_ALL=C sort | xargs sha256sum | sha256sum'].join('\n')
    : [
        'set -eu',
        'cd -- "$1"',
        'git rev-parse HEAD',
        'git symbolic-ref --short HEAD',
        'git ls-files -s | sha256sum',
        'git status --porcelain',
        'cat d1/f1.bin untracked.txt | sha256sum',
      ].join('\n');

function execText(exec: PodExec, command: string[]): Promise<string> {
  return exec(command, { maxStdoutBytes: 1024 * 1024 }).then((result) => {
    if (result.exitCode !== 0) throw new Error(`${command.join(' ')}: exit ${result.exitCode}: ${result.stderr}`);
    return new TextDecoder().decode(result.stdout).trim();
  });
}

interface Row {
  what: string;
  transfer: number[];
  reference: number[];
  bytes: number[];
  referenceName: string;
}

async function startPod(
  runtime: ReturnType<typeof createKubeRuntime>,
  runId: string,
  extra: { hostPath?: string } = {},
): Promise<{ handle: RunHandle; exec: PodExec; podName: string }> {
  const handle = await runtime.startRun({
    runId,
    agentId: 'bench',
    image: IMAGE,
    imagePullPolicy: 'Never',
    runAsUser: 1000,
    command: ['sh', '-c', 'sleep 3600'],
    timeoutSeconds: 4000,
    terminationGracePeriodSeconds: 1,
    env: [
      { name: 'GIT_CONFIG_COUNT', value: '1' },
      { name: 'GIT_CONFIG_KEY_0', value: 'safe.directory' },
      { name: 'GIT_CONFIG_VALUE_0', value: '*' },
    ],
    volumes: [
      { name: 'work', emptyDir: {} },
      ...(extra.hostPath ? [{ name: 'shared', hostPath: { path: extra.hostPath, type: 'Directory' } }] : []),
    ],
    volumeMounts: [
      { name: 'work', mountPath: '/work' },
      ...(extra.hostPath ? [{ name: 'shared', mountPath: extra.hostPath }] : []),
    ],
  });
  const podName = await handle.containerStarted;
  if (podName === null) throw new Error('the pod did not start');
  const exec: PodExec = (command, options = {}) =>
    runtime.exec({ podName, containerName: handle.containerName, command, ...options });
  return { handle, exec, podName };
}

async function benchSize(
  runtime: ReturnType<typeof createKubeRuntime>,
  namespace: string,
  root: string,
  size: { mb: number; files: number },
): Promise<Row[]> {
  const repo = makeRepository(root, size.mb, size.files);
  // The new tree is still being written back to disk: let that end first, or whichever copy comes first pays for it.
  execFileSync('sync');
  const label = `${size.mb} MB / ${size.files} files`;
  const { handle, exec, podName } = await startPod(runtime, `bench-${size.mb}`);
  const rows: Row[] = [
    { what: `in: ${label}`, transfer: [], reference: [], bytes: [], referenceName: 'kubectl cp' },
    { what: `back: a one-file change (${label})`, transfer: [], reference: [], bytes: [], referenceName: 'kubectl cp' },
  ];
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      dirtyRepository(repo);
      execFileSync('sync');
      await exec(['sh', '-c', 'rm -rf /work/ws /work/control /work/cp && mkdir -p /work/control']);
      const settings = {
        kind: KIND,
        hostDir: repo,
        podDir: '/work/ws',
        controlDir: '/work/control',
        maxInBytes: 4096 * 1024 * 1024,
        maxOutBytes: 1024 * 1024 * 1024,
        execTimeoutMs: 600_000,
      };
      const copied = await timedAsync(() => copyIn({ settings, exec, runId: `bench-${round}` }));
      rows[0]!.transfer.push(copied.ms);
      rows[0]!.bytes.push(copied.value.bytesIn);
      const [inPod, onServer] = await Promise.all([
        execText(exec, ['sh', '-c', FINGERPRINT, 'fp', '/work/ws']),
        Promise.resolve(execFileSync('sh', ['-c', FINGERPRINT, 'fp', repo], { encoding: 'utf8' }).trim()),
      ]);
      if (inPod !== onServer)
        throw new Error(`the pod's workspace differs from the server's:\n${inPod}\n---\n${onServer}`);
      rows[0]!.reference.push(
        timedCopy(
          () => kubectl('exec', '-n', namespace, '-c', handle.containerName, podName, '--', 'rm', '-rf', '/work/cp'),
          '-n',
          namespace,
          '-c',
          handle.containerName,
          repo,
          `${podName}:/work/cp`,
        ),
      );
      process.stdout.write(
        `  round ${round + 1}: in ${seconds(copied.ms)} (${describeSteps(copied.value.steps ?? [])}); kubectl cp ${seconds(rows[0]!.reference.at(-1) ?? 0)}; load average ${loadavg()[0]?.toFixed(1)}\n`,
      );
      await exec(['sh', '-c', 'echo "one more line" >> /work/ws/d7/f7.bin']);
      const back = await timedAsync(() => collect({ settings, exec, runId: `bench-${round}`, copied: copied.value }));
      rows[1]!.transfer.push(back.ms);
      rows[1]!.bytes.push(back.value.bytesOut);
      if (back.value.applied.join() !== 'd7/f7.bin')
        throw new Error(`the change did not come back as expected: ${JSON.stringify(back.value)}`);
      const dest = join(root, `back-${round}`);
      rows[1]!.reference.push(
        timedCopy(
          () => rmSync(dest, { recursive: true, force: true }),
          '-n',
          namespace,
          '-c',
          handle.containerName,
          `${podName}:/work/cp`,
          dest,
        ),
      );
      rmSync(dest, { recursive: true, force: true });
      if (KIND === 'git') git(repo, 'reset', '-q', '--hard', copied.value.baseHead);
    }
  } finally {
    await handle.cancel('bench done');
  }
  // The shared mode: the same tree on a volume at the same path; nothing is copied, the pod reads in place.
  const shared = await startPod(runtime, `bench-shared-${size.mb}`, { hostPath: repo });
  const sharedRow: Row = {
    what: `shared: ${label} seen in place`,
    transfer: [],
    reference: [],
    bytes: [],
    referenceName: '',
  };
  try {
    for (let round = 0; round < ROUNDS; round += 1) {
      dirtyRepository(repo);
      const started = performance.now();
      const inPod = await execText(shared.exec, [
        'sh',
        '-c',
        `${FINGERPRINT}\ntar -cf - . | wc -c >/dev/null`,
        'fp',
        repo,
      ]);
      sharedRow.transfer.push(performance.now() - started);
      const onServer = execFileSync('sh', ['-c', FINGERPRINT, 'fp', repo], { encoding: 'utf8' }).trim();
      if (inPod !== onServer) throw new Error(`the shared volume's view differs:\n${inPod}\n---\n${onServer}`);
      sharedRow.bytes.push(0);
    }
  } finally {
    await shared.handle.cancel('bench done');
  }
  rmSync(repo, { recursive: true, force: true });
  return [...rows, sharedRow];
}

async function main(): Promise<void> {
  const namespace = `${process.env['CK8S_BENCH_NAMESPACE_PREFIX'] ?? 'transfer-bench'}-${process.pid}`;
  const root = mkdtempSync(join(tmpdir(), 'transfer-bench-'));
  kubectl('create', 'namespace', namespace);
  const runtime = createKubeRuntime({ kubeConfig, namespace, runtimeId: 'bench' });
  try {
    const rows: Row[] = [];
    for (const size of SIZES) {
      process.stdout.write(
        KIND === 'directory'
          ? `tree: ${size.files} files, ${size.mb} MB (incompressible), a plain folder (directory kind); ${ROUNDS} rounds\n`
          : `tree: ${size.files} files, ${size.mb} MB (incompressible), one commit, objects ${PACKED ? 'packed' : 'loose'}; ${ROUNDS} rounds\n`,
      );
      rows.push(...(await benchSize(runtime, namespace, root, size)));
    }
    process.stdout.write(
      `\nload average at the end: ${loadavg()
        .map((value) => value.toFixed(1))
        .join(', ')} (${cpus().length} cores)\n`,
    );
    process.stdout.write(
      '\n| step | transfer (median) | kubectl cp (median) | ratio | transfer bytes | all rounds (transfer / kubectl cp, s) |\n| --- | --- | --- | --- | --- | --- |\n',
    );
    for (const row of rows) {
      const transfer = median(row.transfer);
      const reference = row.reference.length > 0 ? median(row.reference) : Number.NaN;
      const all = row.transfer
        .map(
          (ms, index) =>
            `${(ms / 1000).toFixed(2)}${row.reference[index] === undefined ? '' : ` / ${(row.reference[index] / 1000).toFixed(2)}`}`,
        )
        .join('; ');
      process.stdout.write(
        `| ${row.what} | ${(transfer / 1000).toFixed(2)} s | ${Number.isNaN(reference) ? '—' : `${(reference / 1000).toFixed(2)} s`} | ${Number.isNaN(reference) ? '—' : `${(transfer / reference).toFixed(2)}×`} | ${median(row.bytes)} | ${all} |\n`,
      );
    }
  } finally {
    spawnSync(KUBECTL, ['delete', 'namespace', namespace, '--wait=false']);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
