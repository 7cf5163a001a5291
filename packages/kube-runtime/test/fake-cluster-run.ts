/** Helpers of the in-memory tests of `startRun`: a minimal run input, and the pod the fake Job controller made. */
import type { FakeCluster } from '@claude-k8s/kube-fakes';
import type { V1Pod } from '@kubernetes/client-node';
import type { StartRunInput } from '../src/create-kube-runtime.ts';

/** A minimal valid `startRun` input (run `run-1` of `agent-1`, `echo hi`, a prompt file); `overrides` win. */
export function minimalRunInput(overrides: Partial<StartRunInput> = {}): StartRunInput {
  return {
    runId: 'run-1',
    agentId: 'agent-1',
    image: 'localhost/claude-k8s-agent:dev',
    command: ['sh', '-c', 'echo hi'],
    timeoutSeconds: 600,
    files: { 'prompt.md': 'hello' },
    ...overrides,
  };
}

/** The name of the pod of Job `jobName` in `namespace`, polling every 5 ms; throws after about one second. */
export async function podOfJob(cluster: FakeCluster, namespace: string, jobName: string): Promise<string> {
  for (let i = 0; i < 200; i += 1) {
    const pod = cluster
      .all<V1Pod & { metadata: { name: string } }>('pods', namespace)
      .find((p) => p.metadata.labels?.['batch.kubernetes.io/job-name'] === jobName);
    if (pod !== undefined) return pod.metadata.name;
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  throw new Error(`no pod of job ${jobName}`);
}
