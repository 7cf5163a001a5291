/**
 * The log follow against the real local cluster: a pod prints numbered, checksummed lines (mixed lengths up to
 * 300 000 characters, multibyte text, bursts and pauses) and every test asserts each line arrived exactly once, in
 * order, through cuts, apiserver and kubelet restarts, a follower restart from a persisted checkpoint, a container
 * that ends while disconnected, and a log rotation during a disconnect (reported as a gap).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import {
  analyzeLogLines,
  buildLogLinesScript,
  describeLogLinesProblems,
  startCuttingProxy,
} from '@claude-k8s/kube-fakes';
import { restartComponent } from '@claude-k8s/local-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPodLogSource,
  decodeLogCheckpoint,
  followPodLog,
  type LogCheckpoint,
  type LogFollowEvent,
} from './internal.ts';
import { waitFor } from '@claude-k8s/test-utils';

const kubeconfigPath = process.env['KUBECONFIG'];
if (!kubeconfigPath) throw new Error('The cluster tier needs KUBECONFIG (run it through scripts/with-cluster.sh).');
const admin = new KubeConfig();
admin.loadFromFile(kubeconfigPath);
const core = admin.makeApiClient(CoreV1Api);
const namespace = `ck8s-logs-${process.pid}`;
const image = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
const isLocal =
  process.env['CK8S_CLUSTER'] === 'local' || /127\.0\.0\.1:16443/.test(admin.getCurrentCluster()?.server ?? '');

interface PodPlan {
  name: string;
  count: number;
  seed: number;
  burst?: number;
  pauseMs?: number;
  finalFragment?: string;
  /** Shell run before the lines (e.g. `sleep 2`), for tests that need the follower attached first. */
  script?: string;
}

async function startPod(plan: PodPlan): Promise<void> {
  const program = buildLogLinesScript({
    count: plan.count,
    seed: plan.seed,
    ...(plan.burst === undefined ? {} : { burst: plan.burst }),
    ...(plan.pauseMs === undefined ? {} : { pauseMs: plan.pauseMs }),
    ...(plan.finalFragment === undefined ? {} : { finalFragment: plan.finalFragment }),
  });
  await core.createNamespacedPod({
    namespace,
    body: {
      metadata: { name: plan.name },
      spec: {
        restartPolicy: 'Never',
        automountServiceAccountToken: false,
        terminationGracePeriodSeconds: 1,
        containers: [
          {
            name: 'agent',
            image,
            imagePullPolicy: 'IfNotPresent',
            command:
              plan.script === undefined
                ? ['node', '-e', program]
                : ['bash', '-c', `${plan.script}\nexec node -e "$PROGRAM"`],
            env: [{ name: 'PROGRAM', value: program }],
          },
        ],
      },
    },
  });
}

/** The container's exit code once it has terminated, else undefined. */
async function readExitCode(pod: string): Promise<number | undefined> {
  const status = await core.readNamespacedPodStatus({ name: pod, namespace });
  const state = status.status?.containerStatuses?.find((container) => container.name === 'agent')?.state;
  return state?.terminated?.exitCode;
}

/** A KubeConfig like the admin's, pointing at `server`. */
function configVia(server: string): KubeConfig {
  const config = new KubeConfig();
  config.loadFromString(admin.exportConfig());
  const cluster = config.getCurrentCluster();
  if (!cluster) throw new Error('no cluster');
  (cluster as { server: string }).server = server;
  return config;
}

interface FollowRun {
  text: string;
  events: LogFollowEvent[];
  checkpoint: LogCheckpoint | null;
  exitCode: number;
}

async function followPod(
  pod: string,
  options: {
    kubeConfig?: KubeConfig;
    checkpoint?: LogCheckpoint;
    signal?: AbortSignal;
    onOutput?: (text: string, checkpoint: LogCheckpoint) => void | Promise<void>;
  } = {},
): Promise<FollowRun> {
  const run: FollowRun = { text: '', events: [], checkpoint: null, exitCode: -1 };
  const result = await followPodLog({
    source: createPodLogSource({ kubeConfig: options.kubeConfig ?? admin }),
    namespace,
    pod,
    container: 'agent',
    onOutput: async (text, checkpoint) => {
      run.text += text;
      run.checkpoint = checkpoint;
      await options.onOutput?.(text, checkpoint);
    },
    onEvent: (event) => run.events.push(event),
    readOutcome: () => readExitCode(pod),
    initialBackoffMs: 100,
    maxBackoffMs: 2000,
    giveUpAfterMs: 180_000,
    ...(options.checkpoint ? { checkpoint: options.checkpoint } : {}),
    ...(options.signal ? { signal: options.signal } : {}),
  });
  run.exitCode = result.outcome;
  run.checkpoint = result.checkpoint;
  return run;
}

function expectExactly(text: string, plan: PodPlan): void {
  const analysis = analyzeLogLines(text, plan.seed);
  expect(describeLogLinesProblems(analysis, plan.count)).toEqual([]);
  expect(analysis.trailing).toBe(plan.finalFragment ?? '');
}

