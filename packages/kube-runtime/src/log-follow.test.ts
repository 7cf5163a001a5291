import {
  analyzeLogLines,
  describeLogLinesProblems,
  type FakeLogFault,
  type FakeLogServer,
  logLine,
  startFakeLogServer,
} from '@claude-k8s/kube-fakes';
import { describe, expect, it } from 'vitest';
import {
  type Clock,
  createPodLogSource,
  decodeLogCheckpoint,
  followPodLog,
  type LogCheckpoint,
  type LogFollowEvent,
  type PodLogSource,
} from './internal.ts';

const fastRetry = { initialBackoffMs: 1, maxBackoffMs: 5 } as const;

/** A seeded PRNG for fault scripts (deterministic, printed on failure through the seed). */
function prng(seed: number): () => number {
  let state = seed >>> 0 || 1;
  return () => {
    state ^= state << 13;
    state >>>= 0;
    state ^= state >>> 17;
    state ^= state << 5;
    state >>>= 0;
    return state / 4294967296;
  };
}

/** Timestamp schemes: distinct, all equal, and groups of equal timestamps that cross seconds. */
const timestampSchemes: Record<string, ((index: number) => string) | undefined> = {
  'distinct (1 µs apart)': undefined,
  'all lines share one timestamp': () => '2026-11-24T13:00:00.123456789Z',
  'groups of 7 equal timestamps, 0.3 s apart': (index) => {
    const group = Math.floor(index / 7);
    const millis = Date.UTC(2026, 10, 24, 13) + group * 300;
    return `${new Date(millis).toISOString().slice(0, 23)}000042Z`;
  },
};

/** Writes lines 0..count-1 in bursts with pauses, then an optional fragment, then terminates. */
async function produce(fake: FakeLogServer, count: number, seed: number, finalFragment = ''): Promise<void> {
  for (let index = 0; index < count; index++) {
    const line = `${logLine(index, seed)}\n`;
    if (index % 11 === 5) {
      // A line written in pieces (partial CRI records): the kubelet serves it once complete.
      const bytes = Buffer.from(line);
      fake.write(bytes.subarray(0, 7));
      await new Promise((resolve) => setTimeout(resolve, 1));
      fake.write(bytes.subarray(7));
    } else fake.write(line);
    if (index % 20 === 19) await new Promise((resolve) => setTimeout(resolve, 2));
  }
  if (finalFragment) fake.write(finalFragment);
  fake.terminate();
}

interface Collected {
  text: string;
  events: LogFollowEvent[];
  checkpoints: LogCheckpoint[];
}

async function follow(
  fake: FakeLogServer,
  extra: { checkpoint?: LogCheckpoint; signal?: AbortSignal; onOutput?: (text: string) => void | Promise<void> } = {},
): Promise<Collected & { outcome: string; requests: number }> {
  const collected: Collected = { text: '', events: [], checkpoints: [] };
  const result = await followPodLog({
    source: createPodLogSource({ kubeConfig: fake.kubeConfig() }),
    namespace: 'agents',
    pod: 'run-1',
    container: 'agent',
    onOutput: async (text, checkpoint) => {
      collected.text += text;
      collected.checkpoints.push(checkpoint);
      await extra.onOutput?.(text);
    },
    onEvent: (event) => collected.events.push(event),
    readOutcome: () => Promise.resolve(fake.terminated ? 'succeeded' : undefined),
    ...fastRetry,
    ...(extra.checkpoint ? { checkpoint: extra.checkpoint } : {}),
    ...(extra.signal ? { signal: extra.signal } : {}),
  });
  return { ...collected, outcome: result.outcome, requests: result.requests };
}

function expectExactly(text: string, count: number, seed: number, trailing = ''): void {
  const analysis = analyzeLogLines(text, seed);
  expect(describeLogLinesProblems(analysis, count)).toEqual([]);
  expect(analysis.trailing).toBe(trailing);
}

