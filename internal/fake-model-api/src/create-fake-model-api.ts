import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { FakeModelApiError } from './fake-model-api-error.ts';
import {
  createBuiltinScenarios,
  errorTypeForStatus,
  findRequestMarker,
  parseScenarioSpec,
  readToolResults,
  type ContentBlockPlan,
  type Scenario,
  type ScenarioReply,
  type ScenarioSelection,
} from './scenarios.ts';
import { encodeSseEvent, splitIntoChunks } from './sse.ts';
import { computeInputTokens, computeUsage, type FakeUsage } from './usage.ts';

/** How a recorded request ended. */
export type RequestOutcome =
  | 'completed'
  | 'http-error'
  | 'cut'
  | 'sse-error'
  | 'client-closed'
  | 'refused'
  | 'not-found'
  | 'bad-request'
  | 'count-tokens'
  | 'models';

/** One request the fake received. Records are mutated until the response ends (`outcome`, `status`). */
export interface FakeRequestRecord {
  /** 1, 2, … in arrival order. */
  index: number;
  method: string;
  /** The request target as sent: a path with query (`/v1/messages?beta=true`), `host:port` for CONNECT, or an absolute URL for a proxied plain-HTTP request. */
  path: string;
  /** Request headers, lower-case; the values of `x-api-key`, `authorization` and `proxy-authorization` are replaced by `[redacted]`. */
  headers: Record<string, string | string[]>;
  /** The parsed JSON body, the raw text when it is not JSON, or undefined when empty. */
  body: unknown;
  /** The scenario chosen (only for `POST /v1/messages`). */
  scenario: ScenarioSelection | undefined;
  /** True when the request asked for SSE. */
  streaming: boolean;
  /**
   * Usage reported for a scripted message. For a stream cut or ended by an SSE error it is the `message_start`
   * usage, the only one the client saw (`output_tokens: 1`).
   */
  usage: FakeUsage | undefined;
  /** HTTP status sent (0 until the response head is written). */
  status: number;
  outcome: RequestOutcome | undefined;
  /** ISO 8601 arrival time. */
  timestamp: string;
}

/** Timer functions; the defaults look up the globals at call time so fake timers work. */
export interface FakeModelApiTimers {
  setTimeout: (callback: () => void, milliseconds: number) => unknown;
  clearTimeout: (handle: unknown) => void;
}

export interface FakeModelApiOptions {
  /** TCP port; 0 picks a free one. @default 0 */
  port?: number;
  /** Address to bind; keep it on loopback. @default '127.0.0.1' */
  host?: string;
  /** Extra or replacement scenarios by marker name, merged over the built-ins. */
  scenarios?: Record<string, Scenario>;
  /** Scenario (`name` or `name:argument`) for requests without a marker. @default 'text' */
  defaultScenario?: string;
  /** Called when a request's response has ended (for logging). */
  onRequest?: (record: FakeRequestRecord) => void;
  /** Id generator for `msg_…`, `toolu_…`, `req_…`; the default counts per server instance. */
  generateId?: (prefix: 'msg' | 'toolu' | 'req') => string;
  timers?: FakeModelApiTimers;
}

export interface FakeModelApi extends AsyncDisposable {
  /** `http://127.0.0.1:PORT`, for `ANTHROPIC_BASE_URL` (and `HTTPS_PROXY`, to refuse every other host). */
  readonly url: string;
  readonly port: number;
  /** Every request received so far, in arrival order (the array is live). */
  readonly requests: readonly FakeRequestRecord[];
  /**
   * Use `spec` (`name` or `name:argument`) for the next `count` `POST /v1/messages` requests, whatever their marker.
   * With `match`, only requests whose messages contain that text use it (e.g. an agent's id, which Paperclip's wake
   * prompt names), so a run of another agent that asks the model meanwhile gets its own answer, not this one.
   */
  forceScenario(spec: string, options?: { count?: number; match?: string }): void;
  /** Drops every forced scenario not yet used (e.g. one whose run was cancelled before it asked the model). */
  clearForcedScenarios(): void;
  /** Forget the recorded requests. */
  clearRequests(): void;
  /** Stop listening and drop every open connection (streams in progress are cut). */
  close(): Promise<void>;
}

