import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { build } from 'esbuild';
import { describe, expect, it } from 'vitest';

const fixtures = join(import.meta.dirname, '__fixtures__');

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
  });
  return result.outputFiles[0]!.text;
}

/** Evaluates the source the way Paperclip's UI worker does: `new Function("exports", "module", "self", "globalThis", source)`. */
function evaluateLikePaperclip(source: string): Record<string, unknown> {
  const exportsObject: Record<string, unknown> = {};
  const moduleObject = { exports: exportsObject };
  // eslint-disable-next-line @typescript-eslint/no-implied-eval, @typescript-eslint/no-unsafe-call -- this is the evaluation under test
  new Function('exports', 'module', 'self', 'globalThis', source)(exportsObject, moduleObject, {}, {});
  return moduleObject.exports;
}

describe('the UI parser classic script', () => {
  it('is a plain script with no import or require, and assigns both functions onto exports', async () => {
    const source = await bundle();
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
    expect(source).not.toMatch(/\brequire\(/);
    const parser = evaluateLikePaperclip(source);
    expect(typeof parser['parseStdoutLine']).toBe('function');
    expect(typeof parser['createStdoutParser']).toBe('function');
  });

  it('maps a real tool-use transcript to init, assistant, tool_call, tool_result and result entries', async () => {
    const parser = evaluateLikePaperclip(await bundle()) as {
      createStdoutParser(): { parseLine(line: string, ts: string): { kind: string; [key: string]: unknown }[] };
    };
    const stateful = parser.createStdoutParser();
    const lines = (await readFile(join(fixtures, 'b_tool_bash.jsonl'), 'utf8'))
      .split('\n')
      .filter((line) => line !== '');
    const entries = lines.flatMap((line) => stateful.parseLine(line, '2026-11-24T00:00:00.000Z'));
    expect(entries.map((entry) => entry.kind)).toEqual([
      'init',
      'assistant',
      'tool_call',
      'tool_result',
      'assistant',
      'result',
    ]);
    expect(entries[2]).toMatchObject({ kind: 'tool_call', name: 'Bash', input: { command: 'echo hello' } });
    expect(entries[3]).toMatchObject({ kind: 'tool_result', content: 'hello', isError: false, toolName: 'Bash' });
    expect(entries[5]).toMatchObject({ kind: 'result', text: 'The tool returned: hello', isError: false });
  });
});
