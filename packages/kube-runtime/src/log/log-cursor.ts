/**
 * The resume cursor of a log follow: what has been delivered, expressed in terms the `pods/log` API can replay.
 *
 * The apiserver truncates `sinceTime` to whole seconds and the kubelet keeps every line whose timestamp is not
 * before it (verified on v1.35: `sinceTime=…:48.9Z` returns the lines of second :48). So the cursor picks a whole
 * second `sinceTime` itself (then the server's precision cannot matter) and counts the complete lines it delivered
 * whose timestamp falls in or after that second. A replay from `sinceTime` is the file's lines with timestamp ≥
 * `sinceTime` in file order, and the delivered ones are a prefix of it; skipping that many lines (then the bytes of
 * a line cut midway) resumes exactly after the last delivered byte, however many lines share one timestamp.
 */
import { secondOf } from './timestamped-line-parser.ts';

/**
 * A JSON-serialisable resume point. Persist it after the output it describes has been stored; a follow started with
 * it delivers exactly the output after that point.
 */
export interface LogCheckpoint {
  version: 1;
  /** Whole-second RFC3339 time sent as `sinceTime` on resume; `null` = from the first byte. */
  sinceTime: string | null;
  /** Complete lines delivered whose timestamp is at or after `sinceTime` (the replay prefix to skip). */
  linesSince: number;
  /** Bytes of the next line after those already delivered (the line was cut midway); 0 at a line boundary. */
  partialBytes: number;
  /** Timestamp (RFC3339Nano, UTC) of the last line of which any byte was delivered; `null` before the first. */
  lastTimestamp: string | null;
  /** Total bytes delivered (informative). */
  deliveredBytes: number;
  /** Total complete lines delivered (informative). */
  deliveredLines: number;
  /**
   * Latest timestamp of any line delivered (timestamps need not rise in file order: stdout and stderr are stamped by
   * two readers, the node's clock may step back). Absent in checkpoints of older versions: `lastTimestamp` then.
   */
  maxTimestamp?: string | null;
  /**
   * `linesSince` by the whole second of the lines (every key ≥ `sinceTime`): what the window keeps when it moves on.
   * Absent in checkpoints of older versions (their lines all had the second `sinceTime`).
   */
  linesBySecond?: Record<string, number>;
}

/**
 * How far behind the latest timestamp delivered the window starts (seconds): a line stamped up to this much earlier
 * than one before it in the file (stderr read later than stdout, the clock stepping back) is still in the replay.
 */
const WINDOW_MARGIN_SECONDS = 30;

/** The whole second `WINDOW_MARGIN_SECONDS` before a normalized timestamp. */
function windowStartOf(timestamp: string): string {
  const ms = Date.parse(timestamp.slice(0, 19) + 'Z') - WINDOW_MARGIN_SECONDS * 1000;
  return `${new Date(ms).toISOString().slice(0, 19)}Z`;
}

/** The checkpoint of a follow that has delivered nothing. */
export const initialLogCheckpoint: LogCheckpoint = Object.freeze({
  version: 1,
  sinceTime: null,
  linesSince: 0,
  partialBytes: 0,
  lastTimestamp: null,
  deliveredBytes: 0,
  deliveredLines: 0,
});

/** Validates a persisted checkpoint (`unknown` in, result out). */
export function decodeLogCheckpoint(
  raw: unknown,
): { success: true; value: LogCheckpoint } | { success: false; issues: string[] } {
  const issues: string[] = [];
  if (typeof raw !== 'object' || raw === null) return { success: false, issues: ['checkpoint: expected an object'] };
  const value = raw as Record<string, unknown>;
  if (value['version'] !== 1) issues.push('version: expected 1');
  const since = value['sinceTime'];
  if (since !== null && (typeof since !== 'string' || !/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(since)))
    issues.push('sinceTime: expected null or a whole-second RFC3339 UTC time');
  const last = value['lastTimestamp'];
  if (last !== null && typeof last !== 'string') issues.push('lastTimestamp: expected null or a string');
  for (const key of ['linesSince', 'partialBytes', 'deliveredBytes', 'deliveredLines'] as const) {
    const number = value[key];
    if (typeof number !== 'number' || !Number.isSafeInteger(number) || number < 0)
      issues.push(`${key}: expected a non-negative integer`);
  }
  const bySecond = value['linesBySecond'];
  if (
    bySecond !== undefined &&
    (typeof bySecond !== 'object' ||
      bySecond === null ||
      Object.values(bySecond).some((count) => typeof count !== 'number' || !Number.isSafeInteger(count) || count < 0))
  )
    issues.push('linesBySecond: expected an object of non-negative integers');
  if (issues.length > 0) return { success: false, issues };
  return { success: true, value: value as unknown as LogCheckpoint };
}

