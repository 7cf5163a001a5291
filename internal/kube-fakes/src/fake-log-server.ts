/**
 * A fake `pods/log` endpoint on 127.0.0.1:0 that answers like kube-apiserver + kubelet v1.35 (verified on the local
 * cluster, see docs/decisions/kube-runtime-exactly-once-log-follow.md):
 * - `timestamps=true` prefixes each *line* with the RFC3339Nano timestamp of its (first) CRI record; containerd's
 *   partial records are joined by the kubelet, so a line is only sent once complete (`write` buffers a fragment);
 * - `sinceTime` is truncated to whole seconds by the apiserver and compared inclusively (`!ts.Before(since)`);
 * - a follow ends once the container has terminated and everything was sent; the last line of a terminated
 *   container may lack its newline;
 * - only the current log file is served: `rotate()` makes every line so far unreachable.
 * Fault scripts: per request, cut the connection after N body bytes (anywhere: mid-timestamp, mid-line,
 * mid-character), end a follow cleanly, delay the response, or answer with a status.
 */
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';

/** One line as the kubelet would serve it. */
export interface FakeLogRecord {
  timestamp: string;
  /** Content without the newline. */
  content: Buffer;
  /** False only for a final fragment without newline. */
  complete: boolean;
  /**
   * A long line whose later CRI records carry a later timestamp: a replay whose `sinceTime` falls after
   * `timestamp` but not after `tail.timestamp` starts with `content[tail.offset..]` and no timestamp, as the
   * kubelet stamps only a line's first record.
   */
  tail?: { timestamp: string; offset: number };
}

/** What to do with one request (decided when it arrives). */
export interface FakeLogFault {
  /** Destroy the connection after this many body bytes. */
  cutAfterBytes?: number;
  /** End the response cleanly (as a restarting kubelet/apiserver can) after this many body bytes. */
  endAfterBytes?: number;
  /** Wait this long before answering, milliseconds. */
  delayMs?: number;
  /** Answer with this status and a `Status` body instead of the log. */
  status?: number;
}

/** A request the fake received. */
export interface FakeLogRequest {
  index: number;
  follow: boolean;
  timestamps: boolean;
  sinceTime: string | null;
  container: string | null;
  path: string;
}

export interface FakeLogServerOptions {
  /** Fault for request `index` (0-based). */
  faults?: (request: FakeLogRequest) => FakeLogFault | undefined;
  /** Timestamp of the next record; default: strictly increasing, 1 µs apart from 2026-11-24T13:00:00Z. */
  nextTimestamp?: (recordIndex: number) => string;
}

export interface FakeLogServer extends AsyncDisposable {
  readonly url: string;
  /** A KubeConfig whose current cluster is this server (plain HTTP, a dummy token). */
  kubeConfig(): KubeConfig;
  /**
   * Writes container output: complete lines become records now; a trailing fragment waits for its newline. `tail`
   * applies to the first line completed by this write (see {@link FakeLogRecord.tail}).
   */
  write(text: string | Buffer, timestamp?: string, tail?: { timestamp: string; offset: number }): void;
  /** The container exits: a pending fragment becomes a final record without newline; follows end. */
  terminate(): void;
  readonly terminated: boolean;
  /** Log rotation: the lines so far are no longer served. Returns how many records became unreachable. */
  rotate(): number;
  readonly records: readonly FakeLogRecord[];
  readonly requests: readonly FakeLogRequest[];
  close(): Promise<void>;
}

/** containerd's largest CRI log record (`max_container_log_line_size`). Bytes. */
const CRI_RECORD_BYTES = 16 * 1024;

function defaultTimestamp(recordIndex: number): string {
  const base = Date.UTC(2026, 10, 24, 13, 0, 0);
  const micros = recordIndex;
  const seconds = Math.floor(micros / 1_000_000);
  const nanos = (micros % 1_000_000) * 1000;
  return `${new Date(base + seconds * 1000).toISOString().slice(0, 19)}.${String(nanos).padStart(9, '0')}Z`;
}

function truncateToSecond(sinceTime: string): string {
  const parsed = new Date(sinceTime);
  if (Number.isNaN(parsed.getTime())) throw new Error(`bad sinceTime ${sinceTime}`);
  return `${parsed.toISOString().slice(0, 19)}.000000000Z`;
}

