/** Time as a port. The default looks the globals up at call time, so fake timers work. */

/** A timer handle, opaque to callers. */
export type TimerHandle = unknown;

/** Time and timers. */
export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Calls `callback` after `delayMs` milliseconds. */
  setTimeout(callback: () => void, delayMs: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/**
 * Longest delay Node's `setTimeout` honours: 2^31-1 ms (about 24.8 days). A longer delay (or `Infinity`) is not
 * refused: Node warns and fires it after 1 ms.
 */
export const MAX_TIMER_DELAY_MS = 2 ** 31 - 1;

/** A timer that may outlast {@link MAX_TIMER_DELAY_MS}: re-armed in segments until the whole delay has passed. */
export interface LongTimer {
  /** Handle of the segment armed now. */
  current: ReturnType<typeof globalThis.setTimeout> | undefined;
  cleared: boolean;
}

/**
 * Like `setTimeout`, but a delay above {@link MAX_TIMER_DELAY_MS} waits its full length (segments of at most that
 * many ms) instead of firing after 1 ms. A negative or NaN delay counts as 0; `Infinity` never fires.
 * @param delayMs milliseconds
 * @param unref unref each segment (the timer alone does not keep the process alive). @default true
 */
export function setLongTimeout(callback: () => void, delayMs: number, unref = true): LongTimer {
  const timer: LongTimer = { current: undefined, cleared: false };
  const arm = (remainingMs: number): void => {
    if (timer.cleared) return;
    const segmentMs = Math.min(remainingMs, MAX_TIMER_DELAY_MS);
    const handle = globalThis.setTimeout(() => {
      if (timer.cleared) return;
      const left = remainingMs - segmentMs;
      if (left > 0) arm(left);
      else callback();
    }, segmentMs);
    if (unref && typeof handle === 'object' && 'unref' in handle) handle.unref();
    timer.current = handle;
  };
  arm(Number.isNaN(delayMs) || delayMs < 0 ? 0 : delayMs);
  return timer;
}

/** Cancels a {@link setLongTimeout} timer; a no-op for anything else or an already-fired timer. */
export function clearLongTimeout(timer: unknown): void {
  if (typeof timer !== 'object' || timer === null || !('cleared' in timer)) return;
  const long = timer as LongTimer;
  long.cleared = true;
  globalThis.clearTimeout(long.current);
}

/** The real clock; reads `Date.now`/`setTimeout` at each call. Delays above 2^31-1 ms wait their full length. */
export const systemClock: Clock = {
  now: () => Date.now(),
  setTimeout: (callback, delayMs) => setLongTimeout(callback, delayMs),
  clearTimeout: (handle) => {
    clearLongTimeout(handle);
  },
};

/** Resolves after `delayMs` (clock port), or rejects with the signal's reason when it aborts. */
export function sleep(clock: Clock, delayMs: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted === true) {
      reject(signal.reason as Error);
      return;
    }
    const onAbort = (): void => {
      clock.clearTimeout(handle);
      reject(signal?.reason as Error);
    };
    const handle = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, delayMs);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}
