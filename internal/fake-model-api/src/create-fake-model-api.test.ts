import { connect } from 'node:net';
import { describe, expect, it } from 'vitest';
import {
  computeInputTokens,
  createFakeModelApi,
  DEFAULT_TEXT,
  FAKE_CACHE_CREATION_INPUT_TOKENS,
  FAKE_CACHE_READ_INPUT_TOKENS,
  FakeModelApiError,
} from './index.ts';
import { parseSseBody, postMessages } from './test/sse-client.ts';

function textOf(events: ReturnType<typeof parseSseBody>, index = 0): string {
  return events
    .filter((entry) => entry.event === 'content_block_delta' && entry.data['index'] === index)
    .map((entry) => {
      const delta = entry.data['delta'] as { text?: string; thinking?: string; partial_json?: string };
      return delta.text ?? delta.thinking ?? delta.partial_json ?? '';
    })
    .join('');
}

describe('createFakeModelApi', () => {
  it('listens on 127.0.0.1 with a free port by default', async () => {
    await using api = await createFakeModelApi();
    expect(api.url).toBe(`http://127.0.0.1:${api.port}`);
    expect(api.port).toBeGreaterThan(0);
  });

  it('streams a [[text]] answer with the Messages API event sequence and the usage formula', async () => {
    await using api = await createFakeModelApi();
    const response = await postMessages(api.url, 'Say hello [[text]]');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toBe('text/event-stream; charset=utf-8');
    expect(response.headers.get('request-id')).toMatch(/^req_/);
    const events = parseSseBody(await response.text());
    for (const entry of events) expect(entry.data['type']).toBe(entry.event);
    expect(events.map((entry) => entry.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      ...Array.from({ length: Math.ceil(DEFAULT_TEXT.length / 16) }, () => 'content_block_delta'),
      'content_block_stop',
      'message_delta',
      'message_stop',
    ]);
    expect(textOf(events)).toBe(DEFAULT_TEXT);
    const record = api.requests[0];
    const messages = (record?.body as { messages: unknown }).messages;
    const start = events[0]?.data['message'] as Record<string, unknown>;
    expect(start).toMatchObject({
      type: 'message',
      role: 'assistant',
      model: 'claude-test-model',
      content: [],
      stop_reason: null,
      stop_sequence: null,
    });
    expect(start['id']).toMatch(/^msg_/);
    expect(start['usage']).toEqual({
      input_tokens: computeInputTokens(messages),
      cache_creation_input_tokens: FAKE_CACHE_CREATION_INPUT_TOKENS,
      cache_read_input_tokens: FAKE_CACHE_READ_INPUT_TOKENS,
      cache_creation: { ephemeral_5m_input_tokens: 120, ephemeral_1h_input_tokens: 0 },
      output_tokens: 1,
      service_tier: 'standard',
    });
    expect(events.at(-2)?.data).toEqual({
      type: 'message_delta',
      delta: { stop_reason: 'end_turn', stop_sequence: null },
      usage: { output_tokens: Math.ceil(DEFAULT_TEXT.length / 4) },
    });
    expect(record).toMatchObject({
      index: 1,
      method: 'POST',
      path: '/v1/messages?beta=true',
      scenario: { name: 'text', argument: undefined, source: 'marker' },
      streaming: true,
      status: 200,
      outcome: 'completed',
      usage: {
        input_tokens: computeInputTokens(messages),
        output_tokens: 16,
        cache_creation_input_tokens: 120,
        cache_read_input_tokens: 3000,
      },
    });
    expect(record?.headers['x-api-key']).toBe('[redacted]');
    expect(JSON.stringify(api.requests)).not.toContain('secret-key-value');
    expect(Date.parse(record?.timestamp ?? '')).not.toBeNaN();
  });

  it('answers without streaming as one JSON message', async () => {
    await using api = await createFakeModelApi();
    const response = await postMessages(api.url, 'Hi [[text:custom words]]', { stream: false });
    const message = (await response.json()) as Record<string, unknown>;
    expect(message).toMatchObject({
      type: 'message',
      role: 'assistant',
      content: [{ type: 'text', text: 'custom words' }],
      stop_reason: 'end_turn',
      usage: { output_tokens: 3, cache_read_input_tokens: 3000 },
    });
    expect(api.requests[0]?.streaming).toBe(false);
  });

  it('plays [[bash:…]] as a tool call and then quotes the tool result', async () => {
    await using api = await createFakeModelApi();
    const first = parseSseBody(await (await postMessages(api.url, 'Run it [[bash:echo hello]]')).text());
    const toolStart = first.find((entry) => entry.event === 'content_block_start' && entry.data['index'] === 1);
    const block = toolStart?.data['content_block'] as Record<string, unknown>;
    expect(block).toMatchObject({ type: 'tool_use', name: 'Bash', input: {} });
    expect(JSON.parse(textOf(first, 1))).toEqual({ command: 'echo hello', description: 'Run the scripted command' });
    expect(
      (first.find((entry) => entry.event === 'message_delta')?.data['delta'] as Record<string, unknown>)['stop_reason'],
    ).toBe('tool_use');

    const followUp = [
      { role: 'user', content: [{ type: 'text', text: 'Run it [[bash:echo hello]]' }] },
      {
        role: 'assistant',
        content: [{ type: 'tool_use', id: block['id'], name: 'Bash', input: { command: 'echo hello' } }],
      },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: block['id'], content: 'hello', is_error: false }] },
    ];
    const second = parseSseBody(await (await postMessages(api.url, followUp)).text());
    expect(textOf(second)).toBe('The tool returned: hello');
    expect(api.requests.map((record) => record.scenario?.name)).toEqual(['bash', 'bash']);
  });

  it('streams a thinking block with thinking and signature deltas before the text', async () => {
    await using api = await createFakeModelApi();
    const events = parseSseBody(await (await postMessages(api.url, 'What is 2+2? [[thinking]]')).text());
    expect(events.find((entry) => entry.event === 'content_block_start')?.data['content_block']).toEqual({
      type: 'thinking',
      thinking: '',
      signature: '',
    });
    const deltaTypes = events
      .filter((entry) => entry.event === 'content_block_delta')
      .map((entry) => (entry.data['delta'] as { type: string }).type);
    expect(deltaTypes).toContain('thinking_delta');
    expect(deltaTypes).toContain('signature_delta');
    expect(deltaTypes.at(-1)).toBe('text_delta');
  });

  it('answers [[long:N]] with N lines', async () => {
    await using api = await createFakeModelApi();
    const message = (await (await postMessages(api.url, '[[long:2000]]', { stream: false })).json()) as {
      content: { text: string }[];
    };
    const lines = message.content[0]?.text.split('\n') ?? [];
    expect(lines).toHaveLength(2000);
    expect(lines.at(-1)).toBe('line 2000');
  });

  it.each([
    [401, 'authentication_error'],
    [400, 'invalid_request_error'],
    [500, 'api_error'],
    [529, 'overloaded_error'],
  ])('answers [[err:%i]] with the Anthropic error body', async (status, errorType) => {
    await using api = await createFakeModelApi();
    const response = await postMessages(api.url, `Hello [[err:${status}]]`);
    expect(response.status).toBe(status);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ type: 'error', error: { type: errorType } });
    expect(api.requests[0]).toMatchObject({ status, outcome: 'http-error' });
  });

  it('sends retry-after with [[err:429]] (1 s by default, or the given seconds)', async () => {
    await using api = await createFakeModelApi();
    expect((await postMessages(api.url, '[[err:429]]')).headers.get('retry-after')).toBe('1');
    expect((await postMessages(api.url, '[[err:429:3]]')).headers.get('retry-after')).toBe('3');
  });

  it('cuts the socket mid-stream for [[cut]] and answers a non-streaming retry normally', async () => {
    await using api = await createFakeModelApi();
    const response = await postMessages(api.url, 'Hello [[cut]]');
    await expect(response.text()).rejects.toThrow();
    expect(api.requests[0]?.outcome).toBe('cut');
    const retry = (await (await postMessages(api.url, 'Hello [[cut]]', { stream: false })).json()) as {
      content: { text: string }[];
    };
    expect(retry.content[0]?.text).toBe('Recovered after the cut stream.');
  });

  it('sends an SSE error event for [[sseerror]] and, with a status, fails the non-streaming retry', async () => {
    await using api = await createFakeModelApi();
    const events = parseSseBody(await (await postMessages(api.url, '[[sseerror:529]]')).text());
    expect(events.map((entry) => entry.event)).toEqual([
      'message_start',
      'ping',
      'content_block_start',
      'content_block_delta',
      'error',
    ]);
    expect(events.at(-1)?.data).toMatchObject({
      type: 'error',
      error: { type: 'overloaded_error', message: 'Overloaded' },
    });
    expect((await postMessages(api.url, '[[sseerror:529]]', { stream: false })).status).toBe(529);
    expect((await postMessages(api.url, '[[sseerror]]', { stream: false })).status).toBe(200);
  });

  it('streams [[slow:S]] one delta every 100 ms and stops when the client goes away', async () => {
    await using api = await createFakeModelApi();
    const controller = new AbortController();
    const started = Date.now();
    const response = await postMessages(api.url, '[[slow:0.5]]');
    const body = await response.text();
    expect(Date.now() - started).toBeGreaterThanOrEqual(350);
    expect(textOf(parseSseBody(body))).toBe('0001 0002 0003 0004 0005 ');
    const slow = await fetch(`${api.url}/v1/messages`, {
      method: 'POST',
      body: JSON.stringify({ stream: true, messages: [{ role: 'user', content: '[[slow:30]]' }] }),
      signal: controller.signal,
    });
    const reader = slow.body?.getReader();
    await reader?.read();
    controller.abort();
    await expect.poll(() => api.requests[1]?.outcome, { timeout: 2000 }).toBe('client-closed');
  });

  it('forces a scenario for the next N requests, then goes back to markers', async () => {
    await using api = await createFakeModelApi();
    api.forceScenario('err:529', { count: 2 });
    expect((await postMessages(api.url, '[[text]]')).status).toBe(529);
    expect((await postMessages(api.url, '[[text]]')).status).toBe(529);
    expect((await postMessages(api.url, '[[text]]')).status).toBe(200);
    expect(api.requests.map((record) => record.scenario?.source)).toEqual(['forced', 'forced', 'marker']);
    expect(() => api.forceScenario('nope')).toThrow(FakeModelApiError);
  });

  it('keeps a forced scenario with a match for the requests whose messages contain it', async () => {
    await using api = await createFakeModelApi();
    api.forceScenario('err:529', { count: 1, match: 'agent-a' });
    expect((await postMessages(api.url, 'agent-b [[text]]')).status).toBe(200);
    expect((await postMessages(api.url, 'agent-a [[text]]')).status).toBe(529);
    expect((await postMessages(api.url, 'agent-a [[text]]')).status).toBe(200);
    expect(api.requests.map((record) => record.scenario?.source)).toEqual(['marker', 'forced', 'marker']);
    expect(() => api.forceScenario('text', { match: '' })).toThrow(FakeModelApiError);
  });

  it('uses the default scenario without a marker and rejects an unknown marker with a 400', async () => {
    await using api = await createFakeModelApi({ defaultScenario: 'text:default words' });
    const message = (await (await postMessages(api.url, 'no marker', { stream: false })).json()) as {
      content: { text: string }[];
    };
    expect(message.content[0]?.text).toBe('default words');
    const unknown = await postMessages(api.url, '[[nosuch]]');
    expect(unknown.status).toBe(400);
    expect(JSON.stringify(await unknown.json())).toContain('unknown scenario [[nosuch]]');
    await expect(createFakeModelApi({ defaultScenario: 'nosuch' })).rejects.toThrow(FakeModelApiError);
  });

  it('accepts custom scenarios', async () => {
    await using api = await createFakeModelApi({
      scenarios: {
        echo: ({ argument }) => ({
          type: 'message',
          content: [{ type: 'text', text: `echo ${argument ?? ''}` }],
          stopReason: 'end_turn',
        }),
      },
    });
    const message = (await (await postMessages(api.url, '[[echo:abc]]', { stream: false })).json()) as {
      content: { text: string }[];
    };
    expect(message.content[0]?.text).toBe('echo abc');
  });

  it('answers count_tokens with the input formula, lists models and 404s anything else (recorded)', async () => {
    await using api = await createFakeModelApi();
    const messages = [{ role: 'user', content: 'count me' }];
    const counted = await fetch(`${api.url}/v1/messages/count_tokens?beta=true`, {
      method: 'POST',
      body: JSON.stringify({ messages }),
    });
    expect(await counted.json()).toEqual({ input_tokens: computeInputTokens(messages) });
    const models = (await (await fetch(`${api.url}/v1/models`)).json()) as { data: unknown[] };
    expect(models.data.length).toBeGreaterThan(0);
    const missing = await fetch(`${api.url}/api/hello`);
    expect(missing.status).toBe(404);
    expect(await missing.json()).toMatchObject({ type: 'error', error: { type: 'not_found_error' } });
    expect(api.requests.map((record) => record.outcome)).toEqual(['count-tokens', 'models', 'not-found']);
  });

  it('refuses and records CONNECT requests (HTTPS_PROXY traffic for other hosts)', async () => {
    await using api = await createFakeModelApi();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () =>
        socket.write('CONNECT api.anthropic.com:443 HTTP/1.1\r\nhost: api.anthropic.com:443\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(api.requests[0]).toMatchObject({
      method: 'CONNECT',
      path: 'api.anthropic.com:443',
      status: 403,
      outcome: 'refused',
    });
  });

  it('refuses absolute-URL proxy requests instead of forwarding them', async () => {
    await using api = await createFakeModelApi();
    const reply = await new Promise<string>((resolve, reject) => {
      const socket = connect(api.port, '127.0.0.1', () =>
        socket.write('GET http://example.com/ HTTP/1.1\r\nhost: example.com\r\nconnection: close\r\n\r\n'),
      );
      let text = '';
      socket.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')));
      socket.on('end', () => resolve(text));
      socket.on('error', reject);
    });
    expect(reply).toMatch(/^HTTP\/1\.1 403 /);
    expect(api.requests[0]).toMatchObject({ path: 'http://example.com/', outcome: 'refused' });
  });

  it('closes with streams in progress and can be closed twice', async () => {
    const api = await createFakeModelApi();
    const response = await postMessages(api.url, '[[slow:30]]');
    const reader = response.body?.getReader();
    await reader?.read();
    await api.close();
    await api.close();
    await expect(fetch(api.url)).rejects.toThrow();
  });
});

