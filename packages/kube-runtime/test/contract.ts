/**
 * The contract suite: one set of expectations about the apiserver as seen through kube-runtime, run against the fake
 * apiserver (T2, `client-node-ports.test.ts`) and the real local cluster (T3, `*.cluster.test.ts`), so the fake cannot
 * drift from reality.
 */
import { CoreV1Api, type KubeConfig, type V1Job, type V1Secret } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createClientNodePorts,
  createKubeRuntime,
  KubeApiError,
  LockHeldError,
  systemClock,
  type KubeObject,
  type KubePorts,
  type PodLogSource,
  type WatchEvent,
} from '../src/internal.ts';

/** One step of a log-writing container: write to stdout, or pause. */
export type LogStep =
  /** Write `write` repeated `times` (default 1) in one write (keeps the step list small for long lines). */
  { write: string; times?: number } | { sleepMs: number };

/** Where the log of a terminated log-writing container can be read. */
export interface LogWriterRun {
  source: PodLogSource;
  namespace: string;
  pod: string;
  container: string;
}

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
  /** Runs a container that performs `steps` and resolves once it has terminated (T2: the fake `pods/log`). */
  runLogWriter(name: string, steps: readonly LogStep[]): Promise<LogWriterRun>;
  /** Makes the apiserver forget old watch history (T2: compaction; T3: nothing to do, rv 1 is long gone). */
  forgetHistory(): Promise<void>;
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
    it('410 Gone: a watch from a resourceVersion the apiserver no longer has ends with gone (then relist)', async () => {
      await ports.create('secrets', backend.namespace, secret('c-gone'));
      await backend.forgetHistory();
      const controller = new AbortController();
      const end = await Promise.race([
        ports.watch('secrets', backend.namespace, { resourceVersion: '1', signal: controller.signal }, () => {}),
        new Promise<{ type: 'still-open' }>((resolve) => setTimeout(() => resolve({ type: 'still-open' }), 10_000)),
      ]);
      controller.abort();
      expect(end).toEqual({ type: 'gone' });
    });

    it('a watch ends cleanly at its timeoutSeconds; resuming from the last resourceVersion it saw needs no relist', async () => {
      const label = { 'claude-k8s.io/contract': 'timeout' };
      const list = await ports.list('secrets', backend.namespace, { labelSelector: 'claude-k8s.io/contract=timeout' });
      const seen: WatchEvent<V1Secret & KubeObject>[] = [];
      const started = Date.now();
      const end = await ports.watch<V1Secret & KubeObject>(
        'secrets',
        backend.namespace,
        {
          labelSelector: 'claude-k8s.io/contract=timeout',
          resourceVersion: list.resourceVersion,
          signal: new AbortController().signal,
          timeoutSeconds: 4,
        },
        (event) => seen.push(event),
      );
      const elapsedMs = Date.now() - started;
      expect(end).toEqual({ type: 'closed', error: null });
      expect(elapsedMs).toBeGreaterThan(3_000);
      // The last resourceVersion the watch saw: a bookmark's if one came, else the list's.
      const bookmarks = seen.filter((event) => event.type === 'BOOKMARK');
      const resumeFrom = bookmarks.at(-1)?.resourceVersion ?? list.resourceVersion;
      // Resuming from there sees what happened after it, and is not told to relist.
      const controller = new AbortController();
      const after: WatchEvent<V1Secret & KubeObject>[] = [];
      const resumed = ports.watch<V1Secret & KubeObject>(
        'secrets',
        backend.namespace,
        { labelSelector: 'claude-k8s.io/contract=timeout', resourceVersion: resumeFrom, signal: controller.signal },
        (event) => {
          after.push(event);
          if (event.type === 'ADDED') controller.abort();
        },
      );
      await ports.create('secrets', backend.namespace, secret('c-timeout', label));
      expect(await resumed).toEqual({ type: 'aborted' });
      expect(after.filter((event) => event.type !== 'BOOKMARK').map((event) => event.type)).toEqual(['ADDED']);
    });

    it('graceful deletion: a Foreground delete marks the Job (deletionTimestamp, finalizer), removes its pod, then the Job', async () => {
      const list = await ports.list('jobs', backend.namespace, { labelSelector: 'claude-k8s.io/contract=gc' });
      const job = {
        apiVersion: 'batch/v1',
        kind: 'Job',
        metadata: { name: 'c-gc', labels: { 'claude-k8s.io/contract': 'gc' } },
        spec: {
          backoffLimit: 0,
          template: {
            metadata: { labels: { 'claude-k8s.io/contract': 'gc' } },
            spec: {
              restartPolicy: 'Never',
              terminationGracePeriodSeconds: 2,
              automountServiceAccountToken: false,
              securityContext: {
                runAsNonRoot: true,
                runAsUser: backend.runDefaults.runAsUser ?? 1000,
                seccompProfile: { type: 'RuntimeDefault' },
              },
              containers: [
                {
                  name: 'agent',
                  image: backend.image,
                  imagePullPolicy: backend.runDefaults.imagePullPolicy ?? 'IfNotPresent',
                  command: ['sh', '-c', 'trap "exit 0" TERM; while true; do sleep 1; done'],
                  securityContext: { allowPrivilegeEscalation: false, capabilities: { drop: ['ALL'] } },
                },
              ],
            },
          },
        },
      } as unknown as V1Job & KubeObject;
      const seen: string[] = [];
      /** resourceVersion of each kind's last event of a type: the order across two watch streams. */
      const revisions = new Map<string, number>();
      const controller = new AbortController();
      const watchOf = (kind: 'jobs' | 'pods') =>
        ports.watch<KubeObject>(
          kind,
          backend.namespace,
          {
            labelSelector: 'claude-k8s.io/contract=gc',
            resourceVersion: list.resourceVersion,
            signal: controller.signal,
          },
          (event) => {
            if (event.type === 'BOOKMARK') return;
            const marked = event.object.metadata?.deletionTimestamp !== undefined ? '+deleting' : '';
            seen.push(`${kind} ${event.type}${marked}`);
            revisions.set(`${kind} ${event.type}`, Number(event.object.metadata?.resourceVersion));
          },
        );
      const watches = [watchOf('jobs'), watchOf('pods')];
      await ports.create('jobs', backend.namespace, job);
      await backend.eventually(
        async () =>
          (await ports.list('pods', backend.namespace, { labelSelector: 'claude-k8s.io/contract=gc' })).items.length >
          0,
        'the Job controller created the pod',
      );
      expect(await ports.delete('jobs', backend.namespace, 'c-gc', { propagationPolicy: 'Foreground' })).toBe(true);
      await backend.eventually(
        () => Promise.resolve(seen.some((entry) => entry.startsWith('jobs DELETED'))),
        'the Job is gone',
      );
      controller.abort();
      await Promise.all(watches);
      const jobEvents = seen.filter((entry) => entry.startsWith('jobs '));
      // The Job is first marked (MODIFIED with a deletionTimestamp), and goes last: after its pod.
      expect(jobEvents.some((entry) => entry === 'jobs MODIFIED+deleting')).toBe(true);
      expect(jobEvents.indexOf('jobs MODIFIED+deleting')).toBeLessThan(
        jobEvents.findIndex((e) => e.startsWith('jobs DELETED')),
      );
      // Two watch streams have no order between them; the resourceVersions do (etcd revisions).
      expect(revisions.get('pods DELETED')).toBeDefined();
      expect(revisions.get('pods DELETED')!).toBeLessThan(revisions.get('jobs DELETED')!);
      const marked = await ports.get('jobs', backend.namespace, 'c-gc');
      expect(marked).toBeNull();
    });

    it('podFailurePolicy: an evicted pod (DisruptionTarget) fails the Job with reason PodFailurePolicy; the run is evicted', async () => {
      const runtime = createKubeRuntime({
        kubeConfig: backend.kubeConfig,
        namespace: backend.namespace,
        runtimeId: 'contract',
      });
      const handle = await runtime.startRun({
        runId: 'contract-evict',
        agentId: 'contract-evict',
        image: backend.image,
        ...backend.runDefaults,
        command: ['sh', '-c', 'trap "exit 143" TERM; while true; do sleep 1; done'],
        timeoutSeconds: 120,
        terminationGracePeriodSeconds: 2,
        retention: { onFailure: 'keep', keepFailedSeconds: 60 },
      });
      let podName = '';
      await backend.eventually(async () => {
        const pods = await ports.list<KubeObject>('pods', backend.namespace, {
          labelSelector: `batch.kubernetes.io/job-name=${handle.jobName}`,
        });
        podName = pods.items[0]?.metadata?.name ?? '';
        return podName !== '';
      }, 'the Job controller created the pod');
      await backend.kubeConfig.makeApiClient(CoreV1Api).createNamespacedPodEviction({
        name: podName,
        namespace: backend.namespace,
        body: { apiVersion: 'policy/v1', kind: 'Eviction', metadata: { name: podName, namespace: backend.namespace } },
      });
      const outcome = await handle.outcome;
      expect(outcome).toMatchObject({ code: 'evicted', reason: 'EvictionByEvictionAPI' });
      // The Job controller marks FailureTarget at once and Failed once the pod has terminated (v1.31+).
      const conditionsOf = async () =>
        (await ports.get<V1Job & KubeObject>('jobs', backend.namespace, handle.jobName))?.status?.conditions ?? [];
      await backend.eventually(
        async () => (await conditionsOf()).some((condition) => condition.type === 'Failed'),
        'the Job failed',
      );
      const conditions = await conditionsOf();
      for (const type of ['FailureTarget', 'Failed'])
        expect(conditions.find((condition) => condition.type === type)).toMatchObject({
          status: 'True',
          reason: 'PodFailurePolicy',
        });
    });

    /** Reads a whole non-follow `pods/log` response as lines `[timestamp | null, content]`. */
    async function readLog(run: LogWriterRun, sinceTime?: string): Promise<[string | null, string][]> {
      const body = await run.source.open({
        namespace: run.namespace,
        pod: run.pod,
        container: run.container,
        follow: false,
        ...(sinceTime === undefined ? {} : { sinceTime }),
      });
      const chunks: Buffer[] = [];
      for await (const chunk of body) chunks.push(Buffer.from(chunk));
      const text = Buffer.concat(chunks).toString('utf8');
      return text
        .split('\n')
        .filter((line, index, all) => line !== '' || index < all.length - 1)
        .map((line) => {
          const match = /^(\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(?:\.\d+)?Z) (.*)$/s.exec(line);
          return match === null ? [null, line] : [match[1] ?? null, match[2] ?? ''];
        });
    }

    it('pods/log sinceTime: truncated to whole seconds and inclusive (every line of that second comes back)', async () => {
      const steps: LogStep[] = [];
      for (let index = 0; index < 12; index += 1) {
        steps.push({ write: `line ${index}\n` });
        steps.push({ sleepMs: 250 });
      }
      const run = await backend.runLogWriter('c-since', steps);
      const all = await readLog(run);
      expect(all.map(([, content]) => content)).toEqual(Array.from({ length: 12 }, (_, index) => `line ${index}`));
      const second = (timestamp: string | null): string => (timestamp ?? '').slice(0, 19);
      // A line in the middle that is not the first of its second: its second's earlier lines must come back too.
      const pick = all.findIndex(
        ([timestamp], index) => index > 2 && second(timestamp) === second(all[index - 1]?.[0] ?? null),
      );
      expect(pick).toBeGreaterThan(0);
      const since = `${second(all[pick]?.[0] ?? null)}.900000000Z`;
      const replay = await readLog(run, since);
      const expected = all.filter(([timestamp]) => second(timestamp) >= second(all[pick]?.[0] ?? null));
      expect(replay).toEqual(expected);
      expect(replay.length).toBeGreaterThan(all.length - pick);
    });

    it('pods/log: a long line written across seconds comes back headless (its tail, no timestamp) to a later sinceTime', async () => {
      // 300 000 characters written over ~2.4 s (as seen on v1.35: the kubelet stamps a line with its first CRI
      // record's time only; a sinceTime inside the line returns the rest of it without a timestamp).
      const steps: LogStep[] = [{ write: 'before\n' }];
      for (let index = 0; index < 6; index += 1) steps.push({ write: 'h', times: 50_000 }, { sleepMs: 400 });
      steps.push({ write: 'rest\n' }, { write: 'after\n' });
      const run = await backend.runLogWriter('c-tail', steps);
      const line = `${'h'.repeat(300_000)}rest`;
      const all = await readLog(run);
      expect(all.map(([, content]) => content)).toEqual(['before', line, 'after']);
      const lineStart = Date.parse(all[1]?.[0] ?? '');
      const afterAt = Date.parse(all[2]?.[0] ?? '');
      expect(afterAt - lineStart).toBeGreaterThan(2_000); // stamped with its first record, not its last
      const since = `${new Date(Math.floor(lineStart / 1000) * 1000 + 1000).toISOString().slice(0, 19)}Z`;
      const replay = await readLog(run, since);
      expect(replay[0]?.[0]).toBeNull();
      const tail = replay[0]?.[1] ?? '';
      expect(tail.length).toBeGreaterThan(4);
      expect(tail.length).toBeLessThan(line.length);
      expect(line.endsWith(tail)).toBe(true);
      expect(replay.slice(1).map(([, content]) => content)).toEqual(['after']);
    });
  });
}
