/**
 * A clock whose time moves only when the test says so: structurally kube-runtime's `Clock` port (which the adapter
 * shares), plus `advance`.
 */
export interface ManualClock {
  /** The manual time. Milliseconds since the epoch. */
  now(): number;
  /** Schedules `callback` at `now() + delayMs`; it runs only from {@link ManualClock.advance}. */
  setTimeout(callback: () => void, delayMs: number): unknown;
  clearTimeout(handle: unknown): void;
  /** Moves time forward by `ms` milliseconds and runs the timers now due, earliest first. */
  advance(ms: number): void;
}

/** A {@link ManualClock} starting at `start` (milliseconds since the epoch). @default 2026-11-24T15:00:00Z */
export function createManualClock(start = Date.parse('2026-11-24T15:00:00.000Z')): ManualClock {
  let now = start;
  let nextId = 1;
  const timers = new Map<number, { at: number; callback: () => void }>();
  return {
    now: () => now,
    setTimeout(callback, delayMs) {
      const id = nextId++;
      timers.set(id, { at: now + delayMs, callback });
      return id;
    },
    clearTimeout(handle) {
      timers.delete(handle as number);
    },
    advance(ms) {
      now += ms;
      const due = [...timers].filter(([, timer]) => timer.at <= now).sort((a, b) => a[1].at - b[1].at || a[0] - b[0]);
      for (const [id, timer] of due) {
        if (!timers.delete(id)) continue; // cleared by an earlier callback
        timer.callback();
      }
    },
  };
}
