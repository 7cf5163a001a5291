import type { PassThrough, Writable } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { exitCodeOf, podExec, PodExecError, type ExecStatus, type ExecTransport } from './pod-exec.ts';

/** A scripted transport: `script` plays the container's side with the streams the exec handed over. */
function fakeTransport(
  script: (io: {
    stdout: Writable;
    stderr: Writable;
    stdin: PassThrough | null;
    status: (value: ExecStatus) => void;
    close: (error?: Error) => void;
    command: string[];
  }) => void | Promise<void>,
  options: { buffered?: () => number; drained?: () => Promise<void> } = {},
): ExecTransport & { closedByClient: () => boolean } {
  let closedByClient = false;
  const transport = (request: Parameters<ExecTransport>[0]) => {
    let listener: ((error: Error | null) => void) | null = null;
    let closed: Error | null | undefined;
    const close = (error?: Error): void => {
      if (closed !== undefined) return;
      closed = error ?? null;
      listener?.(closed);
    };
    queueMicrotask(() => {
      void script({
        stdout: request.stdout,
        stderr: request.stderr,
        stdin: request.stdin,
        status: request.onStatus,
        close,
        command: request.command,
      });
    });
    return Promise.resolve({
      bufferedAmount: options.buffered ?? (() => 0),
      ...(options.drained ? { drained: options.drained } : {}),
      close: () => {
        closedByClient = true;
        close();
      },
      onClose: (value: (error: Error | null) => void) => {
        listener = value;
        if (closed !== undefined) value(closed);
      },
    });
  };
  return Object.assign(transport, { closedByClient: () => closedByClient });
}

const base = { namespace: 'ns', podName: 'pod', containerName: 'claude' };

function collect(stream: PassThrough): Promise<Buffer> {
  return new Promise((resolve) => {
    const chunks: Buffer[] = [];
    stream.on('data', (chunk: Buffer) => chunks.push(chunk));
    stream.on('end', () => resolve(Buffer.concat(chunks)));
  });
}

