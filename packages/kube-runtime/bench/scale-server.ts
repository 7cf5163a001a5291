/**
 * The "cluster" of the fake-apiserver scale benchmark, in its own process (so that the runs' process measures only
 * itself): the fake apiserver (internal/kube-fakes) with its Job controller, a simulated kubelet that starts each pod,
 * prints timestamped lines into a per-pod `pods/log` endpoint and ends the container, and a `/stats` endpoint that
 * reports the requests and open connections it saw. Started by `scale-fake.ts` (fork, IPC): sends
 * `{ apiUrl, logUrl }` once listening.
 */
import { createServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { createFakeCluster, startFakeApiserver } from '@claude-k8s/kube-fakes';
import type { V1Job, V1Pod } from '@kubernetes/client-node';

const NS = process.env['BENCH_NAMESPACE'] ?? 'bench';
/** Delay from pod creation to the container's start. Milliseconds. */
const START_MS = Number(process.env['BENCH_START_MS'] ?? 200);
const LINES = Number(process.env['BENCH_LINES'] ?? 20);
const INTERVAL_MS = Number(process.env['BENCH_INTERVAL_MS'] ?? 250);
const LINE_BYTES = Number(process.env['BENCH_LINE_BYTES'] ?? 200);

interface PodLog {
  records: { timestamp: string; line: Buffer }[];
  terminated: boolean;
  waiters: (() => void)[];
  lastMicros: number;
}

const cluster = createFakeCluster();
const api = await startFakeApiserver({ cluster });
const logs = new Map<string, PodLog>();
let logRequests = 0;
let openLogStreams = 0;
let maxOpenLogStreams = 0;
let maxOpenWatches = 0;
let kubeletWatches = 0;

const podLog = (name: string): PodLog => {
  let log = logs.get(name);
  if (log === undefined) {
    log = { records: [], terminated: false, waiters: [], lastMicros: 0 };
    logs.set(name, log);
  }
  return log;
};
const wake = (log: PodLog): void => {
  const waiters = log.waiters;
  log.waiters = [];
  for (const waiter of waiters) waiter();
};
/** RFC3339Nano with microsecond steps, strictly increasing per pod. */
const stamp = (log: PodLog): string => {
  const micros = Math.max(Date.now() * 1000, log.lastMicros + 1);
  log.lastMicros = micros;
  const iso = new Date(Math.floor(micros / 1000)).toISOString().slice(0, 19);
  return `${iso}.${String(micros % 1_000_000).padStart(6, '0')}000Z`;
};

const logServer = createServer((request, response) => {
  const url = new URL(request.url ?? '/', 'http://fake');
  if (url.pathname === '/stats') {
    sendStats(response);
    return;
  }
  const match = /^\/api\/v1\/namespaces\/[^/]+\/pods\/([^/]+)\/log$/.exec(url.pathname);
  const log = match === null ? undefined : logs.get(decodeURIComponent(match[1] ?? ''));
  if (log === undefined) {
    response.writeHead(404, { 'content-type': 'application/json' }).end('{"kind":"Status","code":404}');
    return;
  }
  logRequests += 1;
  openLogStreams += 1;
  maxOpenLogStreams = Math.max(maxOpenLogStreams, openLogStreams);
  const follow = url.searchParams.get('follow') === 'true';
  const timestamps = url.searchParams.get('timestamps') === 'true';
  const sinceRaw = url.searchParams.get('sinceTime');
  // The apiserver truncates sinceTime to whole seconds and compares inclusively.
  const since = sinceRaw === null ? null : `${new Date(sinceRaw).toISOString().slice(0, 19)}.000000000Z`;
  response.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
  let closed = false;
  response.on('close', () => {
    closed = true;
    openLogStreams -= 1;
    wake(log);
  });
  void (async () => {
    let position = 0;
    for (;;) {
      while (position < log.records.length && !closed) {
        const record = log.records[position];
        position += 1;
        if (record === undefined || (since !== null && record.timestamp < since)) continue;
        const data = timestamps ? Buffer.concat([Buffer.from(`${record.timestamp} `), record.line]) : record.line;
        if (!response.write(data))
          await new Promise<void>((resolve) => {
            response.once('drain', resolve);
            response.once('close', resolve);
          });
      }
      if (!follow || log.terminated || closed) break;
      await new Promise<void>((resolve) => log.waiters.push(resolve));
    }
    if (!closed) response.end();
  })();
});

function sendStats(response: ServerResponse): void {
  const requests: Record<string, number> = {};
  for (const line of api.log) {
    const [method = '', path = ''] = line.split(' ');
    const url = new URL(path, 'http://fake');
    const segments = url.pathname.split('/');
    const at = segments.indexOf('namespaces') + 2;
    const kind = segments[at] ?? '?';
    const named = segments.length > at + 1;
    const verb =
      method === 'GET'
        ? url.searchParams.get('watch') === 'true'
          ? 'watch'
          : named
            ? 'get'
            : 'list'
        : ({ POST: 'create', PATCH: 'patch', PUT: 'update', DELETE: 'delete' } as Record<string, string>)[method];
    const key = `${verb} ${kind}`;
    requests[key] = (requests[key] ?? 0) + 1;
  }
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      requests,
      apiRequests: api.log.length,
      openWatches: cluster.openWatches - kubeletWatches,
      maxOpenWatches,
      logRequests,
      openLogStreams,
      maxOpenLogStreams,
    }),
  );
}

