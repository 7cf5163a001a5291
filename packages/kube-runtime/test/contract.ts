/**
 * The contract suite: one set of expectations about the apiserver as seen through kube-runtime, run against the fake
 * apiserver (T2, `client-node-ports.test.ts`) and the real local cluster (T3, `*.cluster.test.ts`), so the fake cannot
 * drift from reality.
 */
import type { KubeConfig, V1Job, V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClientNodePorts,
  createKubeRuntime,
  KubeApiError,
  LockHeldError,
  systemClock,
  type KubeObject,
  type KubePorts,
  type WatchEvent,
} from '../src/internal.ts';

/** A place to run the contract: an apiserver, a namespace that exists and is empty, an image. */
export interface ContractBackend {
  kubeConfig: KubeConfig;
  namespace: string;
  /** Image with `sh` (T3: the agent image; T2: any string). */
  image: string;
  /** Extra pod settings the backend needs (the local cluster: hostNetwork, imagePullPolicy Never). */
  runDefaults: { imagePullPolicy?: 'Always' | 'IfNotPresent' | 'Never'; hostNetwork?: boolean; runAsUser?: number };
  /** Waits until `check` holds (a real cluster's garbage collector is asynchronous). */
  eventually(check: () => Promise<boolean>, what: string): Promise<void>;
  dispose(): Promise<void>;
}

