// End to end (issue 19): no run is lost when Paperclip restarts. A real Paperclip server with the adapter installed,
// Jobs on the real cluster, the real Claude Code CLI against the fake model API. The server is killed (SIGKILL) or
// stopped (SIGTERM) while a run's Job works, started again on the same database and home, and the same task is woken
// again (Paperclip's task key, here given in the wake payload as an issue wake does): the new run adopts the Job. One
// stack for all scenarios (CI time).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CoordinationV1Api, KubeConfig, type CoreV1Api } from '@kubernetes/client-node';
import type { Agent, Company, HeartbeatRun } from '@claude-k8s/paperclip-server';
import { waitFor } from '@claude-k8s/test-utils';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import {
  adminClients,
  compareStoredWithContainer,
  podsOfJob,
  restartPaperclip,
  startTestStack,
  stopTestStack,
  storedStdout,
  testProgress,
} from './harness.ts';

const namespace = `${process.env['CK8S_E2E_NAMESPACE_PREFIX'] ?? 'ck8s-e2e'}-adopt-${process.pid}`;
let stack: Stack;
let company: Company;

beforeAll(async () => {
  stack = await startTestStack(namespace);
  company = await stack.client.createCompany({ name: `e2e adoption ${process.pid}` });
});

afterAll(async () => {
  await stopTestStack(stack, namespace);
});

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

async function createAgent(name: string): Promise<Agent> {
  return stack.client.createAgent(company.id, {
    name,
    adapterType: ADAPTER_TYPE,
    adapterConfig: { ...stack.adapterConfig },
  });
}

/** Task keys of this file's runs (unique per process: the session volume is shared between files). */
const taskKey = (name: string): string => `adopt-e2e-${process.pid}-${name}`;

/** Wakes the agent for a task (the key Paperclip gives the adapter as `ctx.runtime.taskKey`). */
async function wakeForTask(agent: Agent, task: string): Promise<HeartbeatRun> {
  const run = await stack.client.wakeupAgent(agent.id, {
    source: 'on_demand',
    triggerDetail: 'manual',
    reason: 'e2e adoption',
    payload: { taskKey: task },
  });
  if (typeof run.id !== 'string') throw new Error(`the wake of ${task} made no run: ${JSON.stringify(run)}`);
  return run;
}

/** The Job of the agent's run `runId` (by our labels), once it exists. */
async function jobOfRun(runId: string): Promise<string> {
  const { batch } = adminClients(stack);
  return waitFor(`the Job of run ${runId}`, 120_000, async () => {
    const jobs = await batch.listNamespacedJob({ namespace, labelSelector: `claude-k8s.io/run-id=${runId}` });
    return jobs.items[0]?.metadata?.name;
  });
}

/**
 * The kubelet's copy of the container's output: a `follow` read started while the container runs, which ends when
 * the container ends (before the adapter's retention may delete the pod). Resolves with the pod name too.
 */
async function followContainerLog(core: CoreV1Api, jobName: string): Promise<{ pod: string; log: Promise<string> }> {
  const pod = await waitFor(`a running pod of ${jobName}`, 120_000, async () => {
    const running = (await podsOfJob(core, namespace, jobName)).find((item) => item.status?.phase === 'Running');
    return running?.metadata?.name;
  });
  // Each follow returns the whole log from its start; one the apiserver cuts (its HTTP/2 stream closed) is read again
  // while the pod exists. A follow that cannot finish resolves with a marker line, so the comparison fails with it.
  const log = (async (): Promise<string> => {
    let lastError: unknown = null;
    for (let attempt = 0; attempt < 10; attempt += 1) {
      try {
        return await core.readNamespacedPodLog({ name: pod, namespace, container: 'agent', follow: true });
      } catch (error) {
        lastError = error;
        testProgress.info(`the log follow of ${pod} was cut (${String(error)}); following again from the start`);
      }
    }
    return `the follow of ${pod} failed: ${String(lastError)}`;
  })();
  return { pod, log };
}

/** Waits until the container printed at least `lines` lines (the run is under way). */
async function waitForLines(core: CoreV1Api, pod: string, lines: number): Promise<void> {
  await waitFor(`${lines} lines from ${pod}`, 120_000, async () => {
    const log = await core.readNamespacedPodLog({ name: pod, namespace, container: 'agent' }).catch(() => '');
    return log.split('\n').filter((line) => line !== '').length >= lines;
  });
}

interface AdoptedFrom {
  runId: string;
  jobName: string;
  state: string;
}

const GONE = '(gone)';

