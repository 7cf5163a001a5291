/**
 * `pods/exec`: run a command in a running container through the apiserver (the same route `kubectl exec` takes), with
 * stdin streamed in under back-pressure, stdout streamed out or collected under a byte limit, a bounded stderr tail,
 * a timeout and an abort signal. One exec is one WebSocket (`v5.channel.k8s.io`, whose stdin close lets `cat > file`
 * end). client-node's `Exec` is the real transport ({@link createClientNodeExecTransport}); tests give a fake one.
 */
import { PassThrough, Writable } from 'node:stream';
import type { KubeConfig } from '@kubernetes/client-node';
import { Exec } from '@kubernetes/client-node';
import { KubeRuntimeError } from './kube-runtime-error.ts';

const POD_EXEC_ERROR_MARKER = Symbol.for('claude-k8s.kube-runtime.PodExecError');

/** Why an exec failed (its command's non-zero exit is no failure: see {@link PodExecResult.exitCode}). */
export type PodExecFailure =
  /** The apiserver refused `create` on `pods/exec` (RBAC). */
  | 'forbidden'
  /** The pod or container is not there (or not running). */
  | 'not-found'
  /** The connection could not be opened or broke before the command's status arrived. */
  | 'connection'
  /** stdout passed `maxStdoutBytes` (the command was abandoned). */
  | 'stdout-limit'
  | 'timeout'
  | 'aborted';

/** An exec failed: {@link PodExecError.failure} says how. Never carries the command's stdin or stdout. */
export class PodExecError extends KubeRuntimeError {
  readonly [POD_EXEC_ERROR_MARKER] = true;
  override name = 'PodExecError';

  /** True only for a {@link PodExecError}, even one from another installed copy of the package. */
  static override isInstance(value: unknown): value is PodExecError {
    return (
      typeof value === 'object' && value !== null && (value as Record<symbol, unknown>)[POD_EXEC_ERROR_MARKER] === true
    );
  }
  readonly failure: PodExecFailure;
  /** HTTP status of a refused upgrade (403, 404, …); 0 when none was received. */
  readonly status: number;
  constructor(failure: PodExecFailure, message: string, status = 0, options?: { cause?: unknown }) {
    super(message, options);
    this.failure = failure;
    this.status = status;
  }
}

/** The status the apiserver sends on the error channel when the command ends (a `metav1.Status`). */
export interface ExecStatus {
  status?: string;
  message?: string;
  reason?: string;
  details?: { causes?: { reason?: string; message?: string }[] };
}

/** One open exec connection, as the transport gives it. */
export interface ExecConnection {
  /** Bytes queued for sending (stdin back-pressure). */
  bufferedAmount(): number;
  /**
   * Resolves once the queue has drained (the socket's `drain`), or after a short while at most: stdin waits on it while
   * more than 4 MiB are queued. Absent: stdin polls {@link ExecConnection.bufferedAmount} every 5 ms.
   */
  drained?(): Promise<void>;
  /** Closes the connection (the command gets a hang-up). */
  close(): void;
  /** Called once when the connection closes, with its error if it failed. */
  onClose(listener: (error: Error | null) => void): void;
}

/** Opens one exec: writes stdout/stderr into the given streams, reads stdin from `stdin`, reports the status. */
export type ExecTransport = (request: {
  namespace: string;
  podName: string;
  containerName: string;
  command: string[];
  stdout: Writable;
  stderr: Writable;
  stdin: PassThrough | null;
  onStatus: (status: ExecStatus) => void;
}) => Promise<ExecConnection>;

/** Input of {@link podExec}. */
export interface PodExecInput {
  namespace: string;
  podName: string;
  containerName: string;
  /** argv; never passed through a shell by the transport. */
  command: readonly string[];
  /** Bytes for the command's stdin, sent under back-pressure, then closed; absent = no stdin. */
  stdin?: Uint8Array | AsyncIterable<Uint8Array>;
  /** Receives stdout chunks in order (awaited); without it stdout is collected into the result. */
  onStdout?: (chunk: Uint8Array) => void | Promise<void>;
  /** Most stdout bytes accepted (collected or streamed). @default 16 MiB */
  maxStdoutBytes?: number;
  /** Most stderr bytes kept (the tail). @default 64 KiB */
  maxStderrBytes?: number;
  /** Milliseconds; 0 = none. @default 0 */
  timeoutMs?: number;
  signal?: AbortSignal;
}