describe('log follow on the real cluster', () => {
  beforeAll(async () => {
    await core.createNamespace({ body: { metadata: { name: namespace } } });
  });
  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
  });

  it('delivers every line once from the first byte to an unterminated last fragment', async () => {
    const plan: PodPlan = { name: 'plain', count: 400, seed: 21, finalFragment: 'end without newline ✓' };
    await startPod(plan);
    const run = await followPod(plan.name);
    expectExactly(run.text, plan);
    expect(run.exitCode).toBe(0);
  });

  it('survives a TCP proxy that cuts the apiserver connection again and again', async () => {
    const server = new URL(admin.getCurrentCluster()?.server ?? '');
    let cutIndex = 0;
    const sizes = [3000, 70_000, 150, 400_000, 9000, 250_000, 1200, 600_000, 33_333, 800_000];
    await using proxy = await startCuttingProxy({
      targetHost: server.hostname,
      targetPort: Number(server.port || 443),
      cutAfterBytes: () => sizes[cutIndex++],
    });
    const plan: PodPlan = { name: 'cut', count: 600, seed: 22, burst: 20, pauseMs: 40 };
    await startPod(plan);
    const run = await followPod(plan.name, { kubeConfig: configVia(`https://127.0.0.1:${proxy.port}`) });
    expectExactly(run.text, plan);
    expect(proxy.cuts).toBeGreaterThanOrEqual(5);
  });

  it.runIf(isLocal)('survives a kube-apiserver restart mid-run', async () => {
    const plan: PodPlan = { name: 'apiserver-restart', count: 500, seed: 23, burst: 10, pauseMs: 100 };
    await startPod(plan);
    let delivered = 0;
    const following = followPod(plan.name, { onOutput: (text) => void (delivered += text.length) });
    await waitFor('200 kB delivered', 120_000, () => delivered > 200_000, { intervalMs: 50 });
    await restartComponent('kube-apiserver', 2);
    const run = await following;
    expectExactly(run.text, plan);
    expect(run.events.some((event) => event.type === 'reconnect')).toBe(true);
  });

  it.runIf(isLocal)('survives a kubelet restart mid-run', async () => {
    const plan: PodPlan = { name: 'kubelet-restart', count: 500, seed: 24, burst: 10, pauseMs: 100 };
    await startPod(plan);
    let delivered = 0;
    const following = followPod(plan.name, { onOutput: (text) => void (delivered += text.length) });
    await waitFor('200 kB delivered', 120_000, () => delivered > 200_000, { intervalMs: 50 });
    await restartComponent('kubelet', 2);
    const run = await following;
    expectExactly(run.text, plan);
    expect(run.events.some((event) => event.type === 'reconnect')).toBe(true);
  });

  it('resumes in a new follower from a persisted checkpoint (adapter restart), the pod still running', async () => {
    const plan: PodPlan = { name: 'reattach', count: 500, seed: 25, burst: 10, pauseMs: 60 };
    await startPod(plan);
    const controller = new AbortController();
    let stored = '';
    let persisted = '';
    await followPod(plan.name, {
      signal: controller.signal,
      onOutput: (text, checkpoint) => {
        // The adapter stores the text, then persists the checkpoint; it is killed after ~1 MB.
        stored += text;
        persisted = JSON.stringify(checkpoint);
        if (stored.length > 1_000_000) controller.abort(new Error('adapter killed'));
      },
    }).catch(() => undefined);
    const decoded = decodeLogCheckpoint(JSON.parse(persisted));
    if (!decoded.success) throw new Error(decoded.issues.join('; '));
    expect(await readExitCode(plan.name)).toBeUndefined();
    const run = await followPod(plan.name, { checkpoint: decoded.value });
    expectExactly(stored + run.text, plan);
  });

  it('resumes from the persisted checkpoint after the follower process is SIGKILLed mid-run', async () => {
    const plan: PodPlan = { name: 'killed', count: 500, seed: 28, burst: 10, pauseMs: 60, finalFragment: '✓' };
    await startPod(plan);
    const out = join(mkdtempSync(join(tmpdir(), 'ck8s-log-')), 'records.ndjson');
    const childPath = fileURLToPath(new URL('../test/log-follow-child.ts', import.meta.url));
    const runChild = (checkpoint: string | null) =>
      spawn(process.execPath, ['--conditions=@claude-k8s/source', childPath], {
        env: {
          ...process.env,
          NS: namespace,
          POD: plan.name,
          OUT: out,
          ...(checkpoint ? { CHECKPOINT: checkpoint } : {}),
        },
        stdio: ['ignore', 'inherit', 'inherit'],
      });
    const readRecords = (): { text?: string; checkpoint?: LogCheckpoint; done?: boolean }[] =>
      readFileSync(out, 'utf8')
        .split('\n')
        .filter((line) => line.endsWith('}'))
        .flatMap((line) => {
          try {
            return [JSON.parse(line) as { text?: string; checkpoint?: LogCheckpoint; done?: boolean }];
          } catch {
            return []; // a record torn by the kill
          }
        });
    const first = runChild(null);
    await waitFor(
      '1.5 MB written by the first follower',
      120_000,
      () => {
        try {
          return statSync(out).size > 1_500_000;
        } catch {
          return false;
        }
      },
      { intervalMs: 50 },
    );
    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const before = readRecords();
    expect(before.some((record) => record.done)).toBe(false);
    expect(await readExitCode(plan.name)).toBeUndefined();
    const checkpoint = before.at(-1)?.checkpoint;
    const second = runChild(JSON.stringify(checkpoint));
    const code = await new Promise((resolve) => second.once('exit', resolve));
    expect(code).toBe(0);
    const records = readRecords();
    expect(records.at(-1)?.done).toBe(true);
    expectExactly(records.map((record) => record.text ?? '').join(''), plan);
  });

  it('completes the output when the container ends while disconnected', async () => {
    const server = new URL(admin.getCurrentCluster()?.server ?? '');
    let blocked = false;
    await using proxy = await startCuttingProxy({
      targetHost: server.hostname,
      targetPort: Number(server.port || 443),
      cutAfterBytes: () => (blocked ? 0 : undefined),
    });
    const plan: PodPlan = {
      name: 'ends-disconnected',
      count: 300,
      seed: 26,
      burst: 10,
      pauseMs: 30,
      finalFragment: 'bye',
    };
    await startPod(plan);
    let delivered = 0;
    const following = followPod(plan.name, {
      kubeConfig: configVia(`https://127.0.0.1:${proxy.port}`),
      onOutput: (text) => void (delivered += text.length),
    });
    await waitFor('100 kB delivered', 120_000, () => delivered > 100_000, { intervalMs: 50 });
    blocked = true;
    proxy.cutAll();
    await new Promise((resolve) => setTimeout(resolve, 50));
    for (let tries = 0; tries < 300 && (await readExitCode(plan.name)) === undefined; tries++)
      await new Promise((resolve) => setTimeout(resolve, 200));
    blocked = false;
    const run = await following;
    expectExactly(run.text, plan);
    expect(run.events.some((event) => event.type === 'final-read')).toBe(true);
  });

  it.runIf(isLocal)('reports a log rotation during a disconnect as a gap, never as silent loss', async () => {
    // containerLogMaxSize is 8Mi on the local cluster (internal/local-cluster/scripts/lib.sh); the kubelet checks
    // every 10 s. The pod writes ~25 MB while we are disconnected, waits for the rotation, then writes more.
    const server = new URL(admin.getCurrentCluster()?.server ?? '');
    let blocked = false;
    await using proxy = await startCuttingProxy({
      targetHost: server.hostname,
      targetPort: Number(server.port || 443),
      cutAfterBytes: () => (blocked ? 0 : undefined),
    });
    const seed = 27;
    const program = [
      // The generator's definitions (it prints nothing with count 0), then this test's own schedule.
      buildLogLinesScript({ count: 0, seed }),
      `const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));`,
      `(async () => {`,
      `  let index = 0;`,
      `  for (; index < 50; index++) { await write(logLine(index, ${seed}) + '\\n'); await sleep(20); }`,
      `  await sleep(3000);`,
      `  let bytes = 0; for (; bytes < 25e6; index++) { const line = logLine(index, ${seed}) + '\\n'; bytes += Buffer.byteLength(line); await write(line); }`,
      `  await sleep(25000);`,
      `  for (let end = index + 50; index < end; index++) { await write(logLine(index, ${seed}) + '\\n'); await sleep(20); }`,
      `  console.error('total ' + index);`,
      `})();`,
    ].join('\n');
    await core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'rotation' },
        spec: {
          restartPolicy: 'Never',
          automountServiceAccountToken: false,
          containers: [{ name: 'agent', image, imagePullPolicy: 'IfNotPresent', command: ['node', '-e', program] }],
        },
      },
    });
    let delivered = 0;
    const following = followPod('rotation', {
      kubeConfig: configVia(`https://127.0.0.1:${proxy.port}`),
      onOutput: (text) => void (delivered += (text.match(/\n/g) ?? []).length),
    });
    await waitFor('50 characters delivered', 120_000, () => delivered >= 50, { intervalMs: 50 });
    blocked = true;
    proxy.cutAll();
    await new Promise((resolve) => setTimeout(resolve, 30_000));
    blocked = false;
    const run = await following;
    const analysis = analyzeLogLines(run.text, seed);
    const gaps = run.events.filter((event) => event.type === 'gap');
    expect(gaps).toHaveLength(1);
    // In order, no duplicates, and the loss is one contiguous range after the checkpoint.
    const indices = analysis.indices;
    expect(indices.slice(0, 50)).toEqual(Array.from({ length: 50 }, (_, index) => index));
    for (let position = 1; position < indices.length; position++)
      expect(indices[position]).toBeGreaterThan(indices[position - 1]!);
    const jumps = indices.filter((index, position) => position > 0 && index !== indices[position - 1]! + 1);
    expect(jumps.length).toBe(1);
    expect(analysis.corrupt.length).toBeLessThanOrEqual(1);
  });
});
