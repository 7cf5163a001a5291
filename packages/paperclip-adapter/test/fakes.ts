/**
 * Test doubles of the adapter's ports: a kube-runtime `startRun` that replays recorded transcripts, in-memory host files,
 * a manual clock, and a Paperclip execution context that records every callback in order. Runs are classified by the
 * real stream-json accumulator (the adapter's default), never by a test copy.
 */
import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import type { AdapterExecutionContext, AdapterInvocationMeta } from '@paperclipai/adapter-utils';
import type { RunHandle, RunOutcome, StartRunInput } from '@claude-k8s/kube-runtime';
import { createManualClock } from '@claude-k8s/test-utils';
import { createServerAdapter } from '../src/create-server-adapter.ts';
import { agentHomeSubPath } from '../src/invocation/pod-layout.ts';
import type { HostFile, HostFiles, RunStarter, RunTarget } from '../src/ports.ts';
import type { SessionMatchTarget } from '../src/session-codec.ts';

const fixtures = fileURLToPath(new URL('../src/__fixtures__/', import.meta.url));

/** A recorded transcript: stdout text and exit code. */
export function loadTranscript(name: string): { stdout: string; exitCode: number } {
  return {
    stdout: readFileSync(`${fixtures}${name}.jsonl`, 'utf8'),
    exitCode: Number(readFileSync(`${fixtures}${name}.exitcode`, 'utf8').trim()),
  };
}

/** Splits text into chunks of `size` characters (never line-aligned on purpose). */
function chunk(text: string, size: number): string[] {
  const chunks: string[] = [];
  for (let index = 0; index < text.length; index += size) chunks.push(text.slice(index, index + size));
  return chunks;
}

/** One scripted attempt of the fake runtime. */
export interface ScriptedAttempt {
  /** Transcript to replay, or raw stdout. */
  transcript?: string;
  stdout?: string;
  /** Outcome; default: `succeeded` for exit 0, `exit-code` otherwise. */
  outcome?: Partial<RunOutcome>;
  /** Reject `startRun` with this error. */
  startError?: Error;
  /** Reject `outcome` with this error after the output (the run could not be followed to its end). */
  outcomeError?: Error;
  /** Wait for the abort signal before ending (then report `cancelled`). */
  waitForAbort?: boolean;
  /** Never settle on its own (for watchdog tests). */
  hang?: boolean;
  /** Size of the pieces the stdout is delivered in. @default 97 */
  chunkSize?: number;
}

/** A fake kube-runtime `startRun` (the adapter's {@link RunStarter} port) replaying scripted attempts in order. */
export interface FakeRuntime {
  /** The runtime of one target (what `createServerAdapter`'s `runtimeFactory` returns). */
  at(target: RunTarget): RunStarter;
  /** Every `startRun` input, in order. */
  requests: StartRunInput[];
  /** The target of each request. */
  targets: RunTarget[];
  /** Reasons of `cancel` calls. */
  cancelled: string[];
  /** Reasons `detach` was called with. */
  detached: string[];
}