/** Result of a command that ran to its end. */
export interface PodExecResult {
  /** The command's exit code (0 on success). */
  exitCode: number;
  /** stdout (empty when `onStdout` was given). */
  stdout: Uint8Array;
  stdoutBytes: number;
  /** The tail of stderr (at most `maxStderrBytes`), UTF-8. */
  stderr: string;
}

/** The most bytes the transport may queue before stdin waits. */
const STDIN_HIGH_WATER = 4 * 1024 * 1024;
/**
 * stdin goes out in messages of at least this many bytes when the source has them ready (each message is one
 * WebSocket frame the apiserver and the kubelet relay one by one: 64 KiB pipe reads, or a file's 10 KiB, cost more per
 * byte than the bytes do).
 */
const STDIN_CHUNK = 256 * 1024;
/** The largest stdin message: bigger chunks are split. */
const STDIN_MAX_CHUNK = 1024 * 1024;

/** The exit code of an exec status: 0 for `Success`, the `ExitCode` cause for `NonZeroExitCode`. */
export function exitCodeOf(status: ExecStatus): number | null {
  if (status.status === 'Success') return 0;
  if (status.reason === 'NonZeroExitCode') {
    const cause = status.details?.causes?.find((entry) => entry.reason === 'ExitCode');
    const code = Number(cause?.message);
    return Number.isInteger(code) ? code : null;
  }
  return null;
}

/** The text of a connect error: an `Error`, or the `ws` library's `ErrorEvent` (`message`, `error`). */
function describeConnectError(error: unknown): string {
  if (error instanceof Error) return error.message;
  if (typeof error === 'object' && error !== null) {
    const event = error as { message?: unknown; error?: unknown };
    if (typeof event.message === 'string' && event.message !== '') return event.message;
    if (event.error instanceof Error) return event.error.message;
  }
  return String(error);
}

/** Maps a failed upgrade (client-node rejects with the ws library's `Unexpected server response: 403`) to a failure. */
function connectFailure(error: unknown, target: string): PodExecError {
  const message = describeConnectError(error);
  const status = Number(/\b([1-5]\d\d)\b/.exec(message)?.[1] ?? 0);
  if (status === 401 || status === 403)
    return new PodExecError(
      'forbidden',
      `exec in ${target}: the apiserver refused (${status}): this identity needs RBAC "create" (and "get") on "pods/exec" in the namespace`,
      status,
      { cause: error },
    );
  if (status === 404)
    return new PodExecError('not-found', `exec in ${target}: the pod is not there (404)`, status, { cause: error });
  return new PodExecError('connection', `exec in ${target}: ${message}`, status, { cause: error });
}

function* split(chunk: Uint8Array, size: number): Iterable<Uint8Array> {
  for (let offset = 0; offset < chunk.byteLength; offset += size)
    yield chunk.subarray(offset, Math.min(chunk.byteLength, offset + size));
}

const IDLE = Symbol('idle');

/**
 * The chunks of `source` joined into messages of at least `min` bytes (at most `max`), without holding any back: a
 * message goes out as soon as the source has nothing more ready (nothing by the next turn of the event loop), so a
 * slow or interactive source is not delayed.
 */
async function* coalesce(
  source: AsyncIterable<Uint8Array>,
  min: number = STDIN_CHUNK,
  max: number = STDIN_MAX_CHUNK,
): AsyncGenerator<Uint8Array> {
  const iterator = source[Symbol.asyncIterator]();
  let parts: Uint8Array[] = [];
  let size = 0;
  let pending: Promise<IteratorResult<Uint8Array>> | null = null;
  const joined = (): Uint8Array => {
    const message = parts.length === 1 ? (parts[0] as Uint8Array) : new Uint8Array(Buffer.concat(parts));
    parts = [];
    size = 0;
    return message;
  };
  let finished = false;
  try {
    for (;;) {
      const next: Promise<IteratorResult<Uint8Array>> = pending ?? iterator.next();
      pending = null;
      const result =
        size === 0
          ? await next
          : await Promise.race([next, new Promise<typeof IDLE>((resolve) => setImmediate(() => resolve(IDLE)))]);
      if (result === IDLE) {
        pending = next;
        yield joined();
        continue;
      }
      if (result.done === true) break;
      const chunk = result.value;
      if (chunk.byteLength === 0) continue;
      if (size + chunk.byteLength > max && size > 0) yield joined();
      if (chunk.byteLength >= max) {
        yield* split(chunk, max);
        continue;
      }
      parts.push(chunk);
      size += chunk.byteLength;
      if (size >= min) yield joined();
    }
    finished = true;
    if (size > 0) yield joined();
  } finally {
    // Stopped early (the exec failed): let the source clean up. Not awaited when a read is still pending on it.
    if (!finished) {
      const ended = pending === null ? iterator.return?.() : pending.then(() => iterator.return?.());
      void Promise.resolve(ended).catch(() => undefined);
    }
  }
}

