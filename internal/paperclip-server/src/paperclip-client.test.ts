import { describe, expect, it } from 'vitest';
import { createPaperclipClient, PaperclipApiError, PaperclipServerError, parseRunLog } from './index.ts';

describe('parseRunLog', () => {
  it('parses NDJSON records and skips blank lines', () => {
    const content =
      '{"ts":"2026-11-24T00:00:00.000Z","stream":"stdout","chunk":"a\\n","seq":1}\n\n{"ts":"2026-11-24T00:00:01.000Z","stream":"stderr","chunk":"b","seq":2}\n';
    expect(parseRunLog(content)).toEqual([
      { ts: '2026-11-24T00:00:00.000Z', stream: 'stdout', chunk: 'a\n', seq: 1 },
      { ts: '2026-11-24T00:00:01.000Z', stream: 'stderr', chunk: 'b', seq: 2 },
    ]);
  });

  it('reports a malformed line with its number instead of dropping it', () => {
    expect(() => parseRunLog('{"ts":"x","stream":"stdout","chunk":"a","seq":1}\nnot json\n')).toThrow(
      /line 2: not JSON/,
    );
    expect(() => parseRunLog('{"ts":"x"}')).toThrow(PaperclipServerError);
  });
});

describe('createPaperclipClient', () => {
  const fakeFetch =
    (status: number, body: unknown, contentType = 'application/json'): typeof fetch =>
    () =>
      Promise.resolve(
        new Response(typeof body === 'string' ? body : JSON.stringify(body), {
          status,
          statusText: status === 422 ? 'Unprocessable Entity' : '',
          headers: { 'content-type': contentType },
        }),
      );

  it('turns a non-2xx answer into a PaperclipApiError naming the route', async () => {
    const client = createPaperclipClient('http://127.0.0.1:1/api/', {
      fetch: fakeFetch(422, { error: 'Unknown adapter type' }),
    });
    const error = await client.createAgent('c1', { name: 'a', adapterType: 'nope' }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(PaperclipApiError);
    expect(PaperclipServerError.isInstance(error)).toBe(true);
    expect((error as PaperclipApiError).message).toBe(
      'POST /companies/c1/agents: 422 Unprocessable Entity: {"error":"Unknown adapter type"}',
    );
  });

  it('answers undefined for a missing ui-parser', async () => {
    const client = createPaperclipClient('http://127.0.0.1:1/api', { fetch: fakeFetch(404, { error: 'not found' }) });
    expect(await client.getAdapterUiParser('x')).toBeUndefined();
  });

  it('stops waiting when a run ends in another terminal status', async () => {
    const client = createPaperclipClient('http://127.0.0.1:1/api', {
      fetch: fakeFetch(200, { id: 'r1', status: 'failed', error: 'boom', errorCode: 'adapter_failed' }),
    });
    await expect(client.waitForRun('r1', { until: ['succeeded'] })).rejects.toThrow(
      'wait for run r1: ended failed, expected succeeded: adapter_failed boom',
    );
  });
});
