import { BatchV1Api, CoreV1Api, KubeConfig, Log, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { createFakeModelApi } from '@claude-k8s/fake-model-api';
import { Writable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { restrictedNamespace, restrictedPodSpec } from './restricted.ts';
import { resolveTestCluster } from './test-cluster.ts';
import { waitFor } from '@claude-k8s/test-utils';

const cluster = resolveTestCluster();
const kubeConfig = new KubeConfig();
kubeConfig.loadFromFile(cluster.kubeconfig);
const core = kubeConfig.makeApiClient(CoreV1Api);
const batch = kubeConfig.makeApiClient(BatchV1Api);
const namespace = `ck8s-tier-${process.pid}`;

console.info(`[cluster tier] ${cluster.kind} cluster at ${cluster.server}, image ${cluster.image}`);

function isApiStatus(error: unknown, code: number): boolean {
  return typeof error === 'object' && error !== null && 'code' in error && error.code === code;
}

/** A Job that runs the real Claude Code CLI in the agent image, in a namespace enforcing Pod Security `restricted`, against the fake model. */
function claudeJob(name: string, prompt: string, modelUrl: string, extraEnv: Record<string, string> = {}): V1Job {
  const env = {
    ANTHROPIC_BASE_URL: modelUrl,
    ANTHROPIC_API_KEY: 'test-key-not-secret',
    HTTPS_PROXY: modelUrl,
    HTTP_PROXY: modelUrl,
    NO_PROXY: `127.0.0.1,localhost,${new URL(modelUrl).hostname}`,
    CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
    DISABLE_TELEMETRY: '1',
    DISABLE_AUTOUPDATER: '1',
    DISABLE_ERROR_REPORTING: '1',
    HOME: '/home/agent',
    ...extraEnv,
  };
  return {
    metadata: { name, namespace },
    spec: {
      backoffLimit: 0,
      activeDeadlineSeconds: 180,
      template: {
        metadata: { labels: { app: 'ck8s-tier' } },
        spec: restrictedPodSpec(
          cluster,
          {
            name: 'claude',
            workingDir: '/home/agent/project',
            command: [
              'sh',
              '-c',
              'mkdir -p /home/agent/project && cd /home/agent/project && exec claude -p --output-format stream-json --verbose "$PROMPT"',
            ],
            env: Object.entries({ ...env, PROMPT: prompt }).map(([envName, value]) => ({ name: envName, value })),
            resources: { limits: { memory: '1Gi' }, requests: { cpu: '100m', memory: '128Mi' } },
            volumeMounts: [
              { name: 'home', mountPath: '/home/agent' },
              { name: 'tmp', mountPath: '/tmp' },
            ],
          },
          {
            volumes: [
              { name: 'home', emptyDir: {} },
              { name: 'tmp', emptyDir: {} },
            ],
          },
        ),
      },
    },
  };
}

async function podOfJob(jobName: string): Promise<V1Pod> {
  return waitFor(`a pod of job ${jobName}`, 60_000, async () => {
    const pods = await core.listNamespacedPod({ namespace, labelSelector: `job-name=${jobName}` });
    return pods.items[0];
  });
}

/** Follow the container's log through the apiserver (pods/log?follow=true) until it ends; returns the text. */
async function followLog(podName: string): Promise<string> {
  await waitFor(`pod ${podName} to start`, 120_000, async () => {
    const pod = await core.readNamespacedPod({ name: podName, namespace });
    const state = pod.status?.containerStatuses?.[0]?.state;
    return state?.running || state?.terminated ? true : undefined;
  });
  let text = '';
  const sink = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      text += chunk.toString('utf8');
      callback();
    },
  });
  const log = new Log(kubeConfig);
  await new Promise<void>((resolve, reject) => {
    sink.on('finish', resolve);
    log.log(namespace, podName, 'claude', sink, { follow: true }).catch(reject);
  });
  return text;
}

async function terminatedExitCode(podName: string): Promise<number> {
  return waitFor(`pod ${podName} to terminate`, 120_000, async () => {
    const pod = await core.readNamespacedPod({ name: podName, namespace });
    return pod.status?.containerStatuses?.[0]?.state?.terminated?.exitCode;
  });
}

