import { getAdapterSessionManagement } from '@paperclipai/adapter-utils/session-compaction';
import { describe, expect, it } from 'vitest';
import { createModelLister, MODEL_DISCOVERY_CACHE_MS, MODELS } from './models.ts';
import { createServerAdapter } from './create-server-adapter.ts';

function fakeFetch(responses: (() => Response)[]) {
  const calls: { url: string; headers: Record<string, string> }[] = [];
  const impl = ((url: string, init?: RequestInit) => {
    calls.push({ url, headers: init?.headers as Record<string, string> });
    const next = responses.shift();
    if (next === undefined) return Promise.reject(new Error('no more responses'));
    return Promise.resolve(next());
  }) as unknown as typeof fetch;
  return { impl, calls };
}
const ok = (data: unknown) => () => new Response(JSON.stringify({ data }), { status: 200 });

describe('createModelLister (as claude_local lists models)', () => {
  it('without ANTHROPIC_API_KEY lists the fixed models and asks nobody', async () => {
    const { impl, calls } = fakeFetch([]);
    expect(await createModelLister({ env: {}, fetch: impl }).listModels()).toEqual(MODELS);
    expect(calls).toEqual([]);
  });

  it('with a key discovers models first, then the fixed ones not discovered, cached for a minute', async () => {
    let now = 1_000;
    const { impl, calls } = fakeFetch([
      ok([
        { id: 'claude-new-9', display_name: 'Claude New 9' },
        { id: 'claude-opus-5', display_name: 'Opus 5!' },
        { id: '' },
      ]),
      ok([{ id: 'claude-other' }]),
    ]);
    const lister = createModelLister({
      env: { ANTHROPIC_API_KEY: 'sk-test', ANTHROPIC_BASE_URL: 'http://127.0.0.1:9/' },
      fetch: impl,
      now: () => now,
    });
    const first = await lister.listModels();
    expect(first.slice(0, 2)).toEqual([
      { id: 'claude-new-9', label: 'Claude New 9' },
      { id: 'claude-opus-5', label: 'Opus 5!' },
    ]);
    expect(first).toHaveLength(MODELS.length + 1);
    expect(calls[0]).toEqual({
      url: 'http://127.0.0.1:9/v1/models',
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': 'sk-test' },
    });
    now += MODEL_DISCOVERY_CACHE_MS - 1;
    expect(await lister.listModels()).toEqual(first);
    expect(calls).toHaveLength(1);
    now += 2;
    expect((await lister.listModels())[0]).toEqual({ id: 'claude-other', label: 'claude-other' });
    expect(calls).toHaveLength(2);
  });

  it('a failed discovery keeps the last list for the key, else the fixed models; refresh skips the cache', async () => {
    const { impl, calls } = fakeFetch([
      () => new Response('nope', { status: 401 }),
      ok([{ id: 'claude-new-9' }]),
      () => {
        throw new Error('network down');
      },
    ]);
    const lister = createModelLister({ env: { ANTHROPIC_API_KEY: 'sk-test' }, fetch: impl });
    expect(await lister.listModels()).toEqual(MODELS);
    expect(calls[0]?.url).toBe('https://api.anthropic.com/v1/models');
    expect((await lister.refreshModels())[0]?.id).toBe('claude-new-9');
    expect((await lister.refreshModels())[0]?.id).toBe('claude-new-9');
    expect(calls).toHaveLength(3);
  });
});

describe('createServerAdapter: models and session management', () => {
  it('discovers with the server environment key and declares claude_local session management', async () => {
    const adapter = createServerAdapter({ serverEnv: {} });
    expect(await adapter.listModels?.()).toEqual(MODELS);
    expect(typeof adapter.refreshModels).toBe('function');
    const expected = getAdapterSessionManagement('claude_local');
    expect(expected?.supportsSessionResume).toBe(true);
    expect(adapter.sessionManagement).toEqual(expected);
  });
});
