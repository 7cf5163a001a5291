/** Options of {@link waitFor}. */
export interface WaitForOptions {
  /** Pause between two probes. Milliseconds. @default 250 */
  intervalMs?: number;
}

/**
 * Probes until `probe` returns a value other than `undefined` or `false`, and resolves with it. Rejects with
 * `timed out after <timeoutMs> ms waiting for <what>` once `timeoutMs` (milliseconds, wall clock) have passed
 * without one; a probe that throws rejects at once.
 */
export async function waitFor<T>(
  what: string,
  timeoutMs: number,
  probe: () => T | undefined | false | Promise<T | undefined | false>,
  options: WaitForOptions = {},
): Promise<T> {
  const intervalMs = options.intervalMs ?? 250;
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
