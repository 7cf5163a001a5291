import { dirname } from 'node:path';
import { BatchV1Api, CoreV1Api, KubeConfig, RbacAuthorizationV1Api, type V1Pod } from '@kubernetes/client-node';
import {
  startPaperclipServer,
  type HeartbeatRun,
  type PaperclipServer,
  type RunLogRecord,
} from '@claude-k8s/paperclip-server';
import { startStack, type Stack } from '../start-stack.ts';
import { deleteNamespaceAndVolumes } from '../tenant.ts';

/** Progress of the stack in tests: lines on stderr with a prefix. */
export const testProgress = {
  step: (name: string) => void process.stderr.write(`[e2e] ${name}\n`),
  done: (name: string, detail?: string) =>
    void process.stderr.write(`[e2e] done: ${name}${detail ? ` (${detail})` : ''}\n`),
  info: (line: string) => void process.stderr.write(`[e2e]   ${line}\n`),
};

/** The stack for an e2e file: the cluster of KUBECONFIG (set by scripts/with-cluster.sh), a real Paperclip, the adapter. */
export async function startTestStack(
  namespace: string,
  options: { sharedWorkspaces?: boolean; allowedSecrets?: readonly string[] } = {},
): Promise<Stack> {
  const kubeconfig = process.env['KUBECONFIG'];
  if (!kubeconfig)
    throw new Error('The e2e tier needs a cluster: run it through scripts/with-cluster.sh, or set KUBECONFIG.');
  return startStack({ kubeconfig, namespace, progress: testProgress, ...options });
}

/**
 * Stops an e2e file's stack (the cluster stays for the next file) and deletes its namespace, unless
 * CK8S_KEEP_NAMESPACE=1 keeps it for inspection. Nothing to do when the stack never started.
 */
export async function stopTestStack(stack: Stack | undefined, namespace: string): Promise<void> {
  if (!stack) return;
  for (const server of restartedServers.get(stack) ?? []) await server.stop().catch(() => undefined);
  await stack.stop({ keepCluster: true });
  if (process.env['CK8S_KEEP_NAMESPACE'] !== '1')
    await deleteNamespaceAndVolumes(stack.adminKubeconfig, namespace, {
      // The session volume's host directory is `<cluster state>/sessions/<namespace>`.
      ...(stack.tenant.sessionHostPath ? { hostRoot: dirname(stack.tenant.sessionHostPath) } : {}),
    }).catch(() => undefined);
}

/** The servers {@link restartPaperclip} started (the stack's own stop knows only the first). */
const restartedServers = new WeakMap<Stack, PaperclipServer[]>();

/**
 * Stops the stack's Paperclip server (SIGKILL: only the node process, as a crash; SIGTERM: Paperclip's graceful
 * shutdown) and starts it again on the same home, database and ports, after `downMs` in all; `stack.server` is the
 * new one ({@link stopTestStack} stops it). Resolves with the time the new server answered (`performance.now()`).
 */
export async function restartPaperclip(stack: Stack, signal: 'SIGKILL' | 'SIGTERM', downMs: number): Promise<number> {
  const old = stack.server;
  const stoppedAt = performance.now();
  if (signal === 'SIGKILL') process.kill(old.pid, 'SIGKILL');
  // After a SIGKILL this only reaps what the dead server left (its PostgreSQL); after SIGTERM it is the shutdown.
  const report = await old.stop({ keepDataDir: true, gracefulTimeoutMs: 60_000 });
  testProgress.info(`server stopped by ${signal} (graceful: ${report.graceful}) in ${report.durationMs} ms`);
  const waitMs = downMs - (performance.now() - stoppedAt);
  if (waitMs > 0) await new Promise((resolve) => setTimeout(resolve, waitMs));
  const server = await startPaperclipServer({
    dataDir: old.dataDir,
    port: old.port,
    databasePort: old.databasePort,
    // The same environment, operator policy included (a restart does not change what agents may ask for).
    env: stack.serverEnv,
  });
  restartedServers.set(stack, [...(restartedServers.get(stack) ?? []), server]);
  stack.server = server;
  testProgress.info(
    `server up again after ${Math.round(performance.now() - stoppedAt)} ms (start ${server.startDurationMs} ms)`,
  );
  return performance.now();
}