const redactedHeaders = new Set(['x-api-key', 'authorization', 'proxy-authorization']);

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function redactHeaders(request: IncomingMessage): Record<string, string | string[]> {
  const headers: Record<string, string | string[]> = {};
  for (const [name, value] of Object.entries(request.headers)) {
    if (value === undefined) continue;
    headers[name] = redactedHeaders.has(name) ? '[redacted]' : value;
  }
  return headers;
}

function createCounterIds(): (prefix: 'msg' | 'toolu' | 'req') => string {
  let counter = 0;
  return (prefix) => {
    counter += 1;
    return `${prefix}_fake${String(counter).padStart(6, '0')}`;
  };
}

const defaultTimers: FakeModelApiTimers = {
  setTimeout: (callback, milliseconds) => globalThis.setTimeout(callback, milliseconds),
  clearTimeout: (handle) => globalThis.clearTimeout(handle as ReturnType<typeof globalThis.setTimeout>),
};

/** A scripted block with its generated tool-use id. */
type PlannedBlock = ContentBlockPlan & { id?: string };

function buildFullBlock(block: PlannedBlock): Record<string, unknown> {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'thinking':
      return { type: 'thinking', thinking: block.thinking, signature: block.signature };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
  }
}

function buildStartBlock(block: PlannedBlock): Record<string, unknown> {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: '' };
    case 'thinking':
      return { type: 'thinking', thinking: '', signature: '' };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: {} };
  }
}

function buildDeltas(block: PlannedBlock, chunkSize: number): Record<string, unknown>[] {
  switch (block.type) {
    case 'text':
      return splitIntoChunks(block.text, chunkSize).map((text) => ({ type: 'text_delta', text }));
    case 'thinking':
      return [
        ...splitIntoChunks(block.thinking, chunkSize).map((thinking) => ({ type: 'thinking_delta', thinking })),
        { type: 'signature_delta', signature: block.signature },
      ];
    case 'tool_use':
      return splitIntoChunks(JSON.stringify(block.input), chunkSize).map((partial) => ({
        type: 'input_json_delta',
        partial_json: partial,
      }));
  }
}

/** The `usage` object of `message_start` (output_tokens 1) or of a complete message. */
function buildUsageObject(usage: FakeUsage, outputTokens: number): Record<string, unknown> {
  return {
    input_tokens: usage.input_tokens,
    cache_creation_input_tokens: usage.cache_creation_input_tokens,
    cache_read_input_tokens: usage.cache_read_input_tokens,
    cache_creation: { ephemeral_5m_input_tokens: usage.cache_creation_input_tokens, ephemeral_1h_input_tokens: 0 },
    output_tokens: outputTokens,
    service_tier: 'standard',
  };
}

function buildErrorBody(errorType: string, message: string, requestId: string): Record<string, unknown> {
  return { type: 'error', error: { type: errorType, message }, request_id: requestId };
}

/**
 * Start a fake Anthropic Messages API on loopback that the real Claude Code CLI accepts through
 * `ANTHROPIC_BASE_URL`. The reply to each `POST /v1/messages` is scripted by a `[[marker]]` in the prompt.
 */
