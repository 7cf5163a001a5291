import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { launchBrowser, DEFAULT_CHROMIUM_PATH } from '@claude-k8s/paperclip-server';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';
import { parseStdoutLine, type createStdoutParser, type TranscriptEntry } from './transcript-entry.ts';
import { TOOL_RUN_KINDS, TS, fixtureLines, transcript } from '../test/transcript-fixtures.ts';

/** The two functions the classic script assigns onto `exports`. */
interface UiParserExports {
  parseStdoutLine: typeof parseStdoutLine;
  createStdoutParser: typeof createStdoutParser;
}

/** Bundles src/ui-parser.ts with the options of tsup.config.ts (IIFE, browser, everything inlined). */
async function bundle(): Promise<string> {
  const result = await build({
    entryPoints: [join(import.meta.dirname, 'ui-parser.ts')],
    bundle: true,
    format: 'iife',
    platform: 'browser',
    target: 'es2022',
    write: false,
    conditions: ['@claude-k8s/source'],
    define: { __PACKAGE_VERSION__: '"0.0.0-test"' },
    logLevel: 'error',
  });
  return result.outputFiles[0]!.text;
}

/**
 * Evaluates the source the way Paperclip's UI worker does: `new Function("exports", "module", "self", "globalThis",
 * source)`, with `self` and `globalThis` replaced by a sandbox without network APIs.
 */
function evaluateLikePaperclip(source: string, moduleObject: { exports: object } | undefined): Record<string, unknown> {
  const exportsObject: Record<string, unknown> = {};
  if (moduleObject) moduleObject.exports = exportsObject;
  const sandbox = Object.freeze({
    fetch: undefined,
    XMLHttpRequest: undefined,
    WebSocket: undefined,
    importScripts: undefined,
  });
  // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the bundle exactly as Paperclip's UI worker does is the point
  const evaluate = new Function('exports', 'module', 'self', 'globalThis', source) as (...args: unknown[]) => void;
  evaluate(exportsObject, moduleObject, sandbox, sandbox);
  return exportsObject;
}

describe('the UI parser classic script (Paperclip UI worker form, spec §4.2)', () => {
  it('is a plain script with no import or require, and assigns both functions onto exports', async () => {
    const source = await bundle();
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
    expect(source).not.toMatch(/\brequire\(/);
    const parser = evaluateLikePaperclip(source, { exports: {} });
    expect(typeof parser['parseStdoutLine']).toBe('function');
    expect(typeof parser['createStdoutParser']).toBe('function');
  });

  it('also works when only `exports` is given', async () => {
    const parser = evaluateLikePaperclip(await bundle(), undefined);
    expect(typeof parser['parseStdoutLine']).toBe('function');
  });

  it('maps a real tool-use transcript to init, assistant, tool_call, tool_result and result entries', async () => {
    const parser = evaluateLikePaperclip(await bundle(), { exports: {} }) as unknown as UiParserExports;
    const entries = transcript('b_tool_bash', parser.createStdoutParser());
    expect(entries.map((entry) => entry.kind)).toEqual(TOOL_RUN_KINDS);
    expect(entries[2]).toMatchObject({ kind: 'tool_call', name: 'Bash', input: { command: 'echo hello' } });
    expect(entries[3]).toMatchObject({ kind: 'tool_result', content: 'hello', isError: false, toolName: 'Bash' });
    expect(entries[5]).toMatchObject({ kind: 'result', text: 'The tool returned: hello', isError: false });
  });

  it('gives the same answers as the source module for every line of every tool fixture', async () => {
    const { parseStdoutLine: parse, createStdoutParser: create } = evaluateLikePaperclip(await bundle(), {
      exports: {},
    }) as unknown as UiParserExports;
    for (const name of [
      'b_tool_bash',
      'i_subagent_task',
      'e_api_error_401',
      'g_partial_messages_thinking',
      'k_unicode',
    ]) {
      expect(transcript(name, create())).toEqual(transcript(name));
      for (const line of fixtureLines(name)) expect(parse(line, TS)).toEqual(parseStdoutLine(line, TS));
    }
    expect(parse('garbage', TS)).toEqual([{ kind: 'stdout', ts: TS, text: 'garbage' }]);
  });
});

describe('the UI parser classic script in a real headless Chromium', () => {
  it('evaluates like the UI worker does and maps a sub-agent transcript as in Node.js', async () => {
    if (!existsSync(DEFAULT_CHROMIUM_PATH) && process.env['CK8S_CHROMIUM_PATH'] === undefined) {
      throw new Error(
        `${DEFAULT_CHROMIUM_PATH} is missing: the browser test needs Debian's chromium. Install it with: apt-get install -y --no-install-recommends chromium`,
      );
    }
    const source = await bundle();
    const lines = fixtureLines('i_subagent_task');
    await using browser = await launchBrowser();
    // Nothing may leave the page: every request is refused and recorded.
    const requests: string[] = [];
    await browser.context.route('**/*', async (route) => {
      requests.push(route.request().url());
      await route.abort();
    });
    const page = await browser.newPage();
    const pageErrors: string[] = [];
    page.on('pageerror', (error) => pageErrors.push(String(error)));
    const entries = await page.evaluate(
      ({ source, lines, ts }) => {
        const module = { exports: {} as Record<string, unknown> };
        // eslint-disable-next-line @typescript-eslint/no-implied-eval -- the worker's own evaluation, in the browser
        const evaluate = new Function('exports', 'module', 'self', 'globalThis', source) as (
          ...args: unknown[]
        ) => void;
        evaluate(module.exports, module, globalThis, globalThis);
        const create = module.exports['createStdoutParser'] as () => {
          parseLine(line: string, ts: string): unknown[];
        };
        const parser = create();
        return lines.flatMap((line) => parser.parseLine(line, ts));
      },
      { source, lines, ts: TS },
    );
    expect(pageErrors).toEqual([]);
    expect(requests).toEqual([]);
    const kinds = (entries as TranscriptEntry[]).map((entry) => entry.kind);
    expect(kinds).toContain('tool_result');
    // Identical to the Node.js result.
    expect(entries).toEqual(transcript('i_subagent_task'));
  }, 60_000);
});