/** Mutable cursor state; one per follow. */
export interface LogCursor {
  /** The checkpoint as of now. */
  snapshot(): LogCheckpoint;
  readonly sinceTime: string | null;
  readonly linesSince: number;
  readonly partialBytes: number;
  readonly lastTimestamp: string | null;
  /** Latest timestamp delivered (see {@link LogCheckpoint.maxTimestamp}). */
  readonly maxTimestamp: string | null;
  /**
   * The line being delivered is older than the window (stamped more than the margin before a line delivered earlier):
   * a replay will not contain it, so its rest cannot be resumed after a cut.
   */
  readonly currentOutsideWindow: boolean;
  /** A line starts being delivered (its first byte, or its first byte after a resumed prefix). */
  startLine(timestamp: string): void;
  /** `count` bytes of the current line were delivered (negative: held back again, not delivered after all). */
  addBytes(count: number): void;
  /** The current line's newline was delivered. */
  endLine(): void;
  /**
   * The server no longer has the lines the window counts (a rotation gap): forget them, and any cut line, so the
   * next line delivered starts a new window.
   */
  restartWindow(): void;
  /** The rest of the cut line cannot be read again (it is outside the window): count it as ended here. */
  abandonPartialLine(): void;
}

export function createLogCursor(from: LogCheckpoint): LogCursor {
  let sinceTime = from.sinceTime;
  /** Complete lines delivered per second (seconds ≥ sinceTime only). */
  const perSecond = new Map<string, number>();
  if (from.linesBySecond !== undefined)
    for (const [second, count] of Object.entries(from.linesBySecond)) perSecond.set(second, count);
  else if (sinceTime !== null && from.linesSince > 0) perSecond.set(sinceTime, from.linesSince);
  let linesSince = from.linesSince;
  let partialBytes = from.partialBytes;
  let lastTimestamp = from.lastTimestamp;
  let deliveredBytes = from.deliveredBytes;
  let deliveredLines = from.deliveredLines;
  let current: string | null = from.partialBytes > 0 ? from.lastTimestamp : null;
  let maxTimestamp = from.maxTimestamp ?? from.lastTimestamp;

  return {
    get sinceTime() {
      return sinceTime;
    },
    get linesSince() {
      return linesSince;
    },
    get partialBytes() {
      return partialBytes;
    },
    get lastTimestamp() {
      return lastTimestamp;
    },
    get maxTimestamp() {
      return maxTimestamp;
    },
    get currentOutsideWindow() {
      return current !== null && sinceTime !== null && secondOf(current) < sinceTime;
    },
    snapshot: () => ({
      version: 1,
      sinceTime,
      linesSince,
      partialBytes,
      lastTimestamp,
      deliveredBytes,
      deliveredLines,
      maxTimestamp,
      linesBySecond: Object.fromEntries(perSecond),
    }),
    startLine(timestamp) {
      current = timestamp;
      lastTimestamp = timestamp;
      if (maxTimestamp === null || timestamp > maxTimestamp) maxTimestamp = timestamp;
      const second = windowStartOf(timestamp);
      if (sinceTime === null || second > sinceTime) {
        // Move the window forward, keeping a margin: only lines from that second on will be replayed from now on.
        sinceTime = second;
        linesSince = 0;
        for (const [key, count] of perSecond) {
          if (key < second) perSecond.delete(key);
          else linesSince += count;
        }
      }
    },
    addBytes(count) {
      partialBytes += count;
      deliveredBytes += count;
    },
    endLine() {
      const second = current === null ? null : secondOf(current);
      if (second !== null && sinceTime !== null && second >= sinceTime) {
        perSecond.set(second, (perSecond.get(second) ?? 0) + 1);
        linesSince += 1;
      }
      partialBytes = 0;
      deliveredLines += 1;
      current = null;
    },
    restartWindow() {
      perSecond.clear();
      sinceTime = null;
      linesSince = 0;
      partialBytes = 0;
      current = null;
    },
    abandonPartialLine() {
      partialBytes = 0;
      deliveredLines += 1;
      current = null;
    },
  };
}
