import { startFakeApiserver, startFakeLogServer, type FakeApiserver, type FakeLogServer } from '@claude-k8s/kube-fakes';
import { KubeConfig, type V1Job, type V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { describeContract } from '../test/contract.ts';
import {
  countRequests,
  createClientNodePorts,
  createKubeRuntime,
  createPodLogSource,
  KubeApiError,
  systemClock,
} from './internal.ts';

function kubeConfigFor(server: FakeApiserver): KubeConfig {
  const kubeConfig = new KubeConfig();
  kubeConfig.loadFromOptions(server.kubeConfigOptions());
  return kubeConfig;
}

/** Now as an RFC3339Nano timestamp, strictly increasing (a container runtime's clock). */
function createWallClockStamps(): () => string {
  let last = 0;
  return () => {
    const nanos = Math.max(Date.now() * 1e6, last + 1000);
    last = nanos;
    const millis = Math.floor(nanos / 1e6);
    return `${new Date(millis).toISOString().slice(0, 19)}.${String(nanos % 1e9).padStart(9, '0')}Z`;
  };
}

describeContract('fake apiserver', async () => {
  const server = await startFakeApiserver();
  const logServers: FakeLogServer[] = [];
  return {
    kubeConfig: kubeConfigFor(server),
    namespace: 'contract',
    image: 'localhost/claude-k8s-agent:dev',
    runDefaults: {},
    eventually: async (check, what) => {
      for (let tries = 0; tries < 500; tries += 1) {
        if (await check()) return;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      throw new Error(`not true: ${what}`);
    },
    runLogWriter: async (name, steps) => {
      const logs = await startFakeLogServer({ nextTimestamp: createWallClockStamps() });
      logServers.push(logs);
      for (const step of steps) {
        if ('write' in step) logs.write(step.write.repeat(step.times ?? 1));
        else await new Promise((resolve) => setTimeout(resolve, step.sleepMs));
      }
      logs.terminate();
      return {
        source: createPodLogSource({ kubeConfig: logs.kubeConfig() }),
        namespace: 'contract',
        pod: name,
        container: 'agent',
      };
    },
    forgetHistory: () => {
      server.cluster.compact();
      return Promise.resolve();
    },
    dispose: async () => {
      for (const logs of logServers) await logs.close();
      await server.close();
    },
  };
});

describe('client-node ports against the fake apiserver (T2)', () => {
  it('maps 403/404 Status bodies into KubeApiError with verb, resource, namespace and the apiserver message', async () => {
    await using server = await startFakeApiserver();
    const ports = createClientNodePorts({ kubeConfig: kubeConfigFor(server), clock: systemClock });
    server.cluster.failNext({
      verb: 'list',
      kind: 'jobs',
      status: 403,
      reason: 'Forbidden',
      message:
        'jobs.batch is forbidden: User "x" cannot list resource "jobs" in API group "batch" in the namespace "agents"',
    });
    const forbidden = await ports.list('jobs', 'agents').catch((error: unknown) => error);
    expect(forbidden).toBeInstanceOf(KubeApiError);
    expect((forbidden as Error).message).toBe(
      'list job agents: 403 Forbidden: jobs.batch is forbidden: User "x" cannot list resource "jobs" in API group "batch" in the namespace "agents"',
    );
    expect(Object.keys(forbidden as object)).not.toContain('body');
    server.cluster.failNext({
      verb: 'create',
      kind: 'jobs',
      status: 404,
      reason: 'NotFound',
      message: 'namespaces "nope" not found',
    });
    await expect(ports.create('jobs', 'nope', { metadata: { name: 'x' } })).rejects.toThrow(
      'create job nope/x: 404 NotFound: namespaces "nope" not found',
    );
  });

  it('reports a connection refused as status 0, retryable, without leaking client-node shapes', async () => {
    const server = await startFakeApiserver();
    const kubeConfig = kubeConfigFor(server);
    await server.close();
    const ports = createClientNodePorts({ kubeConfig, clock: systemClock, retries: 0 });
    const error = await ports.get('jobs', 'agents', 'x').catch((e: unknown) => e);
    expect(error).toMatchObject({ status: 0, retryable: true, verb: 'get' });
    expect((error as Error).message).toMatch(/^get job agents\/x: no response: /);
  });

  it('follows a run through dropped watch connections and a 410 Gone, with a request count independent of duration', async () => {
    await using server = await startFakeApiserver();
    const counted = countRequests(createClientNodePorts({ kubeConfig: kubeConfigFor(server), clock: systemClock }));
    const runtime = createKubeRuntime({ ports: counted.ports, namespace: 'agents' });
    const handle = await runtime.startRun({
      runId: 'r1',
      agentId: 'a1',
      image: 'img',
      command: ['sh'],
      timeoutSeconds: 60,
      files: { 'prompt.md': 'x' },
      lockPolicy: 'reject',
    });
    const pods = async (): Promise<string> => {
      for (;;) {
        const pod = server.cluster.all<V1Pod & { metadata: { name: string } }>('pods', 'agents')[0];
        if (pod !== undefined) return pod.metadata.name;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
    };
    const podName = await pods();
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.dropWatches();
    await new Promise((resolve) => setTimeout(resolve, 700));
    server.cluster.mutate<V1Pod>('pods', 'agents', podName, (pod) => {
      pod.spec = { ...pod.spec, containers: pod.spec?.containers ?? [], nodeName: '127.0.0.1' };
      pod.status = {
        phase: 'Running',
        containerStatuses: [
          {
            name: 'agent',
            image: 'img',
            imageID: '',
            ready: true,
            restartCount: 0,
            state: { running: { startedAt: new Date() } },
          },
        ],
      };
    });
    expect(await handle.containerStarted).toBe(podName);
    server.cluster.compact();
    await new Promise((resolve) => setTimeout(resolve, 100));
    server.cluster.mutate<V1Job>('jobs', 'agents', handle.jobName, (job) => {
      job.status = { conditions: [{ type: 'Complete', status: 'True' }] };
    });
    const outcome = await handle.outcome;
    expect(outcome.code).toBe('succeeded');
    const lifecycle = counted.requests.filter((request) => request.verb !== 'watch' && request.verb !== 'list');
    // lease get/create/delete, job create/patch/delete, secret create
    expect(lifecycle).toHaveLength(7);
    expect(server.log.some((line) => line.includes('watch=true') && line.includes('allowWatchBookmarks=true'))).toBe(
      true,
    );
  });
});