export function createFakeRuntime(attempts: ScriptedAttempt[]): FakeRuntime {
  const requests: StartRunInput[] = [];
  const targets: RunTarget[] = [];
  const cancelled: string[] = [];
  const detached: string[] = [];
  const start = (target: RunTarget, input: StartRunInput): Promise<RunHandle> => {
    requests.push(input);
    targets.push(target);
    const script = attempts[requests.length - 1];
    if (script === undefined) return Promise.reject(new Error('no scripted attempt left'));
    if (script.startError !== undefined) return Promise.reject(script.startError);
    const jobName = `run-${input.runId.slice(0, 8)}-${requests.length}`;
    const namespace = target.namespace;
    const base = createRunOutcome({ namespace, jobName, podName: `${jobName}-abcde` });
    const { promise: cancelledPromise, resolve: cancelCalled } = Promise.withResolvers<void>();
    const outcome = (async (): Promise<RunOutcome> => {
      const recorded = script.transcript === undefined ? null : loadTranscript(script.transcript);
      const stdout = script.stdout ?? recorded?.stdout ?? '';
      let deliveredBytes = 0;
      for (const piece of chunk(stdout, script.chunkSize ?? 97)) {
        deliveredBytes += Buffer.byteLength(piece);
        await input.onOutput?.(piece, {
          version: 1,
          sinceTime: null,
          linesSince: 0,
          partialBytes: 0,
          lastTimestamp: null,
          deliveredBytes,
          deliveredLines: 0,
        });
      }
      if (script.outcomeError !== undefined) throw script.outcomeError;
      if (script.hang === true) {
        await cancelledPromise;
        return { ...base, code: 'cancelled', exitCode: null, cancelledAt: '2026-11-24T15:00:00.000Z' };
      }
      if (script.waitForAbort === true) {
        await new Promise<void>((resolve) => {
          if (input.signal?.aborted === true) resolve();
          else input.signal?.addEventListener('abort', () => resolve(), { once: true });
        });
        return {
          ...base,
          code: 'cancelled',
          exitCode: null,
          cancelledAt: '2026-11-24T14:59:58.000Z',
          endedAt: '2026-11-24T15:00:00.000Z',
        };
      }
      const exitCode = recorded?.exitCode ?? 0;
      return { ...base, code: exitCode === 0 ? 'succeeded' : 'exit-code', exitCode, ...script.outcome };
    })();
    const handle: RunHandle = {
      runId: input.runId,
      agentId: input.agentId,
      namespace,
      jobName,
      containerName: 'agent',
      podName: `${jobName}-abcde`,
      adopted: false,
      events: { [Symbol.asyncIterator]: () => ({ next: () => Promise.resolve({ value: undefined, done: true }) }) },
      outcome,
      containerStarted: Promise.resolve(`${jobName}-abcde`),
      cancel(reason = 'cancelled') {
        cancelled.push(reason);
        cancelCalled();
        return outcome;
      },
      detach(reason = 'detached') {
        detached.push(reason);
      },
    };
    return Promise.resolve(handle);
  };
  return { requests, targets, cancelled, detached, at: (target) => ({ startRun: (input) => start(target, input) }) };
}

/** In-memory host files. */
export function createMemoryHostFiles(files: Record<string, string>): HostFiles & { reads: string[] } {
  const reads: string[] = [];
  const encoder = new TextEncoder();
  return {
    reads,
    readFile(path) {
      reads.push(path);
      const content = files[path];
      return content === undefined
        ? Promise.reject(new Error(`ENOENT: ${path}`))
        : Promise.resolve(encoder.encode(content));
    },
    readDirectory(path) {
      reads.push(path);
      const prefix = `${path.replace(/\/+$/, '')}/`;
      const entries: HostFile[] = Object.entries(files)
        .filter(([name]) => name.startsWith(prefix))
        .map(([name, content]) => ({ path: name.slice(prefix.length), content: encoder.encode(content) }));
      return entries.length === 0 ? Promise.reject(new Error(`ENOENT: ${path}`)) : Promise.resolve(entries);
    },
  };
}

/** kube-runtime's outcome with every field set: a succeeded run ended 2026-11-24T15:00Z; `overrides` win. */
export function createRunOutcome(overrides: Partial<RunOutcome> = {}): RunOutcome {
  return {
    code: 'succeeded',
    reason: null,
    message: '',
    hint: null,
    exitCode: 0,
    events: [],
    namespace: '',
    jobName: '',
    podName: null,
    endedAt: '2026-11-24T15:00:00.000Z',
    cancelledAt: null,
    output: null,
    ...overrides,
  };
}

/** A recorded callback of the fake context. */
export type CallbackRecord =
  | { kind: 'cancellation-ready' }
  | { kind: 'dispatch' }
  | { kind: 'meta'; meta: AdapterInvocationMeta }
  | { kind: 'log'; stream: 'stdout' | 'stderr'; chunk: string }
  | { kind: 'event'; message: string };