function chunksOf(input: Uint8Array | AsyncIterable<Uint8Array>): Iterable<Uint8Array> | AsyncIterable<Uint8Array> {
  return input instanceof Uint8Array ? split(input, STDIN_CHUNK) : coalesce(input);
}

/**
 * Runs `command` in the container and resolves when it ended, with its exit code (a non-zero exit resolves too).
 * Rejects with a {@link PodExecError}: RBAC refusal, missing pod, broken connection, stdout over its limit, timeout,
 * abort. stdin is written in messages of 256 KiB to 1 MiB (smaller when the source has no more ready) while the connection
 * has less than 4 MiB queued (waiting for the socket's drain otherwise), then closed.
 */
export async function podExec(transport: ExecTransport, input: PodExecInput): Promise<PodExecResult> {
  const target = `${input.namespace}/${input.podName}/${input.containerName}`;
  const maxStdout = input.maxStdoutBytes ?? 16 * 1024 * 1024;
  const maxStderr = input.maxStderrBytes ?? 64 * 1024;
  if (input.signal?.aborted) throw new PodExecError('aborted', `exec in ${target}: aborted before it started`);

  const collected: Buffer[] = [];
  let stdoutBytes = 0;
  let stderrTail = Buffer.alloc(0);
  let failure: PodExecError | null = null;
  let status: ExecStatus | null = null;
  const { promise: finished, resolve: finish } = Promise.withResolvers<void>();
  let connection: ExecConnection | null = null;
  const fail = (error: PodExecError): void => {
    failure ??= error;
    connection?.close();
    finish();
  };
  // stdout is delivered in order; a slow consumer holds the transport's writes (Writable back-pressure).
  const stdout = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stdoutBytes += chunk.byteLength;
      if (stdoutBytes > maxStdout) {
        fail(new PodExecError('stdout-limit', `exec in ${target}: stdout passed its limit of ${maxStdout} bytes`));
        callback();
        return;
      }
      if (input.onStdout === undefined) {
        collected.push(chunk);
        callback();
        return;
      }
      Promise.resolve(input.onStdout(new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength))).then(
        () => callback(),
        (error: unknown) => {
          fail(new PodExecError('connection', `exec in ${target}: the stdout consumer failed`, 0, { cause: error }));
          callback();
        },
      );
    },
  });
  const stdoutDone = new Promise<void>((resolve) => stdout.on('finish', resolve).on('close', resolve));
  const stderr = new Writable({
    write(chunk: Buffer, _encoding, callback) {
      stderrTail = Buffer.concat([stderrTail, chunk]);
      if (stderrTail.byteLength > maxStderr) stderrTail = stderrTail.subarray(stderrTail.byteLength - maxStderr);
      callback();
    },
  });
  const stdin = input.stdin === undefined ? null : new PassThrough();

  const timer =
    (input.timeoutMs ?? 0) > 0
      ? setTimeout(
          () => fail(new PodExecError('timeout', `exec in ${target}: no end within ${input.timeoutMs} ms`)),
          input.timeoutMs,
        )
      : null;
  const onAbort = (): void => fail(new PodExecError('aborted', `exec in ${target}: aborted`));
  input.signal?.addEventListener('abort', onAbort, { once: true });
  try {
    try {
      connection = await transport({
        namespace: input.namespace,
        podName: input.podName,
        containerName: input.containerName,
        command: [...input.command],
        stdout,
        stderr,
        stdin,
        onStatus: (value) => {
          status = value;
        },
      });
    } catch (error) {
      throw connectFailure(error, target);
    }
    if (failure !== null) connection.close();
    connection.onClose((error) => {
      if (status === null && failure === null)
        failure = new PodExecError(
          'connection',
          `exec in ${target}: the connection closed before the command's status${error ? `: ${error.message}` : ''}`,
          0,
          error ? { cause: error } : undefined,
        );
      finish();
    });
    if (stdin !== null && input.stdin !== undefined) {
      const open = connection;
      void (async () => {
        for await (const chunk of chunksOf(input.stdin as Uint8Array | AsyncIterable<Uint8Array>)) {
          if (failure !== null || status !== null) return;
          while (open.bufferedAmount() > STDIN_HIGH_WATER && failure === null && status === null)
            await (open.drained?.() ?? new Promise((resolve) => setTimeout(resolve, 5)));
          stdin.write(chunk);
        }
        stdin.end();
      })().catch((error: unknown) =>
        fail(new PodExecError('connection', `exec in ${target}: reading stdin failed`, 0, { cause: error })),
      );
    }
    await finished;
    if (failure === null) {
      // client-node ends stdout when the status arrives; a transport that does not is ended here.
      if (!stdout.writableEnded) stdout.end();
      await stdoutDone;
    }
  } finally {
    if (timer !== null) clearTimeout(timer);
    input.signal?.removeEventListener('abort', onAbort);
  }
  const failed = failure as PodExecError | null;
  if (failed !== null) throw failed;
  const final = status as ExecStatus | null;
  const exitCode = final === null ? null : exitCodeOf(final);
  if (final === null || exitCode === null)
    throw new PodExecError(
      final?.reason === 'NotFound' ? 'not-found' : 'connection',
      `exec in ${target}: ${final?.message ?? 'no exit status'}`,
    );
  return {
    exitCode,
    stdout: input.onStdout === undefined ? new Uint8Array(Buffer.concat(collected)) : new Uint8Array(0),
    stdoutBytes,
    stderr: stderrTail.toString('utf8'),
  };
}

