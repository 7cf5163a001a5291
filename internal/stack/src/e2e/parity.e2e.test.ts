// End to end (issue 13): agent parity with claude_local on a real Paperclip server and the real cluster, with the
// real Claude Code CLI against the fake model API. One stack for every scenario, run one after another (the fake
// model's forced scenarios are global).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Company, HeartbeatRun, Issue } from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import { callApi, type ApiAnswer } from '../raw-api.ts';
import {
  adminClients,
  runTokenProbeResult,
  runTokenProbeScenario,
  startTestStack,
  stopTestStack,
  testProgress,
} from './harness.ts';

const namespace = `parity-e2e-${process.pid}`;
let stack: Stack;
let company: Company;

beforeAll(async () => {
  // The operator admits the Secret the envRefs scenario references (CLAUDE_K8S_ALLOWED_SECRETS).
  stack = await startTestStack(namespace, { allowedSecrets: ['parity-gh'] });
  company = await stack.client.createCompany({ name: `parity ${process.pid}` });
});

afterAll(() => stopTestStack(stack, namespace));

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

/** A raw call of Paperclip's API as the board (status and JSON body; no throw on non-2xx). */
function api<T = Record<string, unknown>>(method: string, path: string, body?: unknown): Promise<ApiAnswer<T>> {
  return callApi<T>(`${stack.server.apiUrl}${path}`, method, body);
}

/** Scripts the next `count` model requests of one agent (its id is in Paperclip's wake prompt): a late run of an earlier test's agent cannot take them. */
function scriptModel(scenario: string, count: number, agentId: string): void {
  stack.fakeModel!.clearForcedScenarios();
  stack.fakeModel!.forceScenario(scenario, { count, match: agentId });
}

async function runsOf(agentId: string): Promise<HeartbeatRun[]> {
  return stack.client.listCompanyRuns(company.id, { agentId, limit: 50 });
}

/** Creates an issue assigned to the agent and returns it with the run Paperclip started for it. */
async function assignIssue(agentId: string, title: string): Promise<{ issue: Issue; run: HeartbeatRun }> {
  const before = new Set((await runsOf(agentId)).map((run) => run.id));
  const issue = await stack.client.createIssue(company.id, {
    title,
    description: `Scripted parity check: ${title}`,
    assigneeAgentId: agentId,
    status: 'todo',
  });
  const deadline = Date.now() + 30_000;
  for (;;) {
    const fresh = (await runsOf(agentId)).filter((run) => !before.has(run.id));
    const mine = fresh.find((run) => JSON.stringify(run['contextSnapshot'] ?? {}).includes(issue.id));
    if (mine) return { issue, run: mine };
    if (Date.now() > deadline) throw new Error(`no run started for issue ${issue.id} within 30 s`);
    await new Promise((resolve) => setTimeout(resolve, 300));
  }
}