/** A Paperclip execution context that records callbacks in order. */
export function createFakeContext(
  overrides: Partial<AdapterExecutionContext> & { configOverrides?: Record<string, unknown> } = {},
): AdapterExecutionContext & { records: CallbackRecord[]; controller: AbortController } {
  const records: CallbackRecord[] = [];
  const controller = new AbortController();
  const { configOverrides, ...rest } = overrides;
  const context: AdapterExecutionContext & { records: CallbackRecord[]; controller: AbortController } = {
    records,
    controller,
    runId: '5d0c5a8e-1111-4222-8333-444455556666',
    agent: { id: 'agent-1', companyId: 'company-1', name: 'Builder', adapterType: 'claude_k8s', adapterConfig: {} },
    runtime: { sessionId: null, sessionParams: null, sessionDisplayId: null, taskKey: 'issue-1' },
    config: {
      image: 'registry.example/claude:2.1.331',
      namespace: 'agents',
      paperclipApiUrl: 'http://paperclip.paperclip.svc:3100',
      anthropicApiKeySecret: { name: 'anthropic-api-key' },
      sessionVolume: { claimName: 'claude-sessions' },
      ...configOverrides,
    },
    context: { wakeReason: 'issue_assigned', taskId: 'issue-1', paperclipTaskMarkdown: '# Task\n\nDo the thing.' },
    authToken: 'eyJhbGciOiJIUzI1NiJ9.run-token.signature',
    signal: controller.signal,
    onCancellationReady: () => {
      records.push({ kind: 'cancellation-ready' });
      return Promise.resolve();
    },
    onDispatch: () => {
      records.push({ kind: 'dispatch' });
    },
    onMeta: (meta) => {
      records.push({ kind: 'meta', meta });
      return Promise.resolve();
    },
    onLog: async (stream, piece) => {
      await Promise.resolve();
      records.push({ kind: 'log', stream, chunk: piece });
    },
    onEvent: (event) => {
      records.push({ kind: 'event', message: event.message ?? '' });
      return Promise.resolve();
    },
    ...rest,
  };
  return context;
}

/**
 * The operator policy that admits {@link createFakeContext}'s configuration (namespace `agents`, its API key Secret
 * and Paperclip host) and a namespace reader that finds every namespace Pod Security `restricted`: spread into
 * `createServerAdapter` options by tests that are not about the policy.
 */
export const admittingPolicy = {
  policy: {
    allowedNamespaces: ['agents'],
    allowedSecrets: ['anthropic-api-key'],
    allowedPaperclipHosts: ['paperclip.paperclip.svc', 'paperclip.svc'],
  },
  namespaceReader: () =>
    Promise.resolve({
      state: 'found' as const,
      labels: { 'pod-security.kubernetes.io/enforce': 'restricted' },
    }),
};

/**
 * The session target of {@link createFakeContext}'s run (its issue's workspace, its agent's home on the session
 * volume): stored session params with this target are resumed.
 */
export const fakeContextSessionTarget: SessionMatchTarget = {
  cwd: '/home/agent/workspaces/agent-1/issue-1',
  promptBundleKey: null,
  mcpServerIdentity: null,
  sessionVolume: {
    namespace: 'agents',
    claimName: 'claude-sessions',
    mountPath: '/home/agent',
    subPath: agentHomeSubPath('company-1', 'agent-1'),
  },
};

/**
 * The adapter over {@link createFakeRuntime}'s scripted attempts, with the admitting policy, empty in-memory host
 * files and a manual clock; its output is classified by its default (real) stream-json accumulator.
 */
export function createScriptedAdapter(attempts: ScriptedAttempt[]) {
  const launcher = createFakeRuntime(attempts);
  const clock = createManualClock();
  const adapter = createServerAdapter({
    ...admittingPolicy,
    runtimeFactory: (target) => launcher.at(target),
    hostFiles: createMemoryHostFiles({}),
    clock,
    serverEnv: {},
  });
  return { adapter, launcher, clock };
}
