/**
 * Benchmark of the transfer mode (local cluster, KUBECONFIG set), side by side in one run against `kubectl cp` of the
 * same tree, the reference users know:
 *
 * - in: the workspace (a git repository of CK8S_BENCH_FILES files, CK8S_BENCH_MB MB in all, one commit) into a pod,
 *   by the transfer's copy-in (Paperclip's sync over pods/exec) and by `kubectl cp <dir> <pod>:<dir>`;
 * - back: a one-file change, by the transfer's collect (a git bundle of the change, applied) and by `kubectl cp` of the
 *   tree back (what a copy without deltas must do).
 *
 * Run: `node --conditions=@claude-k8s/source bench/workspace-transfer.ts` (Node strips the types). Figures print as a
 * table; CK8S_BENCH_ROUNDS (default 3) rounds, medians shown.
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createKubeRuntime, loadKubeConfig } from '@claude-k8s/kube-runtime';
import { collect, copyIn, type PodExec } from '../src/workspace-transfer/transfer-session.ts';

const FILES = Number(process.env['CK8S_BENCH_FILES'] ?? '10000');
const MB = Number(process.env['CK8S_BENCH_MB'] ?? '100');
const ROUNDS = Number(process.env['CK8S_BENCH_ROUNDS'] ?? '3');
const IMAGE = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
const KUBECTL = process.env['KUBECTL'] ?? 'kubectl';

const kubeConfig = loadKubeConfig(process.env['KUBECONFIG'] ? { path: process.env['KUBECONFIG'] } : {});

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)] ?? Number.NaN;
}

function git(dir: string, ...args: string[]): void {
  execFileSync('git', ['-c', 'user.name=Bench', '-c', 'user.email=bench@example.com', '-C', dir, ...args], {
    stdio: 'ignore',
  });
}

/** A repository of FILES files, MB MB of incompressible content, in 100 directories, committed. */
function makeRepository(root: string): string {
  const repo = join(root, 'repo');
  mkdirSync(repo);
  git(repo, 'init', '-q', '-b', 'main');
  const size = Math.floor((MB * 1024 * 1024) / FILES);
  for (let index = 0; index < FILES; index += 1) {
    const dir = join(repo, `d${index % 100}`);
    if (index < 100) mkdirSync(dir);
    writeFileSync(join(dir, `f${index}.bin`), randomBytes(size));
  }
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', 'bench tree');
  return repo;
}

function timed(run: () => void): number {
  const started = performance.now();
  run();
  return performance.now() - started;
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

async function main(): Promise<void> {
  const namespace = `transfer-bench-${process.pid}`;
  const root = mkdtempSync(join(tmpdir(), 'transfer-bench-'));
  kubectl('create', 'namespace', namespace);
  const runtime = createKubeRuntime({ kubeConfig, namespace, runtimeId: 'bench' });
  try {
    const repo = makeRepository(root);
    process.stdout.write(`tree: ${FILES} files, ${MB} MB (incompressible), one commit; ${ROUNDS} rounds\n`);
    const handle = await runtime.startRun({
      runId: 'bench',
      agentId: 'bench',
      image: IMAGE,
      imagePullPolicy: 'Never',
      runAsUser: 1000,
      command: ['sh', '-c', 'sleep 3600'],
      timeoutSeconds: 4000,
      terminationGracePeriodSeconds: 1,
      volumes: [{ name: 'work', emptyDir: {} }],
      volumeMounts: [{ name: 'work', mountPath: '/work' }],
    });
    const podName = await handle.containerStarted;
    if (podName === null) throw new Error('the pod did not start');
    const exec: PodExec = (command, options = {}) =>
      runtime.exec({ podName, containerName: handle.containerName, command, ...options });
    const rows: { what: string; transfer: number[]; kubectlCp: number[]; bytes: number[] }[] = [
      { what: 'in: the tree into the pod', transfer: [], kubectlCp: [], bytes: [] },
      { what: 'back: a one-file change', transfer: [], kubectlCp: [], bytes: [] },
    ];
    for (let round = 0; round < ROUNDS; round += 1) {
      await exec(['sh', '-c', 'rm -rf /work/ws /work/control /work/cp && mkdir -p /work/control']);
      const settings = {
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
      rows[0]!.kubectlCp.push(
        timed(() => kubectl('cp', '-n', namespace, '-c', handle.containerName, repo, `${podName}:/work/cp`)),
      );
      await exec(['sh', '-c', 'echo "one more line" >> /work/ws/d7/f7.bin']);
      const back = await timedAsync(() => collect({ settings, exec, runId: `bench-${round}`, copied: copied.value }));
      rows[1]!.transfer.push(back.ms);
      rows[1]!.bytes.push(back.value.bytesOut);
      const dest = join(root, `back-${round}`);
      rows[1]!.kubectlCp.push(
        timed(() => kubectl('cp', '-n', namespace, '-c', handle.containerName, `${podName}:/work/cp`, dest)),
      );
      rmSync(dest, { recursive: true, force: true });
      git(repo, 'reset', '-q', '--hard', copied.value.baseHead);
    }
    process.stdout.write(
      '\n| step | transfer (median) | kubectl cp (median) | ratio | transfer bytes |\n| --- | --- | --- | --- | --- |\n',
    );
    for (const row of rows) {
      const transfer = median(row.transfer);
      const cp = median(row.kubectlCp);
      process.stdout.write(
        `| ${row.what} | ${(transfer / 1000).toFixed(2)} s | ${(cp / 1000).toFixed(2)} s | ${(transfer / cp).toFixed(2)}× | ${median(row.bytes)} |\n`,
      );
    }
    await handle.cancel('bench done');
  } finally {
    spawnSync(KUBECTL, ['delete', 'namespace', namespace, '--wait=false']);
    rmSync(root, { recursive: true, force: true });
  }
}

await main();
