// End to end (issues 16 and 13): the Helm chart installed into the local cluster with Paperclip enabled. Paperclip
// runs in its pod in authenticated mode with the adapter loaded; a board user signs up and claims the instance; an
// agent run executes as a Job whose pod reaches Paperclip through the Service's DNS name with its run token (reads
// its issue, comments, changes the status; a forged token, another run's id and another company's issue are
// refused); the run's log, usage and session are stored; `helm uninstall` leaves nothing of ours. One install for
// the file; the tests run in order.
import { execFileSync } from 'node:child_process';
import { realpathSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BatchV1Api, CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createFakeModelApi } from '@claude-k8s/fake-model-api';
import { clusterStatus, exposeToPods, PORTAL_HOST } from '@claude-k8s/local-cluster';
import type { HeartbeatRun, Issue } from '@claude-k8s/paperclip-server';
import { installInClusterPaperclip, type InClusterPaperclip } from '../in-cluster.ts';
import { ADAPTER_TYPE } from '../start-stack.ts';
import { runTokenProbeResult, runTokenProbeScenario, storedStdout, testProgress } from './harness.ts';

const release = `incluster-${process.pid}`;
const releaseNamespace = `incluster-pc-${process.pid}`;
const agentsNamespace = `incluster-agents-${process.pid}`;
const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

let pc: InClusterPaperclip;
let fakeModel: Awaited<ReturnType<typeof createFakeModelApi>>;
let modelUrl: string;
let core: CoreV1Api;
let batch: BatchV1Api;
let agentImage: string;

beforeAll(async () => {
  const kubeconfig = process.env['KUBECONFIG'];
  if (!kubeconfig)
    throw new Error('The e2e tier needs a cluster: run it through scripts/with-cluster.sh, or set KUBECONFIG.');
  const status = await clusterStatus();
  if (!status?.running || !status.images)
    throw new Error('the in-cluster test needs the running local cluster with its imported agent image');
  if (realpathSync(kubeconfig) !== realpathSync(status.kubeconfig))
    throw new Error(`KUBECONFIG (${kubeconfig}) is not the local cluster's (${status.kubeconfig})`);
  agentImage = status.images.agent.ref;
  const admin = new KubeConfig();
  admin.loadFromFile(kubeconfig);
  core = admin.makeApiClient(CoreV1Api);
  batch = admin.makeApiClient(BatchV1Api);
  fakeModel = await createFakeModelApi({ host: '127.0.0.1', port: 0 });
  modelUrl = await exposeToPods(fakeModel.port);
  pc = await installInClusterPaperclip({
    adminKubeconfig: kubeconfig,
    localState: status.state,
    agentImage,
    release,
    releaseNamespace,
    agentsNamespace,
    modelApiKey: 'fake-model-key',
    allowedModelHosts: [PORTAL_HOST],
    progress: testProgress,
  });
});

afterAll(async () => {
  await pc?.stop();
  await fakeModel?.close();
});

async function runsOf(companyId: string, agentId: string): Promise<HeartbeatRun[]> {
  return pc.client.listCompanyRuns(companyId, { agentId, limit: 20 });
}