export async function startFakeLogServer(options: FakeLogServerOptions = {}): Promise<FakeLogServer> {
  const nextTimestamp = options.nextTimestamp ?? defaultTimestamp;
  const records: FakeLogRecord[] = [];
  const requests: FakeLogRequest[] = [];
  let fileStart = 0;
  let pending = Buffer.alloc(0);
  let pendingTimestamp: string | null = null;
  let terminated = false;
  let waiters: (() => void)[] = [];
  const notify = (): void => {
    const current = waiters;
    waiters = [];
    for (const wake of current) wake();
  };

  const push = (content: Buffer, complete: boolean, timestamp: string, tail?: FakeLogRecord['tail']): void => {
    records.push({ timestamp, content, complete, ...(tail ? { tail } : {}) });
  };

  async function serve(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://fake');
    if (!/^\/api\/v1\/namespaces\/[^/]+\/pods\/[^/]+\/log$/.test(url.pathname)) {
      response.writeHead(404).end();
      return;
    }
    const logRequest: FakeLogRequest = {
      index: requests.length,
      follow: url.searchParams.get('follow') === 'true',
      timestamps: url.searchParams.get('timestamps') === 'true',
      sinceTime: url.searchParams.get('sinceTime'),
      container: url.searchParams.get('container'),
      path: `${url.pathname}${url.search}`,
    };
    requests.push(logRequest);
    const fault = options.faults?.(logRequest) ?? {};
    if (fault.delayMs !== undefined) await new Promise((resolve) => setTimeout(resolve, fault.delayMs));
    if (fault.status !== undefined) {
      response.writeHead(fault.status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          kind: 'Status',
          status: 'Failure',
          code: fault.status,
          reason: 'Fake',
          message: 'fault script',
        }),
      );
      return;
    }
    const since = logRequest.sinceTime === null ? null : truncateToSecond(logRequest.sinceTime);
    response.writeHead(200, { 'content-type': 'text/plain', 'transfer-encoding': 'chunked' });
    let sent = 0;
    let position = fileStart;
    let closed = false;
    response.on('close', () => {
      closed = true;
      notify();
    });
    const limit = fault.cutAfterBytes ?? fault.endAfterBytes;
    const send = async (data: Buffer): Promise<boolean> => {
      let chunk = data;
      if (limit !== undefined && sent + chunk.length >= limit) chunk = chunk.subarray(0, limit - sent);
      sent += chunk.length;
      if (chunk.length > 0 && !response.write(chunk)) {
        await new Promise<void>((resolve) => {
          response.once('drain', resolve);
          response.once('close', resolve);
        });
      }
      if (limit !== undefined && sent >= limit) {
        if (fault.cutAfterBytes !== undefined) {
          await new Promise<void>((resolve) => response.write('', () => resolve()));
          response.socket?.destroy();
        } else response.end();
        return false;
      }
      return !closed;
    };
    for (;;) {
      if (position < fileStart) position = fileStart; // rotated while following: the old file's rest is gone
      while (position < records.length) {
        const record = records[position];
        position += 1;
        if (record === undefined) continue;
        let head = logRequest.timestamps ? `${record.timestamp} ` : '';
        let content = record.content;
        if (since !== null && record.timestamp < since) {
          if (!record.tail || record.tail.timestamp < since) continue;
          head = '';
          content = record.content.subarray(record.tail.offset);
        }
        const line = Buffer.concat([Buffer.from(head), content, Buffer.from(record.complete ? '\n' : '')]);
        // Large lines go out in pieces, as a real response does.
        for (let offset = 0; offset < line.length; offset += 16 * 1024) {
          if (!(await send(line.subarray(offset, offset + 16 * 1024)))) return;
        }
      }
      if (!logRequest.follow || terminated || closed) break;
      await new Promise<void>((resolve) => waiters.push(resolve));
    }
    if (!closed) response.end();
  }

  const server = createServer((request, response) => {
    serve(request, response).catch((error: unknown) => {
      response.destroy(error instanceof Error ? error : new Error(String(error)));
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  const url = `http://127.0.0.1:${port}`;

  const fake: FakeLogServer = {
    url,
    kubeConfig() {
      const kubeConfig = new KubeConfig();
      kubeConfig.loadFromClusterAndUser(
        { name: 'fake', server: url, skipTLSVerify: true },
        { name: 'fake', token: 'fake-token' },
      );
      return kubeConfig;
    },
    write(text, timestamp, tail) {
      if (terminated) throw new Error('the fake container has terminated');
      const pendingBefore = pending.length;
      let data = Buffer.concat([pending, Buffer.isBuffer(text) ? text : Buffer.from(text)]);
      if (pending.length === 0 && data.length > 0) pendingTimestamp = null;
      for (;;) {
        const newline = data.indexOf(0x0a);
        if (newline === -1) break;
        const stamp = timestamp ?? nextTimestamp(records.length);
        // containerd writes a line in CRI records of at most 16 KiB; the bytes an earlier write left pending past a
        // record boundary were flushed then, the rest now: the line's tail carries this write's timestamp.
        const flushed = Math.floor(pendingBefore / CRI_RECORD_BYTES) * CRI_RECORD_BYTES;
        if (tail === undefined && pendingTimestamp !== null && flushed > 0)
          tail = { timestamp: stamp, offset: flushed };
        push(data.subarray(0, newline), true, pendingTimestamp ?? stamp, tail);
        tail = undefined;
        pendingTimestamp = null;
        data = data.subarray(newline + 1);
      }
      pending = Buffer.from(data);
      if (pending.length > 0 && pendingTimestamp === null)
        pendingTimestamp = timestamp ?? nextTimestamp(records.length);
      notify();
    },
    terminate() {
      if (pending.length > 0) push(pending, false, pendingTimestamp ?? nextTimestamp(records.length));
      pending = Buffer.alloc(0);
      terminated = true;
      notify();
    },
    get terminated() {
      return terminated;
    },
    rotate() {
      const dropped = records.length - fileStart;
      fileStart = records.length;
      notify();
      return dropped;
    },
    records,
    requests,
    async close() {
      terminated = true;
      notify();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
    async [Symbol.asyncDispose]() {
      await fake.close();
    },
  };
  return fake;
}