describe('followPodLog against the fake pods/log endpoint', () => {
  it('delivers every line once, strips timestamps, and asks for timestamps with the container', async () => {
    await using fake = await startFakeLogServer();
    const seed = 1;
    const [result] = await Promise.all([follow(fake), produce(fake, 250, seed, 'no newline at the end ✓')]);
    expectExactly(result.text, 250, seed, 'no newline at the end ✓');
    expect(result.outcome).toBe('succeeded');
    const first = fake.requests[0];
    expect(first).toMatchObject({ follow: true, timestamps: true, container: 'agent', sinceTime: null });
    // The follow ended with the container; a final non-follow read confirmed the end.
    expect(fake.requests.at(-1)).toMatchObject({ follow: false });
    expect(result.events.map((event) => event.type)).toEqual(['final-read']);
  });

  for (const [scheme, nextTimestamp] of Object.entries(timestampSchemes)) {
    it(`survives connections cut anywhere (mid-timestamp, mid-line, mid-character): ${scheme}`, async () => {
      const seed = 7;
      const random = prng(42 + scheme.length);
      const cuts: number[] = [];
      await using fake = await startFakeLogServer({
        ...(nextTimestamp ? { nextTimestamp } : {}),
        faults: (request): FakeLogFault | undefined => {
          if (request.index >= 40) return undefined;
          // Small cuts (inside the first line or its timestamp) and large ones (inside 300 KB lines).
          const cut = random() < 0.3 ? 1 + Math.floor(random() * 64) : 1 + Math.floor(random() * 900_000);
          cuts.push(cut);
          return { cutAfterBytes: cut };
        },
      });
      const [result] = await Promise.all([follow(fake), produce(fake, 300, seed)]);
      expectExactly(result.text, 300, seed);
      expect(result.events.filter((event) => event.type === 'reconnect').length).toBeGreaterThanOrEqual(10);
      // Every resume asked for a whole second at or before the last delivered timestamp.
      for (const request of fake.requests.slice(1))
        if (request.sinceTime !== null) expect(request.sinceTime).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/);
    });
  }

  it('reconnects when the server ends a follow cleanly while the container runs (apiserver/kubelet restart)', async () => {
    await using fake = await startFakeLogServer({
      faults: (request) => (request.index < 6 ? { endAfterBytes: 5000 + request.index * 70_000 } : undefined),
    });
    const seed = 3;
    const [result] = await Promise.all([follow(fake), produce(fake, 200, seed)]);
    expectExactly(result.text, 200, seed);
    expect(result.events.some((event) => event.type === 'reconnect' && event.reason === 'ended')).toBe(true);
  });

  it('completes the output when the container ends while disconnected (final read)', async () => {
    const seed = 5;
    let down = false;
    await using fake = await startFakeLogServer({
      faults: (request) => (request.index === 0 ? { cutAfterBytes: 20_000 } : down ? { status: 503 } : undefined),
    });
    down = true;
    const following = follow(fake);
    await produce(fake, 150, seed, 'last words');
    await new Promise((resolve) => setTimeout(resolve, 30));
    down = false;
    const result = await following;
    expectExactly(result.text, 150, seed, 'last words');
    expect(result.events.filter((event) => event.type === 'reconnect').length).toBeGreaterThan(1);
    expect(fake.requests.at(-1)?.follow).toBe(false);
  });

  it('resumes in a new follower from a persisted checkpoint (adapter restart), also mid-line and mid-character', async () => {
    const seed = 11;
    for (const stopAfterChunks of [1, 3, 8]) {
      await using fake = await startFakeLogServer({
        nextTimestamp: timestampSchemes['groups of 7 equal timestamps, 0.3 s apart'],
        // Small chunks so that checkpoints fall inside lines and characters.
        faults: (request) => (request.index === 0 ? { cutAfterBytes: 40_000 + stopAfterChunks * 13 } : undefined),
      });
      await produce(fake, 120, seed, 'fin');
      // What the first process stored, and the checkpoint it persisted with it.
      const [text1, checkpoint1] = await (async () => {
        const controller2 = new AbortController();
        let text = '';
        let checkpoint: LogCheckpoint | undefined;
        let seen = 0;
        await followPodLog({
          source: createPodLogSource({ kubeConfig: fake.kubeConfig() }),
          namespace: 'agents',
          pod: 'run-1',
          onOutput: (chunk, point) => {
            seen += 1;
            if (seen > stopAfterChunks) return;
            text += chunk;
            checkpoint = point;
            if (seen === stopAfterChunks) controller2.abort(new Error('killed'));
          },
          readOutcome: () => Promise.resolve('succeeded'),
          signal: controller2.signal,
          ...fastRetry,
        }).catch(() => undefined);
        return [text, checkpoint] as const;
      })();
      const decoded = decodeLogCheckpoint(JSON.parse(JSON.stringify(checkpoint1)));
      if (!decoded.success) throw new Error(decoded.issues.join('; '));
      const second = await follow(fake, { checkpoint: decoded.value });
      expectExactly(text1 + second.text, 120, seed, 'fin');
      // Reattaching with the final checkpoint delivers nothing more.
      const last = second.checkpoints.at(-1);
      if (!last) throw new Error('no checkpoint');
      const third = await follow(fake, { checkpoint: last });
      expect(third.text).toBe('');
    }
  });

  it('skips the headless tail a replay starts with when sinceTime falls inside a long line', async () => {
    const seed = 17;
    const second = (s: number, nanos = 0): string =>
      `2026-11-24T13:00:${String(s).padStart(2, '0')}.${String(nanos).padStart(9, '0')}Z`;
    // Line 3 is long: begun at second 0, its later records are stamped in second 31; line 4 starts in second 31, so
    // the window moves to second 1 (31 minus the 30 s margin) and a replay from there starts with line 3's tail
    // without a timestamp.
    let cutDone = false;
    await using fake = await startFakeLogServer({
      faults: (request) => {
        if (request.index === 0) return { cutAfterBytes: 100 + 4 * 2000 };
        return undefined;
      },
    });
    for (let index = 0; index < 3; index++) fake.write(`${logLine(index, seed)}\n`, second(0, index));
    fake.write(`${logLine(3, seed)}\n`, second(0, 900), { timestamp: second(31, 5), offset: 10 });
    for (let index = 4; index < 40; index++) fake.write(`${logLine(index, seed)}\n`, second(31, 10 + index));
    fake.terminate();
    const result = await follow(fake, {
      onOutput: () => {
        cutDone = true;
      },
    });
    expect(cutDone).toBe(true);
    expectExactly(result.text, 40, seed);
    expect(fake.requests.some((request) => request.sinceTime === '2026-11-24T13:00:01Z')).toBe(true);
  });

  it('reports a rotation during a disconnect as a gap bracketing exactly the lost lines', async () => {
    const seed = 13;
    let rotateNow: (() => void) | null = null;
    await using fake = await startFakeLogServer({
      faults: (request) => {
        if (request.index === 0) return { cutAfterBytes: 150_000 };
        if (request.index === 1) rotateNow?.();
        return undefined;
      },
    });
    for (let index = 0; index < 100; index++) fake.write(`${logLine(index, seed)}\n`);
    // While the follower is disconnected, 20 more lines are written and the file rotates, then 30 more lines.
    rotateNow = () => {
      for (let index = 100; index < 120; index++) fake.write(`${logLine(index, seed)}\n`);
      fake.rotate();
      for (let index = 120; index < 150; index++) fake.write(`${logLine(index, seed)}\n`);
      fake.terminate();
      rotateNow = null;
    };
    const result = await follow(fake);
    const analysis = analyzeLogLines(result.text, seed);
    const gaps = result.events.filter((event) => event.type === 'gap');
    expect(gaps).toHaveLength(1);
    const gap = gaps[0];
    if (gap?.type !== 'gap') throw new Error('no gap');
    const received = new Set(analysis.indices);
    const lost = Array.from({ length: 150 }, (_, index) => index).filter((index) => !received.has(index));
    expect(lost.length).toBeGreaterThan(0);
    // Everything before the gap arrived in order, everything after it too, and the gap's timestamps bracket the loss.
    expect(analysis.indices).toEqual(
      Array.from({ length: 150 }, (_, index) => index).filter((index) => received.has(index)),
    );
    expect(lost.at(-1)).toBe(119);
    const timestampOf = (index: number): string => fake.records[index]?.timestamp ?? '';
    expect(gap.firstTimestampAfter).toBe(timestampOf(120));
    expect(gap.lastTimestampBefore).toBe(timestampOf(lost[0]! - (gap.partialLineLost ? 0 : 1)));
    // A line cut midway and lost shows as a corrupt (truncated) line, never silently.
    expect(analysis.corrupt.length).toBe(gap.partialLineLost ? 1 : 0);
  });

  it('rejects at once on 403 and after giveUpAfterMs of failures otherwise', async () => {
    await using fake = await startFakeLogServer({ faults: () => ({ status: 403 }) });
    await expect(follow(fake)).rejects.toThrow(/get pods\/log agents\/run-1: 403/);
    await using down = await startFakeLogServer({ faults: () => ({ status: 503 }) });
    await expect(
      followPodLog({
        source: createPodLogSource({ kubeConfig: down.kubeConfig() }),
        namespace: 'agents',
        pod: 'run-1',
        onOutput: () => {},
        readOutcome: () => Promise.resolve(undefined),
        ...fastRetry,
        giveUpAfterMs: 50,
      }),
    ).rejects.toThrow(/follow log agents\/run-1: no output .*503/);
  });
});

