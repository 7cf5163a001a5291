// End to end: the adapter installed into a real Paperclip server (POST /api/adapters/install, the built package),
// running real agent runs as Jobs on the real cluster with the real Claude Code CLI against the fake model API.
import { readFile, readdir, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { REQUIRED_PERMISSIONS } from '@claude-k8s/paperclip-adapter';
import type { Company, HeartbeatRun } from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import {
  adminClients,
  adminRbac,
  compareStoredWithContainer,
  jobNameOf,
  podsOfJob,
  startTestStack,
  stopTestStack,
  storedStdout,
} from './harness.ts';
import { waitFor } from '@claude-k8s/test-utils';

const namespace = `ck8s-e2e-${process.pid}`;
let stack: Stack;
let company: Company;

beforeAll(async () => {
  stack = await startTestStack(namespace);
  company = await stack.client.createCompany({ name: `e2e ${process.pid}` });
});

afterAll(() => stopTestStack(stack, namespace));

/** The fake model answers its next `requests` requests with `scenario`; anything forced earlier and unused is dropped. */
function scriptModel(scenario: string, options: { count: number }): void {
  stack.fakeModel!.clearForcedScenarios();
  stack.fakeModel!.forceScenario(scenario, options);
}

/**
 * An agent of type claude_k8s; the fake model answers its next requests with `scenario` (the fake's scripting: a
 * forced scenario, since Paperclip refuses prompt templates on new agents).
 */
async function createAgent(name: string, scenario: string, overrides: Record<string, unknown> = {}, requests = 1) {
  scriptModel(scenario, { count: requests });
  return stack.client.createAgent(company.id, {
    name,
    adapterType: ADAPTER_TYPE,
    adapterConfig: { ...stack.adapterConfig, ...overrides },
  });
}

/**
 * The agent's own HOME on the session volume's host directory: `companies/<company>-<hash>/agents/<agent>-<hash>`
 * (each id lower-cased, then a hash of it).
 */
async function agentHome(companyId: string, agentId: string): Promise<string> {
  const root = stack.tenant.sessionHostPath!;
  const pick = async (directory: string, id: string): Promise<string> => {
    const names = (await readdir(directory)).filter((name) => name.startsWith(`${id.toLowerCase()}-`));
    expect(names, `one directory for ${id} in ${directory}`).toHaveLength(1);
    return join(directory, names[0]!);
  };
  const company = await pick(join(root, 'companies'), companyId);
  return pick(join(company, 'agents'), agentId);
}

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

async function wakeAndWait(agentId: string, timeoutMs = 240_000): Promise<HeartbeatRun> {
  const queued = await stack.client.wakeupAgent(agentId, {
    source: 'on_demand',
    triggerDetail: 'manual',
    reason: 'e2e',
  });
  return stack.client.waitForRun(queued.id, { timeoutMs, until: TERMINAL });
}

function usageOf(run: HeartbeatRun): Record<string, number> {
  return (run['usageJson'] ?? {}) as Record<string, number>;
}

describe(`claude_k8s on a real Paperclip server (namespace ${namespace})`, () => {
  it('is installed through the install route and exposes its config schema and UI parser', async () => {
    const adapters = await stack.client.listAdapters();
    const info = adapters.find((adapter) => adapter['type'] === ADAPTER_TYPE);
    expect(info).toMatchObject({ type: ADAPTER_TYPE, source: 'external', loaded: true });
    const schema = await stack.client.getAdapterConfigSchema(ADAPTER_TYPE);
    const keys = schema.fields.map((field) => field['key']);
    expect(keys).toEqual(
      expect.arrayContaining(['namespace', 'image', 'model', 'timeoutSec', 'sessionVolume.claimName']),
    );
    const parser = await stack.client.getAdapterUiParser(ADAPTER_TYPE);
    expect(parser).toContain('parseStdoutLine');
    expect(parser).not.toMatch(/^\s*(import|export)\s/m);
  });

  it('runs an agent as a Job: succeeded, stored log equal to what the CLI printed, usage, cost and summary from the fake model', async () => {
    const agent = await createAgent('text-agent', 'text:hello from a Kubernetes Job', {
      retention: { onSuccess: 'keep', onFailure: 'keep', keepFailedSeconds: 600 },
    });
    const requestsBefore = stack.fakeModel!.requests.length;
    const run = await wakeAndWait(agent.id);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    expect(run['exitCode']).toBe(0);
    expect(JSON.stringify(run['resultJson'])).toContain('hello from a Kubernetes Job');

    // The stored log is exactly the container's output, once, in order: compare with the kubelet's copy.
    const stdout = storedStdout((await stack.client.getRunLog(run.id)).records);
    const jobName = await jobNameOf(stack, run);
    expect(jobName).toBeDefined();
    const { core } = adminClients(stack);
    const [pod] = await podsOfJob(core, namespace, jobName!);
    expect(pod).toBeDefined();
    const containerLog = await core.readNamespacedPodLog({
      name: pod!.metadata!.name!,
      namespace,
      container: pod!.spec!.containers[0]!.name,
    });
    expect(compareStoredWithContainer(stdout, containerLog)).toEqual({ ok: true });
    // The Job is kept (retention keep), its per-run Secret (run token, prompt) is not (issue 15); the configured
    // defaults reached the pod: requests and limits, a bounded /tmp.
    await expect(core.readNamespacedSecret({ name: jobName!, namespace })).rejects.toMatchObject({ code: 404 });
    expect(pod!.spec!.containers[0]!.resources).toMatchObject({
      requests: { cpu: '250m', memory: '512Mi' },
      limits: { memory: '4Gi' },
    });
    expect(pod!.spec!.volumes?.find((volume) => volume.name === 'writable-0')?.emptyDir).toEqual({ sizeLimit: '1Gi' });
    const lines = containerLog.split('\n').filter((line) => line !== '');
    expect(JSON.parse(lines[0]!)).toMatchObject({ type: 'system', subtype: 'init' });
    const result = JSON.parse(lines.at(-1)!) as Record<string, unknown>;
    expect(result).toMatchObject({ type: 'result', is_error: false });

    // Usage: what the fake model says it served; cost: the CLI's own figure for this run.
    const served = stack.fakeModel!.requests.slice(requestsBefore).filter((request) => request.outcome === 'completed');
    expect(served.length).toBeGreaterThan(0);
    const sum = (pick: (usage: Record<string, number>) => number) =>
      served.reduce((total, request) => total + pick(request.usage as unknown as Record<string, number>), 0);
    const usage = usageOf(run);
    expect(usage['inputTokens']).toBe(sum((u) => (u['input_tokens'] ?? 0) + (u['cache_creation_input_tokens'] ?? 0)));
    expect(usage['outputTokens']).toBe(sum((u) => u['output_tokens'] ?? 0));
    expect(usage['cachedInputTokens']).toBe(sum((u) => u['cache_read_input_tokens'] ?? 0));
    expect(usage['costUsd']).toBeCloseTo(result['total_cost_usd'] as number, 6);
    expect(run['sessionIdAfter']).toBe(result['session_id']);
  });

  it('a second run of the same agent resumes the session', async () => {
    const agent = await createAgent('resume-agent', 'text:first');
    const first = await wakeAndWait(agent.id);
    scriptModel('text:second', { count: 1 });
    expect(first.status, String(first['error'] ?? '')).toBe('succeeded');
    const second = await wakeAndWait(agent.id);
    expect(second.status, String(second['error'] ?? '')).toBe('succeeded');
    const secondLog = storedStdout((await stack.client.getRunLog(second.id)).records);
    const events = JSON.stringify(await stack.client.getRunEvents(second.id)).match(/not resumed[^"]*/g) ?? [];
    const why = `${events.join('; ')}\nsecond run's log:\n${secondLog
      .split('\n')
      .filter((line) => !line.startsWith('{"type":"system","subtype":"init"'))
      .join('\n')
      .slice(0, 3000)}`;
    expect(second['sessionIdBefore'], why).toBe(first['sessionIdAfter']);
    expect(second['sessionIdAfter'], why).toBe(first['sessionIdAfter']);
  });

  it('a 401 from the model ends failed with the authentication error code', async () => {
    const agent = await createAgent('auth-agent', 'err:401', { env: { CLAUDE_CODE_MAX_RETRIES: '0' } }, 3);
    const run = await wakeAndWait(agent.id);
    expect(run.status).toBe('failed');
    expect(run['errorCode']).toBe('claude_auth_required');
  });

  it('an image that cannot run ends failed with the Kubernetes reason in the message', async () => {
    const agent = await createAgent('image-agent', 'text', {
      image: 'localhost/claude-k8s-no-such-image:1',
      imagePullPolicy: 'Never',
      imagePullGraceSec: 5,
    });
    const run = await wakeAndWait(agent.id);
    expect(run.status).toBe('failed');
    expect(run['errorCode']).toBe('k8s_image_pull');
    expect(String(run['error'])).toMatch(/ErrImageNeverPull/);
  });

  it('a cancel through the API stops the Job and the run ends cancelled', async () => {
    const agent = await createAgent('slow-agent', 'slow:120');
    const queued = await stack.client.wakeupAgent(agent.id, {
      source: 'on_demand',
      triggerDetail: 'manual',
      reason: 'e2e cancel',
    });
    await waitFor('the run to print its init line', 120_000, async () => {
      const log = await stack.client.getRunLog(queued.id).catch(() => undefined);
      return log && storedStdout(log.records).includes('"subtype":"init"') ? true : undefined;
    });
    const jobName = await waitFor('the job name', 30_000, async () =>
      jobNameOf(stack, await stack.client.getRun(queued.id)),
    );
    const cancelled = await stack.client.cancelRun(queued.id);
    expect(cancelled.status).toBe('cancelled');
    const final = await stack.client.waitForRun(queued.id, { timeoutMs: 120_000, until: ['cancelled'] });
    expect(final['errorCode']).toBe('cancelled');
    expect(final['resultJson']).toMatchObject({ executionCancellation: { state: 'acknowledged' } });
    const { batch } = adminClients(stack);
    await waitFor('the job to be deleted', 60_000, async () => {
      try {
        await batch.readNamespacedJob({ name: jobName, namespace });
        return undefined;
      } catch {
        return true;
      }
    });
  });
});

describe(`claude_k8s recovery and permissions (namespace ${namespace})`, () => {
  it('a resume of a session whose files are gone is retried once with a fresh session', async () => {
    const agent = await createAgent('lost-session-agent', 'text:before');
    const first = await wakeAndWait(agent.id);
    expect(first.status, String(first['error'] ?? '')).toBe('succeeded');
    // Remove the agent's Claude sessions from the session volume, as if the volume had been wiped.
    const projects = join(await agentHome(agent.companyId, agent.id), '.claude', 'projects');
    const removed = (await readdir(projects)).filter((name) => name.includes(agent.id));
    expect(removed.length).toBeGreaterThan(0);
    for (const name of removed) await rm(join(projects, name), { recursive: true, force: true });
    scriptModel('text:after', { count: 1 });
    const second = await wakeAndWait(agent.id);
    expect(second.status, String(second['error'] ?? '')).toBe('succeeded');
    expect(second['sessionIdBefore']).toBe(first['sessionIdAfter']);
    expect(second['sessionIdAfter']).not.toBe(first['sessionIdAfter']);
    const log = storedStdout((await stack.client.getRunLog(second.id)).records);
    expect(log).toContain('No conversation found with session ID');
    expect(log).toContain('"result":"after"');
  });

  it("each agent's HOME is its own: a second agent's pod does not see the first agent's files (issue 15)", async () => {
    const first = await createAgent('home-a', 'bash:echo planted > $HOME/planted-by-a.txt && ls -a $HOME', {}, 2);
    const runA = await wakeAndWait(first.id);
    expect(runA.status, String(runA['error'] ?? '')).toBe('succeeded');
    const homeA = await agentHome(first.companyId, first.id);
    expect(await readFile(join(homeA, 'planted-by-a.txt'), 'utf8')).toBe('planted\n');

    const second = await createAgent(
      'home-b',
      'bash:ls -a $HOME; cat $HOME/planted-by-a.txt; ls $HOME/.. ; echo end-of-listing',
      {},
      2,
    );
    const runB = await wakeAndWait(second.id);
    expect(runB.status, String(runB['error'] ?? '')).toBe('succeeded');
    const log = storedStdout((await stack.client.getRunLog(runB.id)).records);
    expect(log).toContain('end-of-listing');
    expect(log).toContain('planted-by-a.txt: No such file or directory');
    expect(log).not.toContain('planted\\n');
    // The first agent's HOME kept its file; the second wrote its sessions into its own directory only.
    const homeB = await agentHome(second.companyId, second.id);
    expect(homeB).not.toBe(homeA);
    expect((await readdir(join(homeB, '.claude'))).length).toBeGreaterThan(0);
    expect(await readdir(homeB)).not.toContain('planted-by-a.txt');
  });

  it(
    'the live probe (liveProbe): a Job of the real image checks the CLI, the model credentials and Paperclip from a pod',
    { timeout: 660_000 },
    async () => {
      const { batch } = adminClients(stack);
      const probeCodes = (result: { checks: Record<string, unknown>[] }) =>
        result.checks
          .filter((check) => String(check['code']).startsWith('claude_k8s_probe'))
          .map((check) => [check['code'], check['level']]);
      scriptModel('text:hello', { count: 1 });
      const passing = await stack.client.testEnvironment(
        company.id,
        ADAPTER_TYPE,
        {
          adapterConfig: { ...stack.adapterConfig, liveProbe: true },
        },
        { timeoutMs: 300_000 },
      );
      expect(probeCodes(passing), JSON.stringify(passing.checks)).toEqual([
        ['claude_k8s_probe_cli_ok', 'info'],
        ['claude_k8s_probe_paperclip_ok', 'info'],
        ['claude_k8s_probe_model_ok', 'info'],
      ]);
      expect(passing['status']).not.toBe('fail');

      // The model refuses the key; Paperclip's URL points at a closed port of the same (allowed) host.
      scriptModel('err:401', { count: 20 });
      const url = new URL(String(stack.adapterConfig['paperclipApiUrl']));
      url.port = '1';
      const failing = await stack.client.testEnvironment(
        company.id,
        ADAPTER_TYPE,
        {
          adapterConfig: { ...stack.adapterConfig, liveProbe: true, paperclipApiUrl: url.toString() },
        },
        { timeoutMs: 300_000 },
      );
      stack.fakeModel!.clearForcedScenarios();
      expect(probeCodes(failing), JSON.stringify(failing.checks)).toEqual([
        ['claude_k8s_probe_cli_ok', 'info'],
        ['claude_k8s_probe_paperclip_unreachable', 'error'],
        ['claude_k8s_probe_model_auth_failed', 'error'],
      ]);
      expect(failing['status']).toBe('fail');
      // Both probe Jobs are gone.
      await waitFor('the probe Jobs deleted', 60_000, async () => {
        const jobs = await batch.listNamespacedJob({ namespace });
        return jobs.items.every(
          (job) => !String(job.metadata?.annotations?.['claude-k8s.io/run-id'] ?? '').startsWith('environment-probe-'),
        );
      });
    },
  );

  it('removing any rule of the Role makes the environment test name the missing permission', async () => {
    const { rbac } = adminRbac(stack);
    const role = await rbac.readNamespacedRole({ name: 'claude-k8s-adapter', namespace });
    const original = role.rules ?? [];
    const baseline = await stack.client.testEnvironment(company.id, ADAPTER_TYPE, {
      adapterConfig: stack.adapterConfig,
    });
    expect(baseline.checks.filter((check) => check['code'] === 'claude_k8s_rbac_denied')).toEqual([]);
    // The real Job manifest of this configuration, dry-run by the apiserver (Pod Security restricted answers).
    expect(baseline.checks.map((check) => check['code'])).toContain('claude_k8s_dry_run_admitted');
    expect(baseline['status']).not.toBe('fail');
    try {
      for (const permission of REQUIRED_PERMISSIONS) {
        const resource = permission.subresource
          ? `${permission.resource}/${permission.subresource}`
          : permission.resource;
        const rules = original.flatMap((rule) => {
          if (!(rule.apiGroups ?? []).includes(permission.group) || !(rule.resources ?? []).includes(resource))
            return [rule];
          const others = (rule.resources ?? []).filter((name: string) => name !== resource);
          const verbs = rule.verbs.filter((verb: string) => verb !== permission.verb);
          return [
            ...(others.length > 0 ? [{ ...rule, resources: others }] : []),
            ...(verbs.length > 0 ? [{ ...rule, resources: [resource], verbs }] : []),
          ];
        });
        await rbac.replaceNamespacedRole({
          name: 'claude-k8s-adapter',
          namespace,
          body: { ...role, metadata: { ...role.metadata, resourceVersion: undefined }, rules },
        });
        const expected = `${permission.verb} ${permission.group === '' ? resource : `${resource}.${permission.group}`}`;
        // A permission of one workspace mode (pods/exec: transfer) is an error only for an agent in that mode.
        const adapterConfig = permission.workspaceMode
          ? { ...stack.adapterConfig, workspace: { mode: permission.workspaceMode } }
          : stack.adapterConfig;
        const denied = await waitFor(`the environment test to name ${expected}`, 10_000, async () => {
          const result = await stack.client.testEnvironment(company.id, ADAPTER_TYPE, { adapterConfig });
          const messages = result.checks
            .filter((check) => check['code'] === 'claude_k8s_rbac_denied')
            .map((check) => String(check['message']));
          return messages.length > 0 ? { status: result['status'], messages } : undefined;
        });
        expect(denied.status).toBe('fail');
        expect(denied.messages).toEqual([expect.stringContaining(`missing permission in ${namespace}: ${expected} `)]);
      }
    } finally {
      const current = await rbac.readNamespacedRole({ name: 'claude-k8s-adapter', namespace });
      await rbac.replaceNamespacedRole({
        name: 'claude-k8s-adapter',
        namespace,
        body: { ...current, rules: original },
      });
    }
  });
});