describe(`claude_k8s parity with claude_local (namespace ${namespace})`, () => {
  it('env: Kubernetes references in envRefs and a Paperclip secret in env round-trip through POST/PATCH /api/agents and reach the pod; the pod uses its run token on the API, another run id and a forged token are refused', async () => {
    const { core } = adminClients(stack);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: 'parity-gh' }, stringData: { token: 'gh-from-a-kubernetes-secret' } },
    });
    await core.createNamespacedConfigMap({
      namespace,
      body: { metadata: { name: 'parity-settings' }, data: { mode: 'mode-from-a-configmap' } },
    });
    const secret = await api<{ id: string }>('POST', `/companies/${company.id}/secrets`, {
      name: 'parity-pc-secret',
      value: 'value-from-a-paperclip-secret',
    });
    expect(secret.status, JSON.stringify(secret.body)).toBeLessThan(300);

    // What the guide documented before: a Kubernetes reference inside env. Paperclip refuses it.
    const refused = await api('POST', `/companies/${company.id}/agents`, {
      name: 'refused-env',
      adapterType: ADAPTER_TYPE,
      adapterConfig: {
        ...stack.adapterConfig,
        env: { GH_TOKEN: { secretKeyRef: { name: 'parity-gh', key: 'token' } } },
      },
    });
    expect(refused.status, JSON.stringify(refused.body)).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('adapterConfig.env must be a map of valid env bindings');

    const envRefs = { GH_TOKEN: { secretKeyRef: { name: 'parity-gh', key: 'token' } } };
    const created = await api<{ id: string }>('POST', `/companies/${company.id}/agents`, {
      name: 'api-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: {
        ...stack.adapterConfig,
        dangerouslySkipPermissions: true,
        envRefs,
        env: { PC_SECRET: { type: 'secret_ref', secretId: secret.body.id, version: 'latest' } },
      },
    });
    expect(created.status, JSON.stringify(created.body)).toBeLessThan(300);
    const agentId = created.body.id;
    const allRefs = {
      ...envRefs,
      MODE: { configMapKeyRef: { name: 'parity-settings', key: 'mode', optional: true } },
    };
    const patched = await api('PATCH', `/agents/${agentId}`, { adapterConfig: { envRefs: allRefs } });
    expect(patched.status, JSON.stringify(patched.body)).toBeLessThan(300);
    const stored = (
      await api<{ adapterConfig: { envRefs: unknown; env: Record<string, unknown> } }>('GET', `/agents/${agentId}`)
    ).body;
    // Paperclip's GET redacts values under secret-looking names (GH_TOKEN) when it shows a config; what it stored is
    // intact: the pod below reads the Secret through that very reference.
    expect(stored.adapterConfig.envRefs).toEqual({ ...allRefs, GH_TOKEN: '***REDACTED***' });
    expect(stored.adapterConfig.env['PC_SECRET']).toMatchObject({ type: 'secret_ref', secretId: secret.body.id });
    testProgress.info(`stored adapterConfig.envRefs ${JSON.stringify(stored.adapterConfig.envRefs)}`);

    // Another run's id: a well-formed one no run has.
    scriptModel(
      runTokenProbeScenario({
        otherRunId: '00000000-0000-4000-8000-000000000000',
        env: ['GH_TOKEN', 'MODE', 'PC_SECRET'],
      }),
      2,
      agentId,
    );
    const { issue, run } = await assignIssue(agentId, 'parity API access');
    const ended = await stack.client.waitForRun(run.id, { timeoutMs: 240_000, until: TERMINAL });
    expect(ended.status, String(ended['error'] ?? '')).toBe('succeeded');
    const seen = runTokenProbeResult(ended);
    expect(seen, JSON.stringify(ended['resultJson']).slice(0, 2000)).toBeDefined();
    testProgress.info(`pod saw ${JSON.stringify(seen)}`);
    expect(seen).toMatchObject({
      read: 200,
      title: 'parity API access',
      comment: 201,
      status: 200,
      env: {
        GH_TOKEN: 'gh-from-a-kubernetes-secret',
        MODE: 'mode-from-a-configmap',
        PC_SECRET: 'value-from-a-paperclip-secret',
      },
    });
    expect(seen!.otherRun).toBe(422);
    expect(seen!.forged).toBe(401);
    expect(seen!.cwd).toMatch(new RegExp(`/workspaces/${agentId}/.+`));

    // What Paperclip stored, read back through its API.
    const comments = await api<{ body: string }[]>('GET', `/issues/${issue.id}/comments`);
    const bodies = comments.body.map((comment) => comment.body);
    expect(bodies).toContain('comment from the pod on parity API access');
    const after = (await api<{ status: string }>('GET', `/issues/${issue.id}`)).body;
    expect(after.status).toBe('done');
    testProgress.info(`issue ${issue.id}: status ${after.status}, comments ${JSON.stringify(bodies)}`);
  });

  it("a run that exhausts its max turns gets Paperclip's max-turns continuation run on the same issue", async () => {
    const created = await stack.client.createAgent(company.id, {
      name: 'max-turns-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { ...stack.adapterConfig, maxTurnsPerRun: 1, dangerouslySkipPermissions: true },
    });
    // The first model call asks for a tool: with --max-turns 1 the CLI stops there (error_max_turns).
    scriptModel('bash:true', 1, created.id);
    const { issue, run } = await assignIssue(created.id, 'parity max turns');
    const first = await stack.client.waitForRun(run.id, { timeoutMs: 240_000, until: TERMINAL });
    stack.fakeModel!.clearForcedScenarios();
    expect(first.status).toBe('failed');
    expect(first.errorCode).toBe('max_turns_exhausted');
    const deadline = Date.now() + 60_000;
    let continuation: HeartbeatRun | undefined;
    while (!continuation && Date.now() < deadline) {
      continuation = (await runsOf(created.id)).find(
        (candidate) =>
          candidate.id !== first.id &&
          JSON.stringify(candidate['contextSnapshot'] ?? {}).includes('max_turns_continuation_retry'),
      );
      if (!continuation) await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(continuation, 'no continuation run within 60 s').toBeDefined();
    expect(JSON.stringify(continuation!['contextSnapshot'])).toContain(issue.id);
    const second = await stack.client.waitForRun(continuation!.id, { timeoutMs: 240_000, until: TERMINAL });
    expect(second.status, String(second['error'] ?? '')).toBe('succeeded');
    testProgress.info(
      `max turns: run ${first.id} ${first.status}/${String(first.errorCode)} (stopReason ${String(first['resultJson']?.['stopReason'])}), continuation ${second.id} ${second.status}`,
    );
  });

  it('two issues of one agent run at the same time (both Jobs active together, read from the API server)', async () => {
    const created = await stack.client.createAgent(company.id, {
      name: 'concurrent-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { ...stack.adapterConfig },
    });
    scriptModel('slow:25', 2, created.id);
    const first = await assignIssue(created.id, 'parity concurrent one');
    const second = await assignIssue(created.id, 'parity concurrent two');
    const { batch } = adminClients(stack);
    let together = 0;
    const deadline = Date.now() + 120_000;
    while (Date.now() < deadline && together === 0) {
      const jobs = await batch.listNamespacedJob({
        namespace,
        labelSelector: `claude-k8s.io/agent-id=${created.id}`,
      });
      const active = jobs.items.filter((job) => (job.status?.active ?? 0) > 0);
      if (active.length >= 2) together = active.length;
      else await new Promise((resolve) => setTimeout(resolve, 500));
    }
    expect(together).toBe(2);
    const ends = await Promise.all(
      [first.run, second.run].map((run) => stack.client.waitForRun(run.id, { timeoutMs: 240_000, until: TERMINAL })),
    );
    for (const run of ends) expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    testProgress.info(`both Jobs active together; runs ${ends.map((run) => `${run.id}: ${run.status}`).join(', ')}`);
  });

  it('a CLI that lingers after its result ends right after resultGraceSec, with that result', async () => {
    const created = await stack.client.createAgent(company.id, {
      name: 'lingering-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: {
        ...stack.adapterConfig,
        resultGraceSec: 3,
        graceSec: 5,
        timeoutSec: 600,
        // A SessionEnd hook keeps the CLI alive after it printed its result (the hook's own timeout raised).
        env: { CLAUDE_CODE_SESSIONEND_HOOKS_TIMEOUT_MS: '600000' },
        extraArgs: [
          '--settings',
          JSON.stringify({ hooks: { SessionEnd: [{ hooks: [{ type: 'command', command: 'sleep 300' }] }] } }),
        ],
      },
    });
    scriptModel('text:done, and lingering', 2, created.id);
    const started = Date.now();
    const queued = await stack.client.wakeupAgent(created.id, { source: 'on_demand', triggerDetail: 'manual' });
    const run = await stack.client.waitForRun(queued.id, { timeoutMs: 240_000, until: TERMINAL });
    const took = Date.now() - started;
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    expect(run['errorCode'] ?? null).toBeNull();
    expect(run['resultJson']).toMatchObject({
      result: 'done, and lingering',
      kubernetes: { outcome: 'cancelled' },
      unmanagedBackgroundTask: { stopped: true, stopReason: 'unmanaged_background_task_stopped', graceMs: 3000 },
    });
    testProgress.info(`lingering run ${run.id}: ${run.status} after ${took} ms (hook sleeps 300 s)`);
    expect(took).toBeLessThan(120_000);
  });
});