function resultLine(text: string): Record<string, unknown> {
  const lines = text.split('\n').filter((line) => line.trim() !== '');
  const parsed = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
  const result = parsed.filter((event) => event['type'] === 'result').at(-1);
  if (!result) throw new Error(`no result line in the stream:\n${text.slice(0, 2000)}`);
  return result;
}

describe(`local cluster tier (${cluster.kind}: ${cluster.server})`, () => {
  let fakeModel: Awaited<ReturnType<typeof createFakeModelApi>>;
  let modelUrl: string;

  beforeAll(async () => {
    fakeModel = await createFakeModelApi({ host: cluster.kind === 'local' ? '127.0.0.1' : '0.0.0.0', port: 0 });
    modelUrl = await cluster.reachFromPods(fakeModel.port);
    await core.createNamespace({ body: restrictedNamespace(namespace) });
    await waitFor('the default service account', 60_000, async () => {
      try {
        return await core.readNamespacedServiceAccount({ name: 'default', namespace });
      } catch (error) {
        if (isApiStatus(error, 404)) return undefined;
        throw error;
      }
    });
  });

  afterAll(async () => {
    await core.deleteNamespace({ name: namespace }).catch(() => undefined);
    await fakeModel?.close();
  });

  it('the restricted namespace rejects a privileged pod (real Pod Security admission)', async () => {
    const attempt = core.createNamespacedPod({
      namespace,
      body: {
        metadata: { name: 'privileged' },
        spec: { containers: [{ name: 'main', image: cluster.image, securityContext: { privileged: true } }] },
      },
    });
    const error: unknown = await attempt.then(
      () => new Error('the privileged pod was admitted'),
      (rejection: unknown) => rejection,
    );
    expect(error).toMatchObject({ code: 403 });
    const status = JSON.parse((error as { body: string }).body) as { reason: string; message: string };
    expect(status.reason).toBe('Forbidden');
    expect(status.message).toMatch(
      /violates PodSecurity "restricted:latest": privileged \(container "main" must not set securityContext.privileged=true\)/,
    );
  });

  it('a Job runs the real claude CLI against the fake model; stream-json arrives through pods/log and the exit code is 0', async () => {
    await batch.createNamespacedJob({
      namespace,
      body: claudeJob('claude-text', 'Say hello [[text:hello from the cluster tier]]', modelUrl),
    });
    const pod = await podOfJob('claude-text');
    const text = await followLog(pod.metadata!.name!);
    const lines = text.split('\n').filter((line) => line !== '');
    expect(lines.length).toBeGreaterThanOrEqual(3);
    for (const line of lines) expect(() => JSON.parse(line) as unknown).not.toThrow();
    expect((JSON.parse(lines[0]!) as { type: string; subtype: string }).type).toBe('system');
    const result = resultLine(text);
    expect(result).toMatchObject({ type: 'result', subtype: 'success', is_error: false });
    expect(result['result']).toContain('hello from the cluster tier');
    expect(await terminatedExitCode(pod.metadata!.name!)).toBe(0);
    const job = await waitFor('job claude-text to complete', 60_000, async () => {
      const current = await batch.readNamespacedJob({ name: 'claude-text', namespace });
      return current.status?.conditions?.some(
        (condition) => condition.type === 'Complete' && condition.status === 'True',
      )
        ? current
        : undefined;
    });
    expect(job.status?.succeeded).toBe(1);
    expect(fakeModel.requests.some((request) => request.path.startsWith('/v1/messages'))).toBe(true);
  });

  it('a failing scenario exits non-zero with is_error true in the stream', async () => {
    await batch.createNamespacedJob({
      namespace,
      body: claudeJob('claude-401', 'Hello [[err:401]]', modelUrl, { CLAUDE_CODE_MAX_RETRIES: '0' }),
    });
    const pod = await podOfJob('claude-401');
    const text = await followLog(pod.metadata!.name!);
    const result = resultLine(text);
    expect(result).toMatchObject({ type: 'result', is_error: true, api_error_status: 401 });
    expect(await terminatedExitCode(pod.metadata!.name!)).toBe(1);
  });
});