describe('the spend scenario', () => {
  it('reports the scripted input tokens on every reply and calls a tool until TURNS assistant messages exist', async () => {
    await using api = await createFakeModelApi();
    const prompt = { role: 'user', content: [{ type: 'text', text: 'Work [[spend:2:250000:0]]' }] };
    const first = parseSseBody(await (await postMessages(api.url, [prompt])).text());
    const start = first[0]!.data['message'] as { usage: Record<string, number> };
    expect(start.usage).toMatchObject({ input_tokens: 250_000, output_tokens: 1, cache_read_input_tokens: 3000 });
    expect(textOf(first)).toBe('Spending, turn 1.');
    expect(JSON.parse(textOf(first, 1))).toEqual({ command: 'true' });

    const assistantTurn = { role: 'assistant', content: [{ type: 'text', text: 'Spending, turn 1.' }] };
    const toolResult = { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't', content: '' }] };
    const second = parseSseBody(await (await postMessages(api.url, [prompt, assistantTurn, toolResult])).text());
    expect(textOf(second)).toBe('Spending, turn 2.');
    const third = parseSseBody(
      await (await postMessages(api.url, [prompt, assistantTurn, toolResult, assistantTurn, toolResult])).text(),
    );
    expect(textOf(third)).toBe('Done spending.');
    expect(api.requests.map((request) => request.usage?.input_tokens)).toEqual([250_000, 250_000, 250_000]);
    // The final message_delta carries the real output count (the scripted usage only replaces input figures).
    const delta = third.find((entry) => entry.event === 'message_delta')!.data['usage'] as Record<string, number>;
    expect(delta['output_tokens']).toBe(Math.ceil('Done spending.'.length / 4));
  });
});