export function describeContract(name: string, start: () => Promise<ContractBackend>): void {
  describe(`contract: ${name}`, () => {
    let backend: ContractBackend;
    let ports: KubePorts;
    beforeAll(async () => {
      backend = await start();
      ports = createClientNodePorts({ kubeConfig: backend.kubeConfig, clock: systemClock, retries: 1 });
    });
    afterAll(async () => {
      await backend.dispose();
    });

    const secret = (secretName: string, labels: Record<string, string> = {}): V1Secret & KubeObject => ({
      apiVersion: 'v1',
      kind: 'Secret',
      metadata: { name: secretName, labels: { 'claude-k8s.io/contract': 'yes', ...labels } },
      stringData: undefined,
      data: { key: Buffer.from('value').toString('base64') },
    });

    it('creates, gets, lists by label, merge-patches and deletes', async () => {
      const created = await ports.create('secrets', backend.namespace, secret('c-one', { pick: 'me' }));
      expect(created.metadata?.uid).toBeTruthy();
      expect((await ports.get<V1Secret & KubeObject>('secrets', backend.namespace, 'c-one'))?.metadata?.name).toBe(
        'c-one',
      );
      expect(await ports.get('secrets', backend.namespace, 'c-missing')).toBeNull();
      await ports.create('secrets', backend.namespace, secret('c-two'));
      const listed = await ports.list<V1Secret & KubeObject>('secrets', backend.namespace, {
        labelSelector: 'claude-k8s.io/contract=yes,pick=me',
      });
      expect(listed.items.map((item) => item.metadata?.name)).toEqual(['c-one']);
      expect(listed.resourceVersion).not.toBe('');
      const patched = await ports.patch<V1Secret & KubeObject>('secrets', backend.namespace, 'c-one', {
        metadata: { annotations: { a: 'b' } },
      });
      expect(patched.metadata?.annotations?.['a']).toBe('b');
      expect(await ports.delete('secrets', backend.namespace, 'c-one')).toBe(true);
      expect(await ports.delete('secrets', backend.namespace, 'c-one')).toBe(false);
    });

    it('answers 409 AlreadyExists, 409 Conflict on a stale update, 422 Invalid with the field', async () => {
      await ports.create('secrets', backend.namespace, secret('c-dup'));
      const duplicate = await ports
        .create('secrets', backend.namespace, secret('c-dup'))
        .catch((error: unknown) => error);
      expect(duplicate).toBeInstanceOf(KubeApiError);
      expect(duplicate).toMatchObject({ status: 409, reason: 'AlreadyExists', verb: 'create', resource: 'secrets' });
      expect((duplicate as Error).message).toMatch(
        new RegExp(`^create secret ${backend.namespace}/c-dup: 409 AlreadyExists: secrets "c-dup" already exists$`),
      );

      const current = await ports.get<V1Secret & KubeObject>('secrets', backend.namespace, 'c-dup');
      if (current === null) throw new Error('missing');
      await ports.replace('secrets', backend.namespace, 'c-dup', {
        ...current,
        metadata: { ...current.metadata, labels: { x: '1' } },
      });
      const stale = await ports
        .replace('secrets', backend.namespace, 'c-dup', {
          ...current,
          metadata: { ...current.metadata, labels: { x: '2' } },
        })
        .catch((error: unknown) => error);
      expect(stale).toMatchObject({ status: 409, reason: 'Conflict', verb: 'update' });

      const invalid = await ports
        .create('secrets', backend.namespace, secret('Not_Valid'))
        .catch((error: unknown) => error);
      expect(invalid).toMatchObject({ status: 422, reason: 'Invalid', field: 'metadata.name' });
    });

    it('watches from a list resourceVersion and stops on abort', async () => {
      const list = await ports.list('secrets', backend.namespace, { labelSelector: 'claude-k8s.io/contract=watch' });
      const controller = new AbortController();
      const seen: WatchEvent<V1Secret & KubeObject>[] = [];
      const ended = ports.watch<V1Secret & KubeObject>(
        'secrets',
        backend.namespace,
        {
          labelSelector: 'claude-k8s.io/contract=watch',
          resourceVersion: list.resourceVersion,
          signal: controller.signal,
        },
        (event) => {
          seen.push(event);
          if (event.type === 'DELETED') controller.abort();
        },
      );
      await new Promise((resolve) => setTimeout(resolve, 200));
      await ports.create('secrets', backend.namespace, secret('c-watched', { 'claude-k8s.io/contract': 'watch' }));
      await ports.delete('secrets', backend.namespace, 'c-watched');
      expect(await ended).toEqual({ type: 'aborted' });
      expect(seen.filter((event) => event.type !== 'BOOKMARK').map((event) => event.type)).toEqual([
        'ADDED',
        'DELETED',
      ]);
    });

    it('starts a run (Job + owned Secret) and cancels it: outcome cancelled, Job and Secret gone', async () => {
      const runtime = createKubeRuntime({
        kubeConfig: backend.kubeConfig,
        namespace: backend.namespace,
        runtimeId: 'contract',
      });
      const controller = new AbortController();
      const handle = await runtime.startRun({
        runId: 'contract-cancel',
        agentId: 'contract-agent',
        image: backend.image,
        ...backend.runDefaults,
        command: ['sh', '-c', 'trap "exit 143" TERM; while true; do sleep 1; done'],
        timeoutSeconds: 120,
        terminationGracePeriodSeconds: 5,
        files: { 'prompt.md': 'hello' },
        signal: controller.signal,
      });
      const job = await ports.get<V1Job & KubeObject>('jobs', backend.namespace, handle.jobName);
      const owned = await ports.get<V1Secret & KubeObject>('secrets', backend.namespace, handle.jobName);
      expect(owned?.metadata?.ownerReferences?.[0]?.uid).toBe(job?.metadata?.uid);
      expect(job?.spec?.suspend).toBe(false);
      controller.abort();
      const outcome = await handle.outcome;
      expect(outcome.code).toBe('cancelled');
      await backend.eventually(
        async () => (await ports.get('jobs', backend.namespace, handle.jobName)) === null,
        'the Job is gone',
      );
      await backend.eventually(
        async () => (await ports.get('secrets', backend.namespace, handle.jobName)) === null,
        'the Secret is garbage-collected',
      );
    });

    it('two runtimes racing for one agent: one Job, the other names the holder', async () => {
      const make = (id: string) =>
        createKubeRuntime({ kubeConfig: backend.kubeConfig, namespace: backend.namespace, runtimeId: id });
      const input = (runId: string) => ({
        runId,
        agentId: 'contract-race',
        image: backend.image,
        ...backend.runDefaults,
        command: ['sh', '-c', 'sleep 30'],
        timeoutSeconds: 60,
        terminationGracePeriodSeconds: 1,
        lockPolicy: 'reject' as const,
      });
      const results = await Promise.allSettled([
        make('a').startRun(input('race-a')),
        make('b').startRun(input('race-b')),
      ]);
      const handles = results.flatMap((result) => (result.status === 'fulfilled' ? [result.value] : []));
      const errors = results.flatMap((result) => (result.status === 'rejected' ? [result.reason as unknown] : []));
      expect(handles).toHaveLength(1);
      expect(errors).toHaveLength(1);
      // LockHeldError's own marker: the losing side's raw 409 (a KubeApiError) would not pass.
      expect(LockHeldError.isInstance(errors[0])).toBe(true);
      expect(KubeApiError.isInstance(errors[0])).toBe(false);
      expect(errors[0]).toMatchObject({ code: 'lock-conflict', holderRunId: handles[0]?.runId });
      const jobs = await ports.list('jobs', backend.namespace, {
        labelSelector: 'claude-k8s.io/agent-id=contract-race',
      });
      expect(jobs.items).toHaveLength(1);
      await handles[0]?.cancel('test over');
    });
  });
}