export async function createFakeModelApi(options: FakeModelApiOptions = {}): Promise<FakeModelApi> {
  const host = options.host ?? '127.0.0.1';
  const scenarios: Record<string, Scenario> = { ...createBuiltinScenarios(), ...options.scenarios };
  const defaultSpec = parseScenarioSpec(options.defaultScenario ?? 'text');
  if (scenarios[defaultSpec.name] === undefined) {
    throw new FakeModelApiError(`create fake model api: default scenario '${defaultSpec.name}': no such scenario`);
  }
  const generateId = options.generateId ?? createCounterIds();
  const timers = options.timers ?? defaultTimers;
  const requests: FakeRequestRecord[] = [];
  const forced: { name: string; argument: string | undefined; match: string | undefined }[] = [];
  const pendingTimers = new Set<unknown>();
  const sockets = new Set<Socket>();
  let nextIndex = 1;

  function wait(milliseconds: number): Promise<void> {
    return new Promise((resolve) => {
      const handle = timers.setTimeout(() => {
        pendingTimers.delete(handle);
        resolve();
      }, milliseconds);
      pendingTimers.add(handle);
    });
  }

  function createRecord(request: IncomingMessage, body: unknown): FakeRequestRecord {
    const record: FakeRequestRecord = {
      index: nextIndex,
      method: request.method ?? 'GET',
      path: request.url ?? '',
      headers: redactHeaders(request),
      body,
      scenario: undefined,
      streaming: false,
      usage: undefined,
      status: 0,
      outcome: undefined,
      timestamp: new Date().toISOString(),
    };
    nextIndex += 1;
    requests.push(record);
    return record;
  }

  function finish(record: FakeRequestRecord, outcome: RequestOutcome): void {
    if (record.outcome !== undefined) return;
    record.outcome = outcome;
    options.onRequest?.(record);
  }

  function sendJson(
    response: ServerResponse,
    record: FakeRequestRecord,
    status: number,
    value: unknown,
    headers: Record<string, string>,
  ): void {
    record.status = status;
    const text = JSON.stringify(value);
    response.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      ...headers,
    });
    response.end(text);
  }

  function selectScenario(body: Record<string, unknown>): ScenarioSelection {
    const messages = body['messages'];
    const index = forced.findIndex(
      (entry) => entry.match === undefined || JSON.stringify(messages ?? null).includes(entry.match),
    );
    if (index !== -1) {
      const [next] = forced.splice(index, 1);
      return { name: next!.name, argument: next!.argument, source: 'forced' };
    }
    const marker = findRequestMarker(messages);
    if (marker !== undefined) return { ...marker, source: 'marker' };
    return { ...defaultSpec, source: 'default' };
  }

  async function streamMessage(
    response: ServerResponse,
    record: FakeRequestRecord,
    reply: Extract<ScenarioReply, { type: 'message' }>,
    message: Record<string, unknown>,
    blocks: PlannedBlock[],
    usage: FakeUsage,
    requestId: string,
  ): Promise<void> {
    record.status = 200;
    response.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-cache',
      'request-id': requestId,
    });
    let closed = false;
    response.on('close', () => {
      closed = true;
    });
    const write = (event: string, data: unknown): Promise<void> =>
      new Promise((resolve) => {
        if (closed) {
          resolve();
          return;
        }
        response.write(encodeSseEvent(event, data), () => resolve());
      });
    const chunkSize = reply.chunkSize ?? 16;
    const interval = reply.deltaIntervalMs ?? 0;
    const fault = reply.streamFault;
    let deltasSent = 0;

    await write('message_start', {
      type: 'message_start',
      message: { ...message, content: [], stop_reason: null, usage: buildUsageObject(usage, 1) },
    });
    await write('ping', { type: 'ping' });
    for (const [index, block] of blocks.entries()) {
      await write('content_block_start', { type: 'content_block_start', index, content_block: buildStartBlock(block) });
      for (const delta of buildDeltas(block, chunkSize)) {
        if (closed) {
          finish(record, 'client-closed');
          return;
        }
        if (fault !== undefined && deltasSent >= fault.afterDeltas) {
          // The client only ever saw message_start's usage (output_tokens 1): record what was reported.
          record.usage = { ...usage, output_tokens: 1 };
          if (fault.type === 'cut') {
            // Let the client take in what was sent first, so the cut always lands after message_start was read.
            await wait(100);
            response.socket?.destroy();
            finish(record, 'cut');
            return;
          }
          await write('error', {
            type: 'error',
            error: { type: fault.errorType, message: fault.message },
            request_id: requestId,
          });
          response.end();
          finish(record, 'sse-error');
          return;
        }
        if (interval > 0 && deltasSent > 0) await wait(interval);
        await write('content_block_delta', { type: 'content_block_delta', index, delta });
        deltasSent += 1;
      }
      await write('content_block_stop', { type: 'content_block_stop', index });
    }
    await write('message_delta', {
      type: 'message_delta',
      delta: { stop_reason: reply.stopReason, stop_sequence: null },
      usage: { output_tokens: usage.output_tokens },
    });
    await write('message_stop', { type: 'message_stop' });
    response.end();
    finish(record, closed ? 'client-closed' : 'completed');
  }

  async function handleMessages(response: ServerResponse, record: FakeRequestRecord): Promise<void> {
    const body = record.body;
    const requestId = generateId('req');
    if (!isRecord(body)) {
      sendJson(
        response,
        record,
        400,
        buildErrorBody('invalid_request_error', 'request body must be a JSON object', requestId),
        { 'request-id': requestId },
      );
      finish(record, 'bad-request');
      return;
    }
    const streaming = body['stream'] === true;
    record.streaming = streaming;
    const selection = selectScenario(body);
    record.scenario = selection;
    const scenario = scenarios[selection.name];
    if (scenario === undefined) {
      const known = Object.keys(scenarios).sort().join(', ');
      sendJson(
        response,
        record,
        400,
        buildErrorBody(
          'invalid_request_error',
          `fake model api: unknown scenario [[${selection.name}]] (known: ${known})`,
          requestId,
        ),
        { 'request-id': requestId, 'x-should-retry': 'false' },
      );
      finish(record, 'bad-request');
      return;
    }
    const reply = scenario({
      argument: selection.argument,
      body,
      streaming,
      toolResults: readToolResults(body['messages']),
    });
    if (reply.type === 'error') {
      const errorType = reply.errorType ?? errorTypeForStatus(reply.status);
      sendJson(response, record, reply.status, buildErrorBody(errorType, reply.message ?? errorType, requestId), {
        'request-id': requestId,
        ...reply.headers,
      });
      finish(record, 'http-error');
      return;
    }
    const blocks: PlannedBlock[] = reply.content.map((block) =>
      block.type === 'tool_use' ? { ...block, id: generateId('toolu') } : { ...block },
    );
    const usage: FakeUsage = { ...computeUsage(body['messages'], reply.content), ...reply.usage };
    record.usage = usage;
    const message: Record<string, unknown> = {
      id: generateId('msg'),
      type: 'message',
      role: 'assistant',
      model: typeof body['model'] === 'string' ? body['model'] : 'claude-fake',
      content: blocks.map(buildFullBlock),
      stop_reason: reply.stopReason,
      stop_sequence: null,
      usage: buildUsageObject(usage, usage.output_tokens),
    };
    if (streaming) {
      await streamMessage(response, record, reply, message, blocks, usage, requestId);
      return;
    }
    const interval = reply.deltaIntervalMs ?? 0;
    if (interval > 0) {
      const deltas = blocks.reduce((total, block) => total + buildDeltas(block, reply.chunkSize ?? 16).length, 0);
      await wait(interval * deltas);
      if (response.destroyed) {
        finish(record, 'client-closed');
        return;
      }
    }
    sendJson(response, record, 200, message, { 'request-id': requestId });
    finish(record, 'completed');
  }

  function handleModels(response: ServerResponse, record: FakeRequestRecord, pathname: string): void {
    const models = ['claude-opus-5-5', 'claude-sonnet-4-5-20250929'].map((id) => ({
      type: 'model',
      id,
      display_name: id,
      created_at: '2026-01-01T00:00:00Z',
    }));
    const id = decodeURIComponent(pathname.slice('/v1/models/'.length));
    if (pathname === '/v1/models' || pathname === '/v1/models/') {
      sendJson(
        response,
        record,
        200,
        { data: models, has_more: false, first_id: models[0]?.id, last_id: models.at(-1)?.id },
        {},
      );
    } else {
      sendJson(response, record, 200, { type: 'model', id, display_name: id, created_at: '2026-01-01T00:00:00Z' }, {});
    }
    finish(record, 'models');
  }

  async function handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    let body: unknown = undefined;
    if (raw !== '') {
      try {
        body = JSON.parse(raw) as unknown;
      } catch {
        body = raw;
      }
    }
    const record = createRecord(request, body);
    response.on('close', () => finish(record, 'client-closed'));
    const target = request.url ?? '/';
    if (/^[a-z]+:\/\//i.test(target)) {
      // A plain-HTTP request sent to us as a proxy (HTTP_PROXY): never forward it.
      sendJson(
        response,
        record,
        403,
        buildErrorBody('permission_error', `fake model api: refusing to proxy ${target}`, generateId('req')),
        { connection: 'close' },
      );
      finish(record, 'refused');
      return;
    }
    const pathname = new URL(target, 'http://fake').pathname;
    const method = request.method ?? 'GET';
    if (method === 'POST' && pathname === '/v1/messages') {
      await handleMessages(response, record);
    } else if (method === 'POST' && pathname === '/v1/messages/count_tokens') {
      const messages = isRecord(body) ? body['messages'] : undefined;
      sendJson(response, record, 200, { input_tokens: computeInputTokens(messages) }, {});
      finish(record, 'count-tokens');
    } else if (method === 'GET' && pathname.startsWith('/v1/models')) {
      handleModels(response, record, pathname);
    } else {
      sendJson(
        response,
        record,
        404,
        buildErrorBody('not_found_error', `fake model api: no route for ${method} ${pathname}`, generateId('req')),
        {},
      );
      finish(record, 'not-found');
    }
  }

  const server = createServer({ keepAliveTimeout: 60_000 }, (request, response) => {
    handle(request, response).catch((error: unknown) => {
      if (!response.headersSent) {
        response.writeHead(500, { 'content-type': 'application/json' });
        response.end(
          JSON.stringify(buildErrorBody('api_error', `fake model api: ${String(error)}`, 'req_fake_internal')),
        );
      } else {
        response.destroy();
      }
    });
  });
  server.on('connection', (socket) => {
    sockets.add(socket);
    socket.on('close', () => sockets.delete(socket));
  });
  // HTTPS_PROXY traffic for any other host arrives as CONNECT: record it and refuse it; nothing leaves loopback.
  server.on('connect', (request: IncomingMessage, socket: Socket) => {
    const record = createRecord(request, undefined);
    record.status = 403;
    socket.on('error', () => undefined);
    socket.end(
      'HTTP/1.1 403 Forbidden\r\ncontent-type: text/plain\r\ncontent-length: 38\r\nconnection: close\r\n\r\nfake model api: CONNECT is not allowed',
    );
    finish(record, 'refused');
  });
  server.on('clientError', (_error, socket) => {
    socket.destroy();
  });

  await new Promise<void>((resolve, reject) => {
    const onError = (error: Error): void => {
      reject(
        new FakeModelApiError(`start fake model api: listen ${host}:${options.port ?? 0}: ${error.message}`, {
          cause: error,
        }),
      );
    };
    server.once('error', onError);
    server.listen(options.port ?? 0, host, () => {
      server.off('error', onError);
      resolve();
    });
  });
  const port = (server.address() as AddressInfo).port;
  const url = `http://${host.includes(':') ? `[${host}]` : host}:${port}`;

  let closing: Promise<void> | undefined;
  function close(): Promise<void> {
    closing ??= new Promise<void>((resolve) => {
      for (const handle of pendingTimers) timers.clearTimeout(handle);
      pendingTimers.clear();
      server.close(() => resolve());
      for (const socket of sockets) socket.destroy();
      server.closeAllConnections();
    });
    return closing;
  }

  return {
    url,
    port,
    requests,
    forceScenario(spec, forceOptions) {
      const parsed = parseScenarioSpec(spec);
      if (scenarios[parsed.name] === undefined) {
        throw new FakeModelApiError(
          `force scenario '${spec}': no such scenario (known: ${Object.keys(scenarios).sort().join(', ')})`,
        );
      }
      const count = forceOptions?.count ?? 1;
      const match = forceOptions?.match;
      if (match === '') throw new FakeModelApiError(`force scenario '${spec}': match must not be empty`);
      for (let index = 0; index < count; index += 1) forced.push({ ...parsed, match });
    },
    clearForcedScenarios() {
      forced.length = 0;
    },
    clearRequests() {
      requests.length = 0;
    },
    close,
    [Symbol.asyncDispose]: close,
  };
}
