import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium } from 'playwright-core';
import { describe, expect, it } from 'vitest';
import { buildBundles } from '../test/build-bundles.ts';
import { fixtureBytes, parseChunks } from '../test/fixture-helpers.ts';
import { summarizeRun } from './run-accumulator.ts';

const CHROMIUM = '/usr/bin/chromium';
const FLAGS = [
  '--headless',
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1',
];

const PAGE = `<!doctype html><meta charset="utf-8"><title>stream-json</title>
<script type="module">
  import { parseStream, createRunAccumulator, createFormatter } from './index.js';
  try {
    const accumulator = createRunAccumulator();
    const formatter = createFormatter();
    const response = await fetch('./fixture.jsonl');
    let text = '';
    let events = 0;
    for await (const event of parseStream(response.body)) {
      accumulator.add(event);
      text += formatter.format(event);
      events++;
    }
    window.__done = { summary: accumulator.summary(), events, text, hasTextDecoder: typeof TextDecoder };
  } catch (error) {
    window.__done = { error: String(error && error.stack || error) };
  }
</script>`;

async function startServer(
  files: Record<string, { type: string; body: string | Uint8Array }>,
): Promise<Server & AsyncDisposable & { url: string }> {
  const server = createServer((request, response) => {
    const file = files[new URL(request.url ?? '/', 'http://127.0.0.1').pathname];
    if (file === undefined) {
      response.writeHead(404).end();
      return;
    }
    response.writeHead(200, { 'content-type': file.type, 'cache-control': 'no-store' }).end(file.body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const address = server.address();
  if (address === null || typeof address === 'string') throw new Error('no port');
  return Object.assign(server, {
    url: `http://127.0.0.1:${address.port}/`,
    [Symbol.asyncDispose]: () => new Promise<void>((resolve) => server.close(() => resolve())),
  });
}

describe('in a real headless Chromium', () => {
  it('loads the built ESM core, streams a fixture from fetch() and computes the summary', async () => {
    if (!existsSync(CHROMIUM)) {
      throw new Error(
        `${CHROMIUM} is missing: the browser test needs Debian's chromium. Install it with: apt-get install -y --no-install-recommends chromium`,
      );
    }
    await using bundles = await buildBundles();
    const fixture = fixtureBytes('i_subagent_task');
    await using server = await startServer({
      '/': { type: 'text/html; charset=utf-8', body: PAGE },
      '/index.js': { type: 'text/javascript; charset=utf-8', body: readFileSync(bundles.esmPath) },
      '/fixture.jsonl': { type: 'application/x-ndjson', body: fixture },
    });
    const userDataDir = mkdtempSync(join(tmpdir(), 'stream-json-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: FLAGS,
      chromiumSandbox: false,
      offline: false,
    });
    const requests: string[] = [];
    try {
      // Loopback only: anything else is refused and recorded.
      await context.route('**/*', async (route) => {
        const url = new URL(route.request().url());
        requests.push(url.href);
        if (url.hostname === '127.0.0.1') await route.continue();
        else await route.abort();
      });
      const page = context.pages()[0] ?? (await context.newPage());
      const consoleErrors: string[] = [];
      page.on('pageerror', (error) => consoleErrors.push(String(error)));
      await page.goto(server.url);
      await page.waitForFunction(
        () => (globalThis as unknown as { __done?: unknown }).__done !== undefined,
        undefined,
        { timeout: 20_000 },
      );
      const done = await page.evaluate(() => (globalThis as unknown as { __done: Record<string, unknown> }).__done);
      expect(done['error']).toBeUndefined();
      expect(consoleErrors).toEqual([]);
      const summary = done['summary'] as ReturnType<typeof summarizeRun>;
      expect(summary.sessionId).toBe('cc1dde0e-d815-48f5-ae80-265495025b87');
      expect(summary.status).toBe('succeeded');
      expect(summary.numTurns).toBe(2);
      expect(summary.costUsd).toBeCloseTo(0.05046799999999999, 12);
      expect(summary.usage).toEqual({
        inputTokens: 10507,
        outputTokens: 182,
        cacheCreationInputTokens: 480,
        cacheReadInputTokens: 12000,
      });
      // Identical to the Node.js result.
      expect(summary).toEqual(JSON.parse(JSON.stringify(summarizeRun(parseChunks([fixture])))));
      expect(done['events']).toBe(parseChunks([fixture]).length);
      expect(done['text']).toContain('⏺ Bash(echo from-subagent)');
      expect(requests.every((url) => url.startsWith(server.url))).toBe(true);
    } finally {
      await context.close();
      rmSync(userDataDir, { recursive: true, force: true });
    }
  }, 60_000);
});
