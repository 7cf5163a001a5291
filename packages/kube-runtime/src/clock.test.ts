import { afterEach, describe, expect, it, vi } from 'vitest';
import { MAX_TIMER_DELAY_MS, sleep, systemClock } from './clock.ts';

describe('systemClock timers above the 32-bit limit', () => {
  afterEach(() => {
    vi.useRealTimers();
  });

  it('a 30-day delay does not fire early on real timers (Node fires an over-limit delay after 1 ms)', async () => {
    const started = performance.now();
    let firedAfterMs: number | null = null;
    const handle = systemClock.setTimeout(() => {
      firedAfterMs = performance.now() - started;
    }, 30 * 86_400_000);
    await new Promise((resolve) => globalThis.setTimeout(resolve, 50));
    systemClock.clearTimeout(handle);
    expect(firedAfterMs).toBeNull();
  });

  it('waits the full delay, re-armed in segments no longer than 2^31-1 ms, and can be cleared', async () => {
    vi.useFakeTimers({ now: 0 });
    const delayMs = 30 * 86_400_000;
    const fired = vi.fn();
    systemClock.setTimeout(fired, delayMs);
    await vi.advanceTimersByTimeAsync(delayMs - 1);
    expect(fired).not.toHaveBeenCalled();
    await vi.advanceTimersByTimeAsync(1);
    expect(fired).toHaveBeenCalledTimes(1);

    const cleared = vi.fn();
    const handle = systemClock.setTimeout(cleared, delayMs);
    await vi.advanceTimersByTimeAsync(MAX_TIMER_DELAY_MS + 10);
    systemClock.clearTimeout(handle);
    await vi.advanceTimersByTimeAsync(delayMs);
    expect(cleared).not.toHaveBeenCalled();
  });

  it('sleep() of an over-limit delay stays pending', async () => {
    const controller = new AbortController();
    let settled = false;
    const pending = sleep(systemClock, 2 ** 40, controller.signal).then(
      () => (settled = true),
      () => undefined,
    );
    await new Promise((resolve) => globalThis.setTimeout(resolve, 30));
    expect(settled).toBe(false);
    controller.abort(new Error('stop'));
    await pending;
  });
});
