/**
 * Exactly-once log follow of one container through the apiserver's `pods/log`: reconnects with backoff and resumes
 * after the last delivered byte (see `log/log-cursor.ts` for why the resume is exact), strips the timestamps it asked
 * for, never splits a multibyte character, drains to the true end once the container has terminated, and reports a
 * rotation gap instead of hiding it.
 */
import { type Clock, sleep, systemClock } from './clock.ts';
import { KubeApiError, KubeRuntimeError, OutputDeliveryError } from './kube-runtime-error.ts';
import { createLogCursor, initialLogCheckpoint, type LogCheckpoint } from './log/log-cursor.ts';
import type { PodLogRequest, PodLogSource } from './log/pod-log-source.ts';
import { createTimestampedLineParser, secondOf, TimestampFormatError } from './log/timestamped-line-parser.ts';
import { completeUtf8Length } from './log/utf8-boundary.ts';

/** Something the follow noticed that the caller may want to log or show; never the output itself. */
export type LogFollowEvent =
  | {
      type: 'reconnect';
      /** Consecutive attempts without progress, from 1. */
      attempt: number;
      /** Milliseconds waited before this attempt. */
      delayMs: number;
      /** `error`: the request failed or was cut; `ended`: the server closed a follow while the container ran. */
      reason: 'error' | 'ended';
      message: string;
    }
  | {
      /** The container has terminated; a non-follow read completes the output from the checkpoint. */
      type: 'final-read';
      checkpoint: LogCheckpoint;
    }
  | {
      /**
       * Output was lost: the kubelet no longer serves the lines after `afterCheckpoint` (its log file was rotated
       * away while we were disconnected). Everything the container wrote after `lastTimestampBefore` and before
       * `firstTimestampAfter` that was not delivered is gone. The API gives no byte count of rotated files, so
       * `knownLostBytes` is the part known for sure: the rest of a line that was cut midway, else 0 (a gap can
       * also hold zero lines when the rotation fell exactly on the checkpoint; the API cannot tell).
       */
      type: 'gap';
      afterCheckpoint: LogCheckpoint;
      lastTimestampBefore: string | null;
      firstTimestampAfter: string;
      /**
       * The last delivered line was cut midway and its rest is lost; the follow then delivers one `\n` the container
       * did not write, so that the next line is not glued to the truncated one.
       */
      partialLineLost: boolean;
      knownLostBytes: number;
    };

/** Tries of one `onOutput` call before the follow fails with {@link OutputDeliveryError}, and the first pause. */
const DELIVERY_ATTEMPTS = 4;
const DELIVERY_BACKOFF_MS = 100;

/** How the follow ended. `outcome` is what `readOutcome` returned once the container had terminated. */
export interface LogFollowResult<Outcome> {
  outcome: Outcome;
  /** Checkpoint after the last byte (persist it to make a later reattach a no-op). */
  checkpoint: LogCheckpoint;
  /** Requests made (1 when nothing was cut). */
  requests: number;
  gaps: number;
  /**
   * False when the pod was deleted before its output could be read to the end: the follow was cut (or had not
   * ended cleanly) when the pod disappeared, so output after `checkpoint` may be missing. True otherwise.
   */
  complete: boolean;
}

/** Options of {@link followPodLog}. */
export interface FollowPodLogOptions<Outcome> {
  /** Opens the `pods/log` response; {@link createPodLogSource} in production, a fake in tests. */
  source: PodLogSource;
  namespace: string;
  pod: string;
  /** Container name; required when the pod has several. */
  container?: string;
  /**
   * Receives the output in order, each byte exactly once, as UTF-8 text (never a split character; not
   * line-aligned). Awaited: the follow reads no further until it resolves (backpressure). `checkpoint` describes the
   * position after `text`.
   */
  onOutput: (text: string, checkpoint: LogCheckpoint) => void | Promise<void>;
  /** Reconnects, the final read and gaps. */
  onEvent?: (event: LogFollowEvent) => void;
  /**
   * Whether the container has terminated: the run's outcome, or `undefined` while it runs. Called when a follow
   * request ends cleanly (the kubelet ends a follow when the container stops, but also when it or the apiserver
   * restarts). Once it returns a value, a final non-follow read drains the rest and the follow resolves with it:
   * the caller learns the end of the output, then the outcome. A rejection counts as a failed attempt (retried).
   */
  readOutcome: () => Promise<Outcome | undefined>;
  /** Resume after this checkpoint (from a previous process). @default from the first byte */
  checkpoint?: LogCheckpoint;
  clock?: Clock;
  /** First reconnect delay, milliseconds; doubles per attempt without progress. @default 250 */
  initialBackoffMs?: number;
  /** Longest reconnect delay, milliseconds. @default 5000 */
  maxBackoffMs?: number;
  /** Give up after this long without receiving a byte, milliseconds. @default 600000 (10 minutes) */
  giveUpAfterMs?: number;
  signal?: AbortSignal;
}

