/**
 * Scale benchmark on the local cluster (KUBECONFIG and CK8S_TEST_IMAGE from `local-cluster env`; prints figures, no
 * timed assertions):
 *   pnpm bench:scale:cluster
 * A burst of BENCH_RUNS (50) concurrent runs of a light scripted container (node printing BENCH_LINES timestamped
 * lines, BENCH_INTERVAL_MS apart) through `startRun` with a Lease and a prompt file (the same runtime path and Job
 * manifest as an agent run, not the CLI), once with the code before the shared streams (BENCH_BASELINE_REF, see
 * `baseline.ts`) and once with this tree, each in its own namespace; then the same number of bare Pods with the
 * Job's pod template, created at once. Figures: every line exactly once in every run; apiserver requests (from the
 * cluster's audit log, by namespace) and the most watch connections open at once (audit log: ResponseStarted →
 * ResponseComplete); Job resumed → container running (p50/p99, seen by the runtime's watch) against Pod created →
 * running (seen by one watch); line written → delivered to `onOutput` (p50/p99).
 */
import type * as Runtime from '../src/internal.ts';
import { readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { CoreV1Api, KubeConfig, Watch, type V1Pod } from '@kubernetes/client-node';
import { BASELINE_REF, extractBaseline, removeBaseline } from './baseline.ts';

type RuntimeModule = typeof Runtime;

const runs = Number(process.env['BENCH_RUNS'] ?? 50);
const LINES = Number(process.env['BENCH_LINES'] ?? 40);
const INTERVAL_MS = Number(process.env['BENCH_INTERVAL_MS'] ?? 250);
const image = process.env['CK8S_TEST_IMAGE'] ?? 'localhost/claude-k8s-agent:dev';
const uid = Number(process.env['CK8S_TEST_UID'] ?? '1000');
const auditLog =
  process.env['BENCH_AUDIT_LOG'] ??
  join(process.env['HOME'] ?? '/root', '.local/state/claude-k8s/cluster/logs/audit.log');

const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const core = kubeConfig.makeApiClient(CoreV1Api);

const program = [
  `let i = 0;`,
  `const tick = () => {`,
  `  process.stdout.write(JSON.stringify({ i, t: Date.now() }) + '\\n');`,
  `  i += 1;`,
  `  if (i < ${LINES}) setTimeout(tick, ${INTERVAL_MS});`,
  `};`,
  `tick();`,
].join('\n');

const percentile = (values: number[], p: number): number => {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;
};

async function withNamespace<T>(name: string, body: () => Promise<T>): Promise<T> {
  await core.createNamespace({
    body: { metadata: { name, labels: { 'pod-security.kubernetes.io/enforce': 'restricted' } } },
  });
  for (let i = 0; i < 300; i += 1) {
    const accounts = await core.listNamespacedServiceAccount({ namespace: name });
    if (accounts.items.some((sa) => sa.metadata?.name === 'default')) break;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  try {
    return await body();
  } finally {
    await core.deleteNamespace({ name }).catch(() => undefined);
  }
}

/** Requests and the most watches open at once, from the audit log lines appended since `offset`, for `namespace`. */
function auditFigures(
  offset: number,
  namespace: string,
): { requests: number; byVerb: Record<string, number>; maxWatches: number } {
  const text = readFileSync(auditLog).subarray(offset).toString('utf8');
  const seen = new Set<string>();
  const byVerb: Record<string, number> = {};
  const edges: { at: number; delta: number }[] = [];
  for (const line of text.split('\n')) {
    if (!line.includes(`"namespace":"${namespace}"`)) continue;
    const event = JSON.parse(line) as {
      auditID: string;
      stage: string;
      verb: string;
      objectRef?: { resource?: string; subresource?: string; namespace?: string };
      stageTimestamp: string;
    };
    // The benchmark's own set-up (namespace, its ServiceAccount wait) is not the runtime's.
    const resource = event.objectRef?.resource ?? '?';
    if (event.objectRef?.namespace !== namespace || resource === 'serviceaccounts' || resource === 'namespaces')
      continue;
    if (event.verb === 'watch') {
      if (event.stage === 'ResponseStarted') edges.push({ at: Date.parse(event.stageTimestamp), delta: 1 });
      if (event.stage === 'ResponseComplete') edges.push({ at: Date.parse(event.stageTimestamp), delta: -1 });
    }
    if (seen.has(event.auditID)) continue;
    seen.add(event.auditID);
    const sub = event.objectRef.subresource === undefined ? '' : `/${event.objectRef.subresource}`;
    const key = `${event.verb} ${resource}${sub}`;
    byVerb[key] = (byVerb[key] ?? 0) + 1;
  }
  edges.sort((a, b) => a.at - b.at || b.delta - a.delta);
  let open = 0;
  let maxWatches = 0;
  for (const edge of edges) {
    open += edge.delta;
    maxWatches = Math.max(maxWatches, open);
  }
  return { requests: seen.size, byVerb, maxWatches };
}

interface BurstFigures {
  code: string;
  namespace: string;
  codes: Record<string, number>;
  exactlyOnce: boolean;
  problems: string[];
  startMs: number[];
  latencyMs: number[];
  audit: ReturnType<typeof auditFigures>;
  seconds: number;
}

async function burst(code: 'baseline' | 'current', runtimeModule: RuntimeModule): Promise<BurstFigures> {
  const namespace = `scale-bench-${code}-${process.pid}`;
  return withNamespace(namespace, async () => {
    const offset = statSync(auditLog).size;
    const runtime = runtimeModule.createKubeRuntime({
      kubeConfig,
      namespace,
      runtimeId: 'scale-bench',
      ...(process.env['BENCH_DEBUG'] === '1'
        ? {
            logger: {
              debug: (message: string, data?: object) => console.error('debug', message, JSON.stringify(data)),
              info: (message: string, data?: object) => console.error('info', message, JSON.stringify(data)),
              warn: (message: string, data?: object) => console.error('warn', message, JSON.stringify(data)),
            },
          }
        : {}),
    });
    const latencyMs: number[] = [];
    const startMs: number[] = [];
    const problems: string[] = [];
    const begin = performance.now();
    const results = await Promise.all(
      Array.from({ length: runs }, async (_, index) => {
        let partial = '';
        const seen: number[] = [];
        let resumedAt = 0;
        const handle = await runtime.startRun({
          runId: `scale-${index}`,
          agentId: `scale-agent-${index}`,
          image,
          imagePullPolicy: 'Never',
          runAsUser: uid,
          command: ['node', '-e', program],
          timeoutSeconds: 600,
          files: { 'prompt.md': 'benchmark' },
          lockPolicy: 'reject',
          onProgress: (event) => {
            if (event.type === 'running') startMs.push(performance.now() - resumedAt);
          },
          onOutput: (text) => {
            const now = Date.now();
            const lines = (partial + text).split('\n');
            partial = lines.pop() ?? '';
            for (const line of lines) {
              try {
                const parsed = JSON.parse(line) as { i: number; t: number };
                seen.push(parsed.i);
                latencyMs.push(now - parsed.t);
              } catch {
                problems.push(`run ${index}: not a line of the script: ${line.slice(0, 120)}`);
              }
            }
          },
        });
        resumedAt = performance.now();
        if (process.env['BENCH_DEBUG'] === '1') console.error('started', handle.jobName);
        const outcome = await handle.outcome;
        if (process.env['BENCH_DEBUG'] === '1') console.error('ended', handle.jobName, outcome.code, outcome.message);
        if (seen.length !== LINES || seen.some((value, position) => value !== position))
          problems.push(`run ${index}: ${seen.length} lines ${JSON.stringify(seen.slice(0, 12))}…`);
        return outcome.code;
      }),
    );
    const seconds = (performance.now() - begin) / 1000;
    await new Promise((resolve) => setTimeout(resolve, 1500)); // the audit log is written asynchronously
    const codes: Record<string, number> = {};
    for (const value of results) codes[value] = (codes[value] ?? 0) + 1;
    return {
      code,
      namespace,
      codes,
      exactlyOnce: problems.length === 0,
      problems,
      startMs,
      latencyMs,
      audit: auditFigures(offset, namespace),
      seconds,
    };
  });
}

async function barePods(runtimeModule: RuntimeModule): Promise<number[]> {
  const namespace = `scale-bench-pods-${process.pid}`;
  return withNamespace(namespace, async () => {
    const job = runtimeModule.buildJobManifest({
      runId: 'bare',
      agentId: 'bare',
      image,
      imagePullPolicy: 'Never',
      runAsUser: uid,
      command: ['node', '-e', program],
      timeoutSeconds: 600,
      namespace,
      runtimeId: 'scale-bench',
      suspend: false,
    });
    const template = job.spec?.template;
    const created = new Map<string, number>();
    const startMs: number[] = [];
    const { promise: all, resolve } = Promise.withResolvers<void>();
    const watch = new Watch(kubeConfig);
    const request = await watch.watch(
      `/api/v1/namespaces/${namespace}/pods`,
      {},
      (_type: string, pod: V1Pod) => {
        const name = pod.metadata?.name ?? '';
        const at = created.get(name);
        const state = pod.status?.containerStatuses?.[0]?.state;
        if (at === undefined || (state?.running === undefined && state?.terminated === undefined)) return;
        created.delete(name);
        startMs.push(performance.now() - at);
        if (startMs.length === runs) resolve();
      },
      () => undefined,
    );
    await Promise.all(
      Array.from({ length: runs }, async (_, index) => {
        const name = `bare-${index}`;
        created.set(name, performance.now());
        await core.createNamespacedPod({
          namespace,
          body: {
            metadata: { name, labels: { 'app.kubernetes.io/name': 'scale-bench' } },
            spec: { ...template?.spec, containers: template?.spec?.containers ?? [], restartPolicy: 'Never' },
          },
        });
      }),
    );
    await all;
    request.abort();
    return startMs;
  });
}

const current: RuntimeModule = await import('../src/internal.ts');
const baseline = (await import(extractBaseline())) as RuntimeModule;
// The runtime's timers are unref'd and client-node's watch sockets do not hold the event loop: keep it alive.
const keepAlive = setInterval(() => undefined, 1000);
const bursts: BurstFigures[] = [];
let bare: number[];
try {
  console.error(`[bench:scale:cluster] ${runs} runs, code before the shared streams …`);
  bursts.push(await burst('baseline', baseline));
  console.error(`[bench:scale:cluster] ${runs} runs, this tree …`);
  bursts.push(await burst('current', current));
  console.error(`[bench:scale:cluster] ${runs} bare pods …`);
  bare = await barePods(current);
} finally {
  removeBaseline();
  clearInterval(keepAlive);
}

const fmt = (value: number, digits = 0): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const rows: [string, (f: BurstFigures) => string][] = [
  [
    'outcomes',
    (f) =>
      Object.entries(f.codes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  ],
  [
    'every line exactly once',
    (f) => (f.exactlyOnce ? `yes (${runs} × ${LINES})` : `NO: ${f.problems.slice(0, 2).join('; ')}`),
  ],
  ['apiserver requests (audit log)', (f) => String(f.audit.requests)],
  ['apiserver requests per run', (f) => fmt(f.audit.requests / runs, 2)],
  ['watch connections open at once (max)', (f) => String(f.audit.maxWatches)],
  [
    'Job resumed → running p50 / p99 (ms)',
    (f) => `${fmt(percentile(f.startMs, 0.5))} / ${fmt(percentile(f.startMs, 0.99))}`,
  ],
  [
    'line written → onOutput p50 / p99 (ms)',
    (f) => `${fmt(percentile(f.latencyMs, 0.5))} / ${fmt(percentile(f.latencyMs, 0.99))}`,
  ],
  ['burst wall time (s)', (f) => fmt(f.seconds, 1)],
];
const header = ['', `per-run watches (${BASELINE_REF.slice(0, 7)})`, 'shared streams (this tree)'];
const table = [header, ...rows.map(([name, cell]) => [name, ...bursts.map(cell)])];
table.push([
  `bare Pods: created → running p50 / p99 (ms)`,
  `${fmt(percentile(bare, 0.5))} / ${fmt(percentile(bare, 0.99))}`,
  '',
]);
const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
for (const [index, row] of table.entries()) {
  console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`);
  if (index === 0) console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
}
for (const f of bursts) console.log(`${f.code} requests by verb: ${JSON.stringify(f.audit.byVerb)}`);