/** Waits for the run Paperclip starts for an issue assigned to `agentId`. */
async function runForIssue(companyId: string, agentId: string, issue: Issue): Promise<HeartbeatRun> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const mine = (await runsOf(companyId, agentId)).find((run) =>
      JSON.stringify(run['contextSnapshot'] ?? {}).includes(issue.id),
    );
    if (mine) return mine;
    if (Date.now() > deadline) throw new Error(`no run started for issue ${issue.id} within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/** Waits until no run of the agent is queued or running (at most 60 s). */
async function settle(companyId: string, agentId: string): Promise<void> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const active = (await runsOf(companyId, agentId)).filter(
      (run) => !(TERMINAL as readonly string[]).includes(run.status),
    );
    if (active.length === 0) return;
    if (Date.now() > deadline)
      throw new Error(`agent ${agentId} still has runs ${active.map((run) => `${run.id} ${run.status}`).join(', ')}`);
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

describe(`the chart with Paperclip in the local cluster (release ${release})`, () => {
  it('Paperclip runs in its pod in authenticated mode, the first board user owns the instance, the adapter is loaded', async () => {
    const health = await pc.api<Record<string, unknown>>('GET', '/health', undefined, {});
    expect(health.status).toBe(200);
    expect(health.body).toMatchObject({ status: 'ok', deploymentMode: 'authenticated', bootstrapStatus: 'ready' });
    // Without the session cookie the board API refuses.
    const anonymous = await pc.api('GET', '/companies', undefined, {});
    expect([401, 403]).toContain(anonymous.status);
    const adapters = await pc.client.listAdapters();
    const ours = adapters.find((adapter) => adapter.type === ADAPTER_TYPE);
    testProgress.info(`adapter: ${JSON.stringify(ours)}`);
    expect(ours).toMatchObject({ source: 'external', loaded: true });
    const pods = await core.listNamespacedPod({
      namespace: releaseNamespace,
      labelSelector: 'app.kubernetes.io/name=paperclip',
    });
    expect(pods.items).toHaveLength(1);
    expect(pods.items[0]!.spec?.containers[0]?.image).toBe(agentImage);
    expect(pods.items[0]!.spec?.serviceAccountName).toBe('paperclip');
  });

  it('an agent run executes as a Job; its pod reaches Paperclip by Service name with its run token; log, usage and session are stored', async () => {
    // Another company with an issue and a finished run: what the pod must not reach.
    const other = await pc.client.createCompany({ name: `in-cluster other ${process.pid}` });
    const otherAgent = await pc.client.createAgent(other.id, {
      name: 'other-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { ...pc.adapterConfig, anthropicBaseUrl: modelUrl },
    });
    fakeModel.clearForcedScenarios();
    fakeModel.forceScenario('bash:echo other run', { count: 2 });
    const otherIssue = await pc.client.createIssue(other.id, {
      title: 'other company issue',
      assigneeAgentId: otherAgent.id,
      status: 'todo',
    });
    const otherRun = await pc.client.waitForRun((await runForIssue(other.id, otherAgent.id, otherIssue)).id, {
      timeoutMs: 240_000,
      until: TERMINAL,
    });
    expect(otherRun.status, String(otherRun['error'] ?? '')).toBe('succeeded');
    // Close the other issue and let its agent go idle: a follow-up run of it would take the scripted answers below
    // (the fake model's forced scenarios are global).
    expect((await pc.api('PATCH', `/issues/${otherIssue.id}`, { status: 'done' })).status).toBe(200);
    await settle(other.id, otherAgent.id);

    const company = await pc.client.createCompany({ name: `in-cluster ${process.pid}` });
    const agent = await pc.client.createAgent(company.id, {
      name: 'in-cluster-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { ...pc.adapterConfig, anthropicBaseUrl: modelUrl, dangerouslySkipPermissions: true },
    });
    fakeModel.clearForcedScenarios();
    fakeModel.forceScenario(runTokenProbeScenario({ otherRunId: otherRun.id, otherIssueId: otherIssue.id }), {
      count: 2,
    });
    const issue = await pc.client.createIssue(company.id, {
      title: 'in-cluster API access',
      description: 'Scripted check: the run token on the API.',
      assigneeAgentId: agent.id,
      status: 'todo',
    });
    const requestsBefore = fakeModel.requests.length;
    const run = await runForIssue(company.id, agent.id, issue);
    const ended = await pc.client.waitForRun(run.id, { timeoutMs: 300_000, until: TERMINAL });
    fakeModel.clearForcedScenarios();
    const modelCalls = fakeModel.requests
      .slice(requestsBefore)
      .filter((request) => request.scenario !== undefined)
      .map((request) => `${request.index}:${request.scenario?.source ?? ''}:${request.scenario?.name ?? ''}`);
    expect(ended.status, `${String(ended['errorCode'] ?? '')} ${String(ended['error'] ?? '')}`).toBe('succeeded');

    // The Job ran in the agents' namespace (the chart's default for agents that name none).
    const jobName = /"jobName":"([a-z0-9-]+)"/.exec(
      JSON.stringify([await pc.client.getRunEvents(run.id), ended['resultJson'] ?? null]),
    )?.[1];
    expect(jobName, 'the run names its Job').toBeDefined();
    testProgress.info(`run ${run.id}: Job ${agentsNamespace}/${jobName}`);
    const jobs = await batch.listNamespacedJob({ namespace: agentsNamespace });
    const events = await core.listNamespacedEvent({ namespace: agentsNamespace });
    expect(
      jobs.items.some((job) => job.metadata?.name === jobName) ||
        events.items.some((event) => event.involvedObject.name === jobName),
      `Job ${jobName} or its events in ${agentsNamespace}`,
    ).toBe(true);

    // What the pod saw.
    const seen = runTokenProbeResult(ended);
    expect(
      seen,
      `model calls ${modelCalls.join(' ')}; result ${JSON.stringify(ended['resultJson']).slice(0, 1500)}`,
    ).toBeDefined();
    testProgress.info(`pod saw ${JSON.stringify(seen)}`);
    expect(seen).toMatchObject({
      api: `${pc.serviceUrl}/api`,
      read: 200,
      title: 'in-cluster API access',
      comment: 201,
      status: 200,
    });
    // Paperclip's answers: a run id that is not the token's is unprocessable (agent_jwt_run_id_mismatch); another
    // company's issue is forbidden or not found; a forged or garbage token is unauthorized.
    expect(seen!.otherRun).toBe(422);
    expect([403, 404]).toContain(seen!.otherIssue);
    expect(seen!.forged).toBe(401);
    expect(seen!.garbage).toBe(401);

    // What Paperclip stored, read back through its API.
    const comments = await pc.api<{ body: string }[]>('GET', `/issues/${issue.id}/comments`);
    expect(comments.body.map((comment) => comment.body)).toContain('comment from the pod on in-cluster API access');
    expect((await pc.api<{ status: string }>('GET', `/issues/${issue.id}`)).body.status).toBe('done');
    const log = await pc.client.getRunLog(run.id);
    expect(storedStdout(log.records)).toContain('"type":"result"');
    const usage = (ended['usageJson'] ?? {}) as Record<string, unknown>;
    expect(Number(usage['inputTokens'])).toBeGreaterThan(0);
    expect(Number(usage['outputTokens'])).toBeGreaterThan(0);
    expect(String(ended['sessionIdAfter'])).toMatch(/^[0-9a-f-]{36}$/);
    // The agent's runtime state keeps the session for its next run (the per-issue task session may already be gone:
    // Paperclip clears it when the issue is done, which the pod itself did).
    const runtime = await pc.client.getRuntimeState(agent.id);
    expect(JSON.stringify(runtime)).toContain(String(ended['sessionIdAfter']));
    testProgress.info(
      `stored: ${log.records.length} log records, usage ${JSON.stringify(usage)}, session ${String(ended['sessionIdAfter'])}`,
    );
  });

  it('helm uninstall leaves nothing of ours (checked through the Kubernetes API)', async () => {
    await pc.uninstall();
    const gone = async (name: string): Promise<boolean> =>
      core.readNamespace({ name }).then(
        () => false,
        () => true,
      );
    const deadline = Date.now() + 180_000;
    const podsLeft = async (): Promise<number> =>
      (await core.listNamespacedPod({ namespace: releaseNamespace })).items.length;
    while (!(await gone(agentsNamespace)) || (await podsLeft()) > 0) {
      if (Date.now() > deadline)
        throw new Error(`namespace ${agentsNamespace} or the Paperclip pod still there 180 s after uninstall`);
      await new Promise((resolve) => setTimeout(resolve, 1000));
    }
    const label = `app.kubernetes.io/instance=${release}`;
    const left = [
      ...(await core.listPodForAllNamespaces({ labelSelector: label })).items,
      ...(await core.listServiceForAllNamespaces({ labelSelector: label })).items,
      ...(await core.listSecretForAllNamespaces({ labelSelector: label })).items,
      ...(await core.listConfigMapForAllNamespaces({ labelSelector: label })).items,
      ...(await core.listServiceAccountForAllNamespaces({ labelSelector: label })).items,
      ...(await core.listPersistentVolumeClaimForAllNamespaces({ labelSelector: label })).items,
    ].map((object) => `${object.kind ?? ''} ${object.metadata?.namespace ?? ''}/${object.metadata?.name ?? ''}`);
    const rbac = JSON.parse(
      execFileSync(
        pc.kubectl,
        [
          'get',
          'clusterroles,clusterrolebindings,roles,rolebindings,deployments,jobs',
          '-A',
          '-l',
          label,
          '-o',
          'json',
        ],
        { encoding: 'utf8' },
      ),
    ) as { items: unknown[] };
    expect(left).toEqual([]);
    expect(rbac.items).toEqual([]);
    // Nothing of the adapter's either: its Jobs, Secrets and Leases lived in the agents' namespace, now gone, and
    // the release namespace holds no Helm record (and, above, no Paperclip pod).
    expect(
      (await core.listNamespacedSecret({ namespace: releaseNamespace, labelSelector: 'owner=helm' })).items,
    ).toEqual([]);
  });
});