describe('followPodLog when the pod is gone', () => {
  it('ends with the outcome as soon as the run is decided, instead of retrying the 404 until it gives up', async () => {
    await using gone = await startFakeLogServer({ faults: () => ({ status: 404 }) });
    let asked = 0;
    const result = await followPodLog({
      source: createPodLogSource({ kubeConfig: gone.kubeConfig() }),
      namespace: 'agents',
      pod: 'run-1',
      onOutput: () => {},
      // The run is decided from the third look on (the watch saw the Job and pod go).
      readOutcome: () => Promise.resolve((asked += 1) >= 3 ? 'cancelled' : undefined),
      ...fastRetry,
      giveUpAfterMs: 60_000,
    });
    expect(result.outcome).toBe('cancelled');
    expect(result.requests).toBe(3);
  });
});

describe('followPodLog with in-memory ports', () => {
  it('reads no further while the callback has not resolved (backpressure)', async () => {
    let pulled = 0;
    const line = new TextEncoder().encode(`2026-11-24T13:00:00.000000000Z ${'x'.repeat(1000)}\n`);
    const source: PodLogSource = {
      open: () =>
        Promise.resolve({
          async *[Symbol.asyncIterator]() {
            for (let index = 0; index < 200; index++) {
              await Promise.resolve();
              pulled += 1;
              yield line;
            }
          },
        }),
    };
    let delivered = 0;
    let maxAhead = 0;
    await followPodLog({
      source,
      namespace: 'agents',
      pod: 'run-1',
      onOutput: async () => {
        delivered += 1;
        maxAhead = Math.max(maxAhead, pulled - delivered);
        await new Promise((resolve) => setTimeout(resolve, 0));
      },
      readOutcome: () => Promise.resolve('done'),
    });
    expect(delivered).toBe(200);
    expect(maxAhead).toBe(0);
  });

  it('backs off exponentially on the clock port, capped, and resets after progress', async () => {
    const delays: number[] = [];
    let now = 0;
    const clock: Clock = {
      now: () => now,
      setTimeout: (callback, delayMs) => {
        delays.push(delayMs);
        now += delayMs;
        queueMicrotask(callback);
        return delays.length;
      },
      clearTimeout: () => {},
    };
    let opens = 0;
    const source: PodLogSource = {
      open: () => {
        opens += 1;
        if (opens === 8)
          return Promise.resolve({
            async *[Symbol.asyncIterator]() {
              await Promise.resolve();
              yield new TextEncoder().encode('2026-11-24T13:00:00.000000000Z a\n');
              throw new Error('cut');
            },
          });
        if (opens < 12) return Promise.reject(new Error('connection refused'));
        return Promise.resolve({ async *[Symbol.asyncIterator]() {} });
      },
    };
    const result = await followPodLog({
      source,
      clock,
      namespace: 'agents',
      pod: 'run-1',
      onOutput: () => {},
      readOutcome: () => Promise.resolve(opens >= 12 ? 'done' : undefined),
    });
    expect(result.outcome).toBe('done');
    expect(delays).toEqual([250, 500, 1000, 2000, 4000, 5000, 5000, 250, 500, 1000, 2000]);
  });
});