describe('podExec', () => {
  it('streams stdin in, collects stdout, keeps the stderr tail and resolves with the exit code', async () => {
    const input = new Uint8Array(1024 * 1024).map((_, index) => index % 251);
    let received = Buffer.alloc(0);
    const transport = fakeTransport(async ({ stdin, stdout, stderr, status, close, command }) => {
      expect(command).toEqual(['sh', '-c', 'cat']);
      received = Buffer.from(await collect(stdin as PassThrough));
      stdout.write(received.subarray(0, 10));
      stderr.write('x'.repeat(100) + 'END');
      stdout.end();
      status({
        status: 'Failure',
        reason: 'NonZeroExitCode',
        details: { causes: [{ reason: 'ExitCode', message: '3' }] },
      });
      close();
    });
    const result = await podExec(transport, { ...base, command: ['sh', '-c', 'cat'], stdin: input, maxStderrBytes: 8 });
    expect(received.equals(Buffer.from(input))).toBe(true);
    expect(result.exitCode).toBe(3);
    expect(Buffer.from(result.stdout).equals(Buffer.from(input.subarray(0, 10)))).toBe(true);
    expect(result.stderr).toBe('xxxxxEND');
  });

  it('delivers stdout to onStdout in order and returns no collected bytes', async () => {
    const seen: string[] = [];
    const transport = fakeTransport(({ stdout, status, close }) => {
      stdout.write('a');
      stdout.write('b');
      stdout.end();
      status({ status: 'Success' });
      close();
    });
    const result = await podExec(transport, {
      ...base,
      command: ['true'],
      onStdout: async (chunk) => {
        await new Promise((resolve) => setTimeout(resolve, 5));
        seen.push(Buffer.from(chunk).toString());
      },
    });
    expect(seen).toEqual(['a', 'b']);
    expect(result).toMatchObject({ exitCode: 0, stdoutBytes: 2, stdout: new Uint8Array(0) });
  });

  it('abandons the command when stdout passes its limit', async () => {
    const transport = fakeTransport(({ stdout }) => {
      stdout.write(Buffer.alloc(600));
      stdout.write(Buffer.alloc(600));
    });
    const error = await podExec(transport, { ...base, command: ['cat', 'big'], maxStdoutBytes: 1000 }).catch(
      (value: unknown) => value,
    );
    expect(PodExecError.isInstance(error) && error.failure).toBe('stdout-limit');
    expect(transport.closedByClient()).toBe(true);
  });

  it('names the missing RBAC when the apiserver refuses the upgrade', async () => {
    const transport: ExecTransport = () => Promise.reject(new Error('Unexpected server response: 403'));
    const error = await podExec(transport, { ...base, command: ['true'] }).catch((value: unknown) => value);
    expect(PodExecError.isInstance(error)).toBe(true);
    expect(error).toMatchObject({ failure: 'forbidden', status: 403 });
    expect(String((error as Error).message)).toContain('"create" (and "get") on "pods/exec"');
  });

  it("reads the status of the ws library's ErrorEvent (not an Error)", async () => {
    const event = { type: 'error', message: 'Unexpected server response: 403', error: new Error('x') };
    const error = await podExec(() => Promise.reject(event as unknown as Error), { ...base, command: ['true'] }).catch(
      (value: unknown) => value,
    );
    expect(error).toMatchObject({ failure: 'forbidden', status: 403 });
  });

  it('tells a missing pod and a connection that closed before the status', async () => {
    const missing = await podExec(() => Promise.reject(new Error('Unexpected server response: 404')), {
      ...base,
      command: ['true'],
    }).catch((value: unknown) => value);
    expect(missing).toMatchObject({ failure: 'not-found' });
    const broken = await podExec(
      fakeTransport(({ close }) => close(new Error('socket hang up'))),
      { ...base, command: ['true'] },
    ).catch((value: unknown) => value);
    expect(broken).toMatchObject({ failure: 'connection' });
    expect((broken as Error).message).toContain('socket hang up');
  });

  it('times out and aborts, closing the connection', async () => {
    const hung = fakeTransport(() => undefined);
    await expect(podExec(hung, { ...base, command: ['sleep', '9'], timeoutMs: 20 })).rejects.toMatchObject({
      failure: 'timeout',
    });
    expect(hung.closedByClient()).toBe(true);
    const controller = new AbortController();
    const pending = podExec(
      fakeTransport(() => undefined),
      { ...base, command: ['sleep', '9'], signal: controller.signal },
    );
    controller.abort();
    await expect(pending).rejects.toMatchObject({ failure: 'aborted' });
  });

  it('holds stdin while the connection has more than 4 MiB queued', async () => {
    let queued = 8 * 1024 * 1024;
    let writtenWhileFull = 0;
    const transport = fakeTransport(
      async ({ stdin, status, close }) => {
        const stream = stdin as PassThrough;
        stream.on('data', (chunk: Buffer) => {
          if (queued > 4 * 1024 * 1024) writtenWhileFull += chunk.byteLength;
        });
        setTimeout(() => {
          queued = 0;
        }, 30);
        await collect(stream);
        status({ status: 'Success' });
        close();
      },
      { buffered: () => queued },
    );
    await podExec(transport, { ...base, command: ['cat'], stdin: new Uint8Array(1024) });
    expect(writtenWhileFull).toBe(0);
  });

  it('waits for the connection to drain (not a timer) while more than 4 MiB are queued', async () => {
    let queued = 8 * 1024 * 1024;
    let drains = 0;
    let writtenWhileFull = 0;
    const transport = fakeTransport(
      async ({ stdin, status, close }) => {
        const stream = stdin as PassThrough;
        stream.on('data', (chunk: Buffer) => {
          if (queued > 4 * 1024 * 1024) writtenWhileFull += chunk.byteLength;
        });
        await collect(stream);
        status({ status: 'Success' });
        close();
      },
      {
        buffered: () => queued,
        drained: async () => {
          drains += 1;
          await new Promise((resolve) => setImmediate(resolve));
          queued -= 3 * 1024 * 1024; // two drains bring it under 4 MiB
        },
      },
    );
    await podExec(transport, { ...base, command: ['cat'], stdin: new Uint8Array(1024) });
    expect({ drains, writtenWhileFull }).toEqual({ drains: 2, writtenWhileFull: 0 });
  });

  /** The chunks as a source that has each one ready at once. */
  function readyChunks(chunks: Uint8Array[]): AsyncIterable<Uint8Array> {
    return {
      [Symbol.asyncIterator]: () => {
        let index = 0;
        return {
          next: () =>
            Promise.resolve(
              index < chunks.length
                ? { done: false as const, value: chunks[index++] as Uint8Array }
                : { done: true as const, value: undefined },
            ),
        };
      },
    };
  }

  /** Runs `cat` with `stdin`; resolves the chunks the transport received, in order. */
  async function received(stdin: AsyncIterable<Uint8Array>, onChunk?: (chunk: Buffer) => void): Promise<Buffer[]> {
    const chunks: Buffer[] = [];
    const transport = fakeTransport(async ({ stdin: stream, status, close }) => {
      (stream as PassThrough).on('data', (chunk: Buffer) => {
        chunks.push(chunk);
        onChunk?.(chunk);
      });
      await collect(stream as PassThrough);
      status({ status: 'Success' });
      close();
    });
    await podExec(transport, { ...base, command: ['cat'], stdin });
    return chunks;
  }

  it('joins small stdin chunks that are ready into messages of 256 KiB to 1 MiB, bytes unchanged', async () => {
    const pieces = Array.from({ length: 300 }, (_, index) => new Uint8Array(10 * 1024).fill(index % 256));
    const chunks = await received(readyChunks(pieces));
    expect(Buffer.concat(chunks).equals(Buffer.concat(pieces))).toBe(true);
    expect(chunks.length).toBeLessThan(15);
    for (const chunk of chunks.slice(0, -1)) {
      expect(chunk.byteLength).toBeGreaterThanOrEqual(256 * 1024);
      expect(chunk.byteLength).toBeLessThanOrEqual(1024 * 1024);
    }
  });

  it('splits a chunk larger than 1 MiB', async () => {
    const big = new Uint8Array(2.5 * 1024 * 1024).map((_, index) => index % 253);
    const chunks = await received(readyChunks([big]));
    expect(chunks.map((chunk) => chunk.byteLength)).toEqual([1024 * 1024, 1024 * 1024, 512 * 1024]);
    expect(Buffer.concat(chunks).equals(Buffer.from(big))).toBe(true);
  });

  it('sends what is ready without waiting for more (an interactive source is not held back)', async () => {
    const { promise: firstArrived, resolve: arrived } = Promise.withResolvers<void>();
    const chunks = await received(
      (async function* () {
        yield new TextEncoder().encode('hello');
        await firstArrived; // only once the transport has it: a stdin that waited for more would never end
        yield new TextEncoder().encode('world');
      })(),
      () => arrived(),
    );
    expect(chunks.map((chunk) => chunk.toString())).toEqual(['hello', 'world']);
  });

  it('stops reading a stdin source when the exec fails, and lets the source clean up', async () => {
    let cleaned = false;
    const transport = fakeTransport(({ close }) => {
      setTimeout(() => close(new Error('socket hang up')), 5);
    });
    const { promise: never } = Promise.withResolvers<void>();
    const error = await podExec(transport, {
      ...base,
      command: ['cat'],
      stdin: (async function* () {
        try {
          yield new Uint8Array(10);
          for (let index = 0; index < 1000; index += 1) {
            await new Promise((resolve) => setTimeout(resolve, 1));
            yield new Uint8Array(10);
          }
          await never;
        } finally {
          cleaned = true;
        }
      })(),
    }).catch((value: unknown) => value);
    expect(error).toMatchObject({ failure: 'connection' });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(cleaned).toBe(true);
  });

  it('reads the exit code of a status', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'x' })).toBeNull();
  });
});