/** Wakes the task again and waits for the run of the agent that adopted `orphanRunId`'s Job. */
async function adoptingRun(agent: Agent, task: string, orphanRunId: string, restartedAt: number) {
  const { batch } = adminClients(stack);
  const woken = await wakeForTask(agent, task);
  const jobName = await jobOfRun(orphanRunId).catch(() => null);
  // The moment the Job carries the claim of a new run: adoption done.
  const adoptedBy = await waitFor('the claim of the orphaned Job', 180_000, async () => {
    if (jobName === null) return undefined;
    const job = await batch.readNamespacedJob({ name: jobName, namespace }).catch(() => null);
    // A Job that had ended is replayed and deleted fast: gone = adopted and settled already (the run tells by whom).
    return job === null ? GONE : job.metadata?.annotations?.['claude-k8s.io/adopted-by'];
  }).catch(() => null);
  const adoptedAfterMs = Math.round(performance.now() - restartedAt);
  const runId = adoptedBy === null || adoptedBy === GONE ? woken.id : adoptedBy;
  const run = await stack.client.waitForRun(runId, { timeoutMs: 240_000, until: TERMINAL });
  return { run, adoptedAfterMs, woken };
}

/** The init line's session id in a stream-json transcript. */
function sessionOf(transcript: string): string | undefined {
  for (const line of transcript.split('\n')) {
    if (!line.startsWith('{')) continue;
    const record = JSON.parse(line) as { type?: string; session_id?: string };
    if (record.type === 'system' && record.session_id !== undefined) return record.session_id;
  }
  return undefined;
}

/** Asserts the adopting run: succeeded, stored stdout = the kubelet's copy, the orphan's session, nothing left. */
async function expectAdopted(
  label: string,
  adopting: HeartbeatRun,
  orphan: HeartbeatRun,
  containerLog: string,
  jobName: string,
  agent: Agent,
): Promise<void> {
  expect(adopting.id).not.toBe(orphan.id);
  expect(adopting.status, String(adopting['error'] ?? '')).toBe('succeeded');
  const adoptedFrom = (adopting['resultJson'] as { adoptedFrom?: AdoptedFrom } | null)?.adoptedFrom;
  expect(adoptedFrom).toMatchObject({ runId: orphan.id, jobName });
  const { records } = await stack.client.getRunLog(adopting.id);
  const stored = storedStdout(records);
  const comparison = compareStoredWithContainer(stored, containerLog);
  expect(comparison).toEqual({ ok: true });
  const stderr = records
    .filter((record) => record.stream === 'stderr')
    .map((record) => record.chunk)
    .join('');
  expect(stderr).toContain(`[claude-k8s] adopted Job ${namespace}/${jobName} of run ${orphan.id}`);
  const session = sessionOf(containerLog);
  expect(session).toBeDefined();
  expect(adopting['sessionIdAfter']).toBe(session);
  // Nothing left behind: the Job (deleted after its success), its pod, the agent's Lease.
  const { core, batch } = adminClients(stack);
  await waitFor(`no Job ${jobName}`, 60_000, async () => {
    const job = await batch.readNamespacedJob({ name: jobName, namespace }).catch(() => null);
    return job === null;
  });
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromFile(stack.adminKubeconfig);
  const coordination = kubeConfig.makeApiClient(CoordinationV1Api);
  const leases = await waitFor('no Lease of the orphan', 30_000, async () => {
    const list = await coordination.listNamespacedLease({ namespace });
    const mine = list.items.filter((lease) => lease.spec?.holderIdentity === orphan.id);
    return mine.length === 0 ? list.items.length : undefined;
  });
  expect(await podsOfJob(core, namespace, jobName)).toEqual([]);
  const lines = containerLog.split('\n').filter((line) => line !== '').length;
  testProgress.info(
    `${label}: ${lines} lines compared, stored = kubelet copy; session ${session}; ${leases} Leases left in the namespace`,
  );
  expect(agent.id).toBe(adopting.agentId);
}

