import { describe, expect, it } from 'vitest';
import { createManualClock } from './manual-clock.ts';

describe('createManualClock', () => {
  it('runs due timers only on advance, earliest first, and never a cleared one', () => {
    const clock = createManualClock(1_000);
    const fired: string[] = [];
    clock.setTimeout(() => fired.push('late'), 300);
    const cleared = clock.setTimeout(() => fired.push('cleared'), 50);
    clock.setTimeout(() => fired.push('early'), 100);
    clock.clearTimeout(cleared);
    expect(clock.now()).toBe(1_000);
    clock.advance(99);
    expect(fired).toEqual([]);
    clock.advance(201);
    expect(fired).toEqual(['early', 'late']);
    expect(clock.now()).toBe(1_300);
  });

  it('skips a due timer that an earlier callback of the same advance cleared', () => {
    const clock = createManualClock(0);
    const fired: string[] = [];
    let second: unknown = null;
    clock.setTimeout(() => {
      fired.push('first');
      clock.clearTimeout(second);
    }, 10);
    second = clock.setTimeout(() => fired.push('second'), 20);
    clock.advance(20);
    expect(fired).toEqual(['first']);
  });
});
