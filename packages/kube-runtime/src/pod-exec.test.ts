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
  options: { buffered?: () => number } = {},
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

  it('reads the exit code of a status', () => {
    expect(exitCodeOf({ status: 'Success' })).toBe(0);
    expect(exitCodeOf({ status: 'Failure', reason: 'InternalError', message: 'x' })).toBeNull();
  });
});