describe(`adoption after a Paperclip restart (namespace ${namespace})`, () => {
  it(
    'SIGKILL in the middle of a run, and an orphan that finishes while the server is down: both adopted',
    { timeout: 900_000 },
    async () => {
      const { core } = adminClients(stack);
      const longAgent = await createAgent('adopt-long');
      const shortAgent = await createAgent('adopt-short');
      const longTask = taskKey('long');
      const shortTask = taskKey('short');

      // The short run: one slow reply (40 s), so it ends while the server is down.
      stack.fakeModel!.clearForcedScenarios();
      stack.fakeModel!.forceScenario('slow:40', { count: 1, match: shortAgent.id });
      const requestsBefore = stack.fakeModel!.requests.length;
      const shortOrphan = await wakeForTask(shortAgent, shortTask);
      const shortJob = await jobOfRun(shortOrphan.id);
      const shortLog = await followContainerLog(core, shortJob);
      await waitFor('the short run asked the model', 120_000, () =>
        stack
          .fakeModel!.requests.slice(requestsBefore)
          .some((request) => request.scenario?.name === 'slow' && JSON.stringify(request.body).includes(shortAgent.id)),
      );

      // The long run: 40 tool turns of about 4 s each, so it still works well after the restart (few turns: Paperclip's
      // run log endpoint serves 256 kB a page, the harness reads one).
      stack.fakeModel!.forceScenario('spend:40:1000:4000', { count: 41, match: longAgent.id });
      const longOrphan = await wakeForTask(longAgent, longTask);
      const longJob = await jobOfRun(longOrphan.id);
      const longLog = await followContainerLog(core, longJob);
      await waitForLines(core, longLog.pod, 6);

      // Paperclip's legacy run controller lease lasts 60 s: a run whose server died is reaped at start-up once it
      // expired. Down for 65 s (a crash and a slow restart).
      const restartedAt = await restartPaperclip(stack, 'SIGKILL', 65_000);
      for (const orphan of [shortOrphan, longOrphan]) {
        const reaped = await stack.client.waitForRun(orphan.id, { timeoutMs: 60_000, until: TERMINAL });
        testProgress.info(`orphan ${orphan.id} ended by Paperclip as ${reaped.status} (${String(reaped.errorCode)})`);
      }

      const long = await adoptingRun(longAgent, longTask, longOrphan.id, restartedAt);
      testProgress.info(`long run adopted ${long.adoptedAfterMs} ms after the restart`);
      await expectAdopted('SIGKILL, running', long.run, longOrphan, await longLog.log, longJob, longAgent);
      expect((long.run['resultJson'] as { adoptedFrom?: AdoptedFrom }).adoptedFrom?.state).toBe('running');

      const shortRestart = performance.now();
      const short = await adoptingRun(shortAgent, shortTask, shortOrphan.id, shortRestart);
      testProgress.info(`short run (ended while down) adopted ${short.adoptedAfterMs} ms after its wake`);
      await expectAdopted(
        'SIGKILL, ended while down',
        short.run,
        shortOrphan,
        await shortLog.log,
        shortJob,
        shortAgent,
      );
      expect((short.run['resultJson'] as { adoptedFrom?: AdoptedFrom }).adoptedFrom?.state).toBe('succeeded');

      // The agent's next run resumes the adopted session.
      stack.fakeModel!.clearForcedScenarios();
      stack.fakeModel!.forceScenario('text:resumed after the adoption', { count: 1, match: shortAgent.id });
      const next = await stack.client.waitForRun((await wakeForTask(shortAgent, shortTask)).id, {
        timeoutMs: 240_000,
        until: TERMINAL,
      });
      expect(next.status, String(next['error'] ?? '')).toBe('succeeded');
      expect(next['sessionIdBefore']).toBe(short.run['sessionIdAfter']);
    },
  );

  it('SIGTERM (graceful restart) in the middle of a run: adopted', { timeout: 600_000 }, async () => {
    const { core } = adminClients(stack);
    const agent = await createAgent('adopt-graceful');
    const task = taskKey('graceful');
    stack.fakeModel!.clearForcedScenarios();
    stack.fakeModel!.forceScenario('spend:25:1000:4000', { count: 26, match: agent.id });
    const orphan = await wakeForTask(agent, task);
    const jobName = await jobOfRun(orphan.id);
    const container = await followContainerLog(core, jobName);
    await waitForLines(core, container.pod, 6);

    const restartedAt = await restartPaperclip(stack, 'SIGTERM', 0);
    const ended = await stack.client.waitForRun(orphan.id, { timeoutMs: 60_000, until: TERMINAL });
    testProgress.info(`the orphan was ended by the shutdown as ${ended.status} (${String(ended.errorCode)})`);
    const adopted = await adoptingRun(agent, task, orphan.id, restartedAt);
    testProgress.info(`graceful: adopted ${adopted.adoptedAfterMs} ms after the restart`);
    await expectAdopted('SIGTERM, running', adopted.run, orphan, await container.log, jobName, agent);
    expect((adopted.run['resultJson'] as { adoptedFrom?: AdoptedFrom }).adoptedFrom?.state).toBe('running');
  });
});
