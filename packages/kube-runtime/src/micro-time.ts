/** Kubernetes `MicroTime` (Lease times): RFC 3339 with exactly six fractional digits; the apiserver rejects fewer. */
export function microTime(epochMs: number): string {
  return new Date(epochMs).toISOString().replace(/\.(\d{3})Z$/, '.$1000Z');
}

/** Milliseconds since the epoch of a Kubernetes time as client-node returns it (a `Date`) or as JSON has it (a string); 0 when absent. */
export function timeOf(value: Date | string | undefined | null): number {
  if (value === undefined || value === null) return 0;
  const ms = value instanceof Date ? value.getTime() : Date.parse(value);
  return Number.isFinite(ms) ? ms : 0;
}
