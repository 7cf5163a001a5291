import { describe, expect, it } from 'vitest';
import { waitFor } from './wait-for.ts';

describe('waitFor', () => {
  it('resolves with the first value that is neither undefined nor false', async () => {
    const answers = [undefined, false, 0, 1];
    let calls = 0;
    const value = await waitFor('a number', 5_000, () => answers[calls++], { intervalMs: 1 });
    expect(value).toBe(0);
    expect(calls).toBe(3);
  });

  it('rejects naming what it waited for once the time is up', async () => {
    await expect(waitFor('the moon', 20, () => Promise.resolve(undefined), { intervalMs: 5 })).rejects.toThrow(
      'timed out after 20 ms waiting for the moon',
    );
  });

  it('rejects at once when the probe throws', async () => {
    let calls = 0;
    const probe = (): boolean => {
      calls += 1;
      throw new Error('probe broke');
    };
    await expect(waitFor('anything', 5_000, probe)).rejects.toThrow('probe broke');
    expect(calls).toBe(1);
  });
});