/** What the transport uses of the `ws` WebSocket client-node returns. */
interface ExecSocket {
  bufferedAmount: number;
  readyState: number;
  close(): void;
  on(event: 'error', listener: (error: Error) => void): unknown;
  on(event: 'close', listener: () => void): unknown;
  /** `ws`' underlying TLS/TCP socket (not part of its typed API; absent in other WebSocket implementations). */
  _socket?: { once(event: 'drain', listener: () => void): unknown; off(event: 'drain', listener: () => void): unknown };
}

/** The longest stdin waits for a `drain` before it looks at the queue again. */
const DRAIN_WAIT_MS = 50;

/** Resolves on the socket's next `drain`, or after {@link DRAIN_WAIT_MS}. */
function drainOf(socket: ExecSocket): Promise<void> {
  return new Promise((resolve) => {
    const raw = socket._socket;
    const done = (): void => {
      clearTimeout(timer);
      raw?.off('drain', done);
      resolve();
    };
    const timer = setTimeout(done, DRAIN_WAIT_MS);
    raw?.once('drain', done);
  });
}

/** `WebSocket.CLOSED`. */
const SOCKET_CLOSED = 3;

/** The real transport: client-node's `Exec` (WebSocket to the apiserver's `pods/exec`). */
export function createClientNodeExecTransport(kubeConfig: KubeConfig): ExecTransport {
  const exec = new Exec(kubeConfig);
  return async (request) => {
    const socket = (await exec.exec(
      request.namespace,
      request.podName,
      request.containerName,
      request.command,
      request.stdout,
      request.stderr,
      request.stdin,
      false,
      request.onStatus,
    )) as unknown as ExecSocket;
    return {
      bufferedAmount: () => socket.bufferedAmount,
      drained: () => drainOf(socket),
      close: () => socket.close(),
      onClose: (listener) => {
        let error: Error | null = null;
        socket.on('error', (value: Error) => {
          error = value;
        });
        if (socket.readyState === SOCKET_CLOSED) listener(null);
        else socket.on('close', () => listener(error));
      },
    };
  };
}