/**
 * Follows a container's output from `checkpoint` (or its first byte) to its last, then resolves with the run's
 * outcome. Rejects only when aborted, on 401/403, after `giveUpAfterMs` without progress, or with
 * {@link OutputDeliveryError} when `onOutput` rejects the same output on every try.
 */
export async function followPodLog<Outcome>(options: FollowPodLogOptions<Outcome>): Promise<LogFollowResult<Outcome>> {
  const clock = options.clock ?? systemClock;
  const initialBackoffMs = options.initialBackoffMs ?? 250;
  const maxBackoffMs = options.maxBackoffMs ?? 5000;
  const giveUpAfterMs = options.giveUpAfterMs ?? 600_000;
  const cursor = createLogCursor(options.checkpoint ?? initialLogCheckpoint);
  const decoder = new TextDecoder();
  let requests = 0;
  let gaps = 0;
  let attempt = 0;
  let lastProgressAt = clock.now();
  let finalRead: { outcome: Outcome } | null = null;
  /** The last request ended cleanly (the server ended the response; after a terminated container: the end). */
  let lastEndedCleanly = false;
  /** Bytes of an incomplete UTF-8 character at the very end of the output (only after the final read). */
  let trailing: Uint8Array = new Uint8Array(0);

  /**
   * Hands `text` to `onOutput`, retrying the very same text and checkpoint (100, 200, 400 ms apart) when it rejects:
   * a rejected chunk is never skipped. After the last try the follow fails with {@link OutputDeliveryError}.
   */
  async function deliver(text: string, checkpoint: LogCheckpoint): Promise<void> {
    for (let attempt = 1; ; attempt += 1) {
      try {
        await options.onOutput(text, checkpoint);
        return;
      } catch (error) {
        if (attempt >= DELIVERY_ATTEMPTS)
          throw new OutputDeliveryError(
            `follow log ${options.namespace}/${options.pod}`,
            attempt,
            new TextEncoder().encode(text).length,
            error,
          );
        await sleep(clock, DELIVERY_BACKOFF_MS * 2 ** (attempt - 1), options.signal);
      }
    }
  }

  /** Reads one response to its end; returns whether it ended cleanly. Throws when cut. */
  async function consume(body: AsyncIterable<Uint8Array>): Promise<void> {
    const parser = createTimestampedLineParser();
    const skipLines = cursor.linesSince;
    const skipBytes = cursor.partialBytes;
    const expected = skipLines + (skipBytes > 0 ? 1 : 0);
    const since = cursor.sinceTime;
    let index = 0; // lines of the replay seen (timestamp ≥ since)
    let mode: 'skip-line' | 'skip-bytes' | 'deliver' | 'drop-line' = 'deliver';
    let bytesToSkip = 0;
    let carry: Uint8Array = new Uint8Array(0);
    for await (const chunk of body) {
      // The delivered bytes of this chunk (timestamps and skipped lines removed), decoded once.
      const out = new Uint8Array(carry.length + chunk.length + 1);
      out.set(carry, 0);
      cursor.addBytes(carry.length); // held back at the end of the previous chunk, delivered now
      let length = carry.length;
      let lineOpen = carry.length > 0;
      for (const piece of parser.push(chunk)) {
        if (piece.kind === 'line-start') {
          const timestamp = piece.timestamp;
          if (timestamp === null) {
            // The tail of a line that began before `since` and ended after it: the window only moves at the start
            // of a line, after every earlier line was delivered whole, so this tail was delivered already.
            if (since === null) throw new TimestampFormatError('log response starts without a timestamp');
            mode = 'drop-line';
            continue;
          }
          if (since !== null && secondOf(timestamp) < since) {
            mode = 'drop-line'; // a server that ignored sinceTime: older than the window, so delivered already
            continue;
          }
          index += 1;
          if (index === 1 && expected > 0 && cursor.maxTimestamp !== null && timestamp > cursor.maxTimestamp) {
            // The replay should start with lines we delivered; it starts later: the kubelet lost them (rotation).
            gaps += 1;
            const partialLost = cursor.partialBytes > 0;
            options.onEvent?.({
              type: 'gap',
              afterCheckpoint: cursor.snapshot(),
              lastTimestampBefore: cursor.lastTimestamp,
              firstTimestampAfter: timestamp,
              partialLineLost: partialLost,
              knownLostBytes: 0,
            });
            // A line cut midway whose rest is gone is ended here, so that the next line is not glued to it.
            if (partialLost) out[length++] = 0x0a;
            cursor.restartWindow();
            index = expected + 1;
          }
          if (index <= skipLines) mode = 'skip-line';
          else if (index === skipLines + 1 && skipBytes > 0) {
            mode = 'skip-bytes';
            bytesToSkip = skipBytes;
          } else {
            mode = 'deliver';
            cursor.startLine(timestamp);
          }
          continue;
        }
        let bytes = piece.bytes;
        if (mode === 'skip-line' || mode === 'drop-line') continue;
        if (mode === 'skip-bytes') {
          const take = Math.min(bytesToSkip, bytes.length);
          bytes = bytes.subarray(take);
          bytesToSkip -= take;
          if (bytesToSkip === 0) mode = 'deliver';
          else continue;
        }
        out.set(bytes, length);
        length += bytes.length;
        cursor.addBytes(bytes.length);
        lineOpen = !piece.endsLine;
        if (piece.endsLine) cursor.endLine();
      }
      // Hold back an incomplete character at the end (only possible inside an open line); a cut re-reads it.
      const complete = lineOpen ? completeUtf8Length(out.subarray(0, length)) : length;
      carry = out.slice(complete, length);
      cursor.addBytes(-carry.length);
      if (complete > 0) {
        lastProgressAt = clock.now();
        attempt = 0;
        await deliver(decoder.decode(out.subarray(0, complete)), cursor.snapshot());
      } else if (chunk.length > 0) {
        lastProgressAt = clock.now();
      }
    }
    trailing = carry;
  }

  for (;;) {
    options.signal?.throwIfAborted();
    const request: PodLogRequest = {
      namespace: options.namespace,
      pod: options.pod,
      follow: finalRead === null,
      ...(options.container === undefined ? {} : { container: options.container }),
      ...(cursor.sinceTime === null ? {} : { sinceTime: cursor.sinceTime }),
    };
    let failure: unknown = null;
    if (cursor.partialBytes > 0 && cursor.currentOutsideWindow) {
      // A line cut midway that is stamped more than the window's margin before an earlier line (a large clock step
      // back): the replay cannot contain it, so its rest is lost. Say so, and end it here.
      gaps += 1;
      options.onEvent?.({
        type: 'gap',
        afterCheckpoint: cursor.snapshot(),
        lastTimestampBefore: cursor.lastTimestamp,
        firstTimestampAfter: cursor.lastTimestamp ?? '',
        partialLineLost: true,
        knownLostBytes: 0,
      });
      cursor.abandonPartialLine();
      await deliver('\n', cursor.snapshot());
    }
    try {
      requests += 1;
      await consume(await options.source.open(request, options.signal));
    } catch (error) {
      if (options.signal?.aborted === true) throw options.signal.reason;
      if (KubeApiError.isInstance(error) && error.status >= 401 && error.status <= 403) throw error;
      if (OutputDeliveryError.isInstance(error)) throw error;
      failure = error;
    }
    const finish = async (outcome: Outcome, complete: boolean): Promise<LogFollowResult<Outcome>> => {
      if (trailing.length > 0) {
        // The container's last bytes are an incomplete character: deliver them (as U+FFFD), once.
        const text = decoder.decode(trailing);
        cursor.addBytes(trailing.length);
        trailing = new Uint8Array(0);
        await deliver(text, cursor.snapshot());
      }
      return { outcome, checkpoint: cursor.snapshot(), requests, gaps, complete };
    };
    if (KubeApiError.isInstance(failure) && failure.status === 404) {
      // The pod is gone (a cancel deletes it with the Job). Once the container has ended, nothing more can ever be
      // read: stop here. After a cleanly ended request everything was read; after a cut, the rest may be lost.
      const outcome = finalRead?.outcome ?? (await options.readOutcome().catch(() => undefined));
      if (outcome !== undefined) return finish(outcome, lastEndedCleanly);
    }
    lastEndedCleanly = failure === null;
    if (failure === null) {
      if (finalRead !== null) return finish(finalRead.outcome, true);
      try {
        const outcome = await options.readOutcome();
        if (outcome !== undefined) {
          finalRead = { outcome };
          options.onEvent?.({ type: 'final-read', checkpoint: cursor.snapshot() });
          continue;
        }
      } catch (error) {
        failure = error; // e.g. the apiserver is restarting: ask again after the backoff
      }
    }
    if (clock.now() - lastProgressAt > giveUpAfterMs) {
      throw new KubeRuntimeError(
        `follow log ${options.namespace}/${options.pod}: no output for ${Math.round(giveUpAfterMs / 1000)} s of retries: ${describe(failure)}`,
        { cause: failure },
      );
    }
    attempt += 1;
    const delayMs = Math.min(maxBackoffMs, initialBackoffMs * 2 ** (attempt - 1));
    options.onEvent?.({
      type: 'reconnect',
      attempt,
      delayMs,
      reason: failure === null ? 'ended' : 'error',
      message: failure === null ? 'follow ended while the container runs' : describe(failure),
    });
    await sleep(clock, delayMs, options.signal);
  }
}

function describe(error: unknown): string {
  if (error === null) return 'ended';
  return error instanceof Error ? error.message : JSON.stringify(error);
}