// The kubelet: an in-process watch of pods (not an HTTP request, not counted).
const started = new Set<string>();
const kubelet = new AbortController();
kubeletWatches = 1;
void cluster.ports.watch('pods', NS, { resourceVersion: '0', signal: kubelet.signal }, (event) => {
  if (event.type !== 'ADDED') return;
  const pod = event.object as V1Pod;
  const name = pod.metadata?.name ?? '';
  const jobName = pod.metadata?.labels?.['batch.kubernetes.io/job-name'] ?? '';
  if (started.has(name)) return;
  started.add(name);
  const log = podLog(name);
  setTimeout(() => {
    cluster.mutate<V1Pod>('pods', NS, name, (p) => {
      p.spec = { ...p.spec, containers: p.spec?.containers ?? [], nodeName: 'node-1' };
      p.status = {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'agent',
            image: 'bench',
            imageID: '',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: new Date() } },
          },
        ],
      };
    });
    let index = 0;
    const timer = setInterval(() => {
      const head = `{"type":"bench","i":${index},"t":${Date.now()},"pad":"`;
      const line = `${head}${'x'.repeat(Math.max(0, LINE_BYTES - head.length - 3))}"}\n`;
      log.records.push({ timestamp: stamp(log), line: Buffer.from(line) });
      wake(log);
      index += 1;
      if (index < LINES) return;
      clearInterval(timer);
      log.terminated = true;
      wake(log);
      cluster.mutate<V1Pod>('pods', NS, name, (p) => {
        p.status = {
          phase: 'Succeeded',
          containerStatuses: [
            {
              name: 'agent',
              image: 'bench',
              imageID: '',
              ready: false,
              restartCount: 0,
              state: { terminated: { exitCode: 0, reason: 'Completed', startedAt: new Date() } },
            },
          ],
        };
      });
      cluster.mutate<V1Job>('jobs', NS, jobName, (job) => {
        job.status = { conditions: [{ type: 'Complete', status: 'True', reason: 'CompletionsReached' }] };
      });
    }, INTERVAL_MS);
  }, START_MS);
});
setInterval(() => {
  maxOpenWatches = Math.max(maxOpenWatches, cluster.openWatches - kubeletWatches);
}, 20).unref();

await new Promise<void>((resolve) => logServer.listen(0, '127.0.0.1', resolve));
const { port } = logServer.address() as AddressInfo;
process.send?.({ apiUrl: api.url, logUrl: `http://127.0.0.1:${port}` });
process.on('disconnect', () => {
  kubelet.abort();
  logServer.closeAllConnections();
  logServer.close();
  void api.close().then(() => process.exit(0));
});
