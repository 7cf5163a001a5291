/**
 * Scale benchmark against the fake apiserver (prints figures; no timed assertions):
 *   pnpm bench:scale                      (root; BENCH_RUNS=2000 by default)
 * N concurrent runs in one process, for today's code (shared Job/Pod streams) and, in the same invocation, for the
 * code before them (per-run Job and Pod watches: `packages/kube-runtime/src` at BENCH_BASELINE_REF, extracted with
 * `git archive` to `bench/.baseline/` and removed afterwards). Each side gets a fresh fake-cluster process
 * (`scale-server.ts`) and a fresh runs process (`scale-runs.ts`): watch connections open at the peak, requests per
 * run, the runs process's memory per run, and the time from a line's write to its delivery to `onOutput` (p50/p99).
 * BENCH_CODES=current,baseline picks the sides; BENCH_LINES, BENCH_INTERVAL_MS, BENCH_LINE_BYTES, BENCH_START_MS and
 * BENCH_CONSUMER_DELAY_MS shape the runs.
 */
import { execFileSync, fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { BASELINE_REF, extractBaseline, removeBaseline } from './baseline.ts';

const runs = Number(process.env['BENCH_RUNS'] ?? 2000);
const codes = (process.env['BENCH_CODES'] ?? 'baseline,current').split(',');
const benchDir = fileURLToPath(new URL('.', import.meta.url));

interface Figures {
  code: string;
  runs: number;
  seconds: number;
  codes: Record<string, number>;
  exactlyOnce: boolean;
  problems: string[];
  maxRunning: number;
  statsAtPeak: { openWatches: number; openLogStreams: number } | null;
  end: {
    requests: Record<string, number>;
    apiRequests: number;
    maxOpenWatches: number;
    logRequests: number;
    maxOpenLogStreams: number;
  };
  rssPerRunKiB: number;
  heapPerRunKiB: number;
  peakRssMiB: number;
  lines: number;
  latencyMs: { p50: number; p99: number; max: number };
}

async function measure(code: string): Promise<Figures> {
  const server = fork(`${benchDir}/scale-server.ts`, [], { stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
  try {
    const urls = await new Promise<{ apiUrl: string; logUrl: string }>((resolve, reject) => {
      server.once('message', (message) => resolve(message as { apiUrl: string; logUrl: string }));
      server.once('exit', (exitCode) => reject(new Error(`scale-server exited with ${exitCode}`)));
    });
    const output = execFileSync(
      process.execPath,
      ['--expose-gc', `${benchDir}/scale-runs.ts`, code, urls.apiUrl, urls.logUrl, String(runs)],
      { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 1024 * 1024 },
    );
    const line = output.trim().split('\n').at(-1) ?? '';
    return JSON.parse(line) as Figures;
  } finally {
    server.disconnect();
  }
}

if (codes.includes('baseline')) extractBaseline();
const results: Figures[] = [];
try {
  for (const code of codes) {
    console.error(`[bench:scale] ${runs} runs, ${code} code …`);
    results.push(await measure(code));
  }
} finally {
  removeBaseline();
}

const fmt = (value: number, digits = 1): string => (Number.isFinite(value) ? value.toFixed(digits) : '—');
const rows: [string, (f: Figures) => string][] = [
  ['runs (max running at once)', (f) => `${f.runs} (${f.maxRunning})`],
  [
    'outcomes',
    (f) =>
      Object.entries(f.codes)
        .map(([k, v]) => `${k} ${v}`)
        .join(', '),
  ],
  ['every line exactly once', (f) => (f.exactlyOnce ? 'yes' : `NO: ${f.problems.join('; ')}`)],
  ['watch connections open (peak)', (f) => String(f.end.maxOpenWatches)],
  ['watch connections open at 95% running', (f) => String(f.statsAtPeak?.openWatches ?? '—')],
  ['apiserver requests per run', (f) => fmt(f.end.apiRequests / f.runs, 2)],
  ['pods/log requests per run', (f) => fmt(f.end.logRequests / f.runs, 2)],
  ['runs-process RSS per run (KiB)', (f) => fmt(f.rssPerRunKiB)],
  ['runs-process heap per run (KiB)', (f) => fmt(f.heapPerRunKiB)],
  ['line write → onOutput p50 / p99 (ms)', (f) => `${fmt(f.latencyMs.p50, 0)} / ${fmt(f.latencyMs.p99, 0)}`],
  ['wall time (s)', (f) => fmt(f.seconds)],
];
const header = [
  '',
  ...results.map((f) =>
    f.code === 'baseline' ? `per-run watches (${BASELINE_REF.slice(0, 7)})` : 'shared streams (this tree)',
  ),
];
const table = [header, ...rows.map(([name, cell]) => [name, ...results.map(cell)])];
const widths = header.map((_, column) => Math.max(...table.map((row) => (row[column] ?? '').length)));
for (const [index, row] of table.entries()) {
  console.log(`| ${row.map((cell, column) => cell.padEnd(widths[column] ?? 0)).join(' | ')} |`);
  if (index === 0) console.log(`| ${widths.map((width) => '-'.repeat(width)).join(' | ')} |`);
}
for (const f of results) console.log(`${f.code} requests: ${JSON.stringify(f.end.requests)}`);