/** Kubernetes clients with the admin kubeconfig (for assertions only; the adapter uses its own ServiceAccount token). */
export function adminClients(stack: Stack): { core: CoreV1Api; batch: BatchV1Api } {
  const config = new KubeConfig();
  config.loadFromFile(stack.adminKubeconfig);
  return { core: config.makeApiClient(CoreV1Api), batch: config.makeApiClient(BatchV1Api) };
}

/** The RBAC client with the admin kubeconfig (to take rules away from the adapter's Role in tests). */
export function adminRbac(stack: Stack): { rbac: RbacAuthorizationV1Api } {
  const config = new KubeConfig();
  config.loadFromFile(stack.adminKubeconfig);
  return { rbac: config.makeApiClient(RbacAuthorizationV1Api) };
}

/** The stdout the run stored in Paperclip, concatenated in `seq` order. */
export function storedStdout(records: readonly RunLogRecord[]): string {
  return [...records]
    .sort((a, b) => a.seq - b.seq)
    .filter((record) => record.stream === 'stdout')
    .map((record) => record.chunk)
    .join('');
}

/** The pods of a run's Job (label `job-name`). */
export async function podsOfJob(core: CoreV1Api, namespace: string, jobName: string): Promise<V1Pod[]> {
  return (await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` })).items;
}

/** The Job name the adapter reported for a run (in the `adapter.invoke` event from `onMeta`, or in `resultJson`). */
export async function jobNameOf(stack: Stack, run: HeartbeatRun): Promise<string | undefined> {
  const pattern = /"jobName":"([a-z0-9-]+)"/;
  for (const event of await stack.client.getRunEvents(run.id)) {
    const match = pattern.exec(JSON.stringify(event));
    if (match) return match[1];
  }
  return pattern.exec(JSON.stringify(run['resultJson'] ?? {}))?.[1];
}

/**
 * Asserts that Paperclip's stored stdout is the container's output, every line once and in order, allowing only
 * what the server itself does to a log: its own `[paperclip] …` notes, and the redaction of secret-looking words
 * (`***REDACTED***`).
 */
export function compareStoredWithContainer(
  stored: string,
  container: string,
): { ok: true } | { ok: false; line: number; stored: string; container: string } {
  const storedLines = stored.split('\n').filter((line) => !line.startsWith('[paperclip] '));
  const containerLines = container.split('\n');
  if (storedLines.length !== containerLines.length) {
    return {
      ok: false,
      line: Math.min(storedLines.length, containerLines.length),
      stored: `${storedLines.length} lines`,
      container: `${containerLines.length} lines`,
    };
  }
  for (let index = 0; index < storedLines.length; index += 1) {
    const storedLine = storedLines[index]!;
    const containerLine = containerLines[index]!;
    if (storedLine === containerLine) continue;
    const pattern = new RegExp(
      `^${storedLine
        .split('***REDACTED***')
        .map((part) => part.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'))
        .join('.+?')}$`,
    );
    if (!pattern.test(containerLine))
      return { ok: false, line: index + 1, stored: storedLine.slice(0, 300), container: containerLine.slice(0, 300) };
  }
  return { ok: true };
}

/** What the run-token probe ({@link runTokenProbeScenario}) saw in the pod: the HTTP status of each of its calls. */
export interface RunTokenProbeResult {
  /** The API base the pod called (from PAPERCLIP_API_URL). */
  api: string;
  /** GET of its own issue with its run token, and the issue's title. */
  read: number;
  title: string;
  /** POST of a comment on it: `comment from the pod on <title>`. */
  comment: number;
  /** PATCH of its status to `done`; `statusError` is the start of the answer when that failed. */
  status: number;
  statusError: string;
  /** GET of its own issue with another run's id in `x-paperclip-run-id`. */
  otherRun: number;
  /** GET of another issue (`otherIssueId`), when one was given. */
  otherIssue?: number;
  /** GET of its own issue with the token's last characters changed, and with a token that is not one. */
  forged: number;
  garbage: number;
  /** The pod's working directory. */
  cwd: string;
  /** The pod's values of the environment variables the probe was asked for (`env`). */
  env: Record<string, string | undefined>;
}

const PROBE_MARKER = 'RUN_TOKEN_PROBE';

/**
 * The fake model's scenario (`bash:…`) that has the agent's CLI run the run-token probe in the pod: with its run
 * token (PAPERCLIP_API_KEY) the pod reads its issue, comments on it and sets it done, then tries the token with
 * `otherRunId` as the run id, on `otherIssueId`, forged, and a token that is not one; it prints one line that
 * {@link runTokenProbeResult} reads back, with the values of the `env` variables it sees.
 */
export function runTokenProbeScenario(options: {
  otherRunId: string;
  otherIssueId?: string;
  env?: readonly string[];
}): string {
  const { otherRunId, otherIssueId, env = [] } = options;
  for (const id of [otherRunId, otherIssueId ?? otherRunId])
    if (!/^[0-9a-f-]+$/.test(id)) throw new Error(`not an id: ${id}`);
  for (const name of env) if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not an env name: ${name}`);
  const script = [
    "const base=(process.env.PAPERCLIP_API_URL||'').replace(/\\/+$/,'').replace(/\\/api$/,'')+'/api';",
    'const t=process.env.PAPERCLIP_TASK_ID;',
    "const h={authorization:'Bearer '+process.env.PAPERCLIP_API_KEY,'content-type':'application/json','x-paperclip-run-id':process.env.PAPERCLIP_RUN_ID};",
    '(async()=>{',
    "const r=await fetch(base+'/issues/'+t,{headers:h});const issue=await r.json();",
    "const c=await fetch(base+'/issues/'+t+'/comments',{method:'POST',headers:h,body:JSON.stringify({body:'comment from the pod on '+issue.title})});",
    "const s=await fetch(base+'/issues/'+t,{method:'PATCH',headers:h,body:JSON.stringify({status:'done'})});const st=s.status>=300?(await s.text()).slice(0,200):'';",
    `const otherRun=await fetch(base+'/issues/'+t,{headers:{...h,'x-paperclip-run-id':'${otherRunId}'}});`,
    otherIssueId === undefined
      ? 'const otherIssue=undefined;'
      : `const otherIssue=(await fetch(base+'/issues/${otherIssueId}',{headers:h})).status;`,
    "const k=process.env.PAPERCLIP_API_KEY;const forged=await fetch(base+'/issues/'+t,{headers:{authorization:'Bearer '+k.slice(0,-6)+(k.endsWith('AAAAAA')?'BBBBBB':'AAAAAA')}});",
    "const garbage=await fetch(base+'/issues/'+t,{headers:{authorization:'Bearer not-a-token'}});",
    `const env=Object.fromEntries([${env.map((name) => `'${name}'`).join(',')}].map((n)=>[n,process.env[n]]));`,
    `console.log('${PROBE_MARKER} '+JSON.stringify({api:base,read:r.status,title:issue.title,comment:c.status,status:s.status,statusError:st,otherRun:otherRun.status,otherIssue,forged:forged.status,garbage:garbage.status,cwd:process.cwd(),env}));`,
    `})().catch(e=>{console.log('${PROBE_MARKER}_ERROR '+e+' '+(e&&e.cause));process.exit(1)});`,
  ].join('');
  return `bash:node -e "${script.replace(/"/g, '\\"')}"`;
}

/** The probe's line in the run's result, or `undefined` when the run has none (its model calls went elsewhere). */
export function runTokenProbeResult(run: HeartbeatRun): RunTokenProbeResult | undefined {
  const text = JSON.stringify(run['resultJson'] ?? null).replace(/\\"/g, '"');
  const line = new RegExp(`${PROBE_MARKER} (\\{.*?\\})(?:\\\\n|")`).exec(text)?.[1];
  return line === undefined ? undefined : (JSON.parse(line) as RunTokenProbeResult);
}
