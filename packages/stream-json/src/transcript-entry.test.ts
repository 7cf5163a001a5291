import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import {
  createStdoutParser,
  parseStdoutLine,
  stderrTranscriptEntry,
  toTranscriptEntries,
  parseLine,
  type TranscriptEntry,
} from '@claude-k8s/stream-json';
import { buildBundles } from '../test/build-bundles.ts';
import { fixtureBytes } from '../test/fixture-helpers.ts';

const TS = '2026-11-24T14:06:48.451Z';

function fixtureLines(name: string): string[] {
  return new TextDecoder()
    .decode(fixtureBytes(name))
    .split('\n')
    .filter((line) => line.trim().length > 0);
}

function transcript(name: string, parser = createStdoutParser()): TranscriptEntry[] {
  return fixtureLines(name).flatMap((line) => parser.parseLine(line, TS));
}

describe('transcript entries', () => {
  it('maps a tool run to init, assistant, tool_call, tool_result (named) and result', () => {
    const entries = transcript('b_tool_bash');
    expect(entries.map((entry) => entry.kind)).toEqual([
      'init',
      'assistant',
      'tool_call',
      'tool_result',
      'assistant',
      'result',
    ]);
    expect(entries[0]).toEqual({
      kind: 'init',
      ts: TS,
      model: 'claude-opus-5-5',
      sessionId: '815e2b32-396e-49a0-9ee0-872a053976f8',
    });
    expect(entries[2]).toEqual({
      kind: 'tool_call',
      ts: TS,
      name: 'Bash',
      input: { command: 'echo hello', description: 'Print hello' },
      toolUseId: 'toolu_01Srcq4I0hjjdVhNn4gKxEMe',
    });
    expect(entries[3]).toEqual({
      kind: 'tool_result',
      ts: TS,
      toolUseId: 'toolu_01Srcq4I0hjjdVhNn4gKxEMe',
      toolName: 'Bash',
      content: 'hello',
      isError: false,
    });
    expect(entries[5]).toEqual({
      kind: 'result',
      ts: TS,
      text: 'The tool returned: hello',
      inputTokens: 5413 + 240,
      outputTokens: 58,
      cachedTokens: 6000,
      costUsd: 0.025212,
      subtype: 'success',
      isError: false,
      errors: [],
    });
  });

  it('maps thinking, errors, retries, denials and sub-agent tasks', () => {
    expect(transcript('g2_thinking').filter((entry) => entry.kind === 'thinking')).toHaveLength(1);
    expect(transcript('e_api_error_529').map((entry) => entry.kind)).toEqual([
      'init',
      'system',
      'system',
      'system',
      'result',
    ]);
    expect(
      transcript('c_tool_permission_denied').some(
        (entry) => entry.kind === 'system' && entry.text.startsWith('Permission denied: Bash'),
      ),
    ).toBe(true);
    const result = transcript('d_max_turns').at(-1);
    expect(result).toMatchObject({
      kind: 'result',
      isError: true,
      subtype: 'error_max_turns',
      errors: ['Reached maximum number of turns (1)'],
      text: 'Reached maximum number of turns (1)',
    });
    expect(transcript('i_subagent_task').filter((entry) => entry.kind === 'system').length).toBeGreaterThanOrEqual(4);
    // Partial messages add no duplicate text.
    expect(transcript('g_partial_messages_tool').filter((entry) => entry.kind === 'assistant')).toHaveLength(2);
  });

  it('shows unparsable lines as stdout and never throws', () => {
    expect(parseStdoutLine('Hello there', TS)).toEqual([{ kind: 'stdout', ts: TS, text: 'Hello there' }]);
    expect(parseStdoutLine('', TS)).toEqual([]);
    expect(parseStdoutLine('{"type":"mystery"}', TS)).toEqual([{ kind: 'stdout', ts: TS, text: '{"type":"mystery"}' }]);
  });

  it('stateless mapping leaves toolName out; stderr entries', () => {
    const [event] = parseLine(fixtureLines('b_tool_bash')[3] ?? '');
    expect(event && toTranscriptEntries(event, TS)).toEqual([
      { kind: 'tool_result', ts: TS, toolUseId: 'toolu_01Srcq4I0hjjdVhNn4gKxEMe', content: 'hello', isError: false },
    ]);
    expect(stderrTranscriptEntry('boom', TS)).toEqual({ kind: 'stderr', ts: TS, text: 'boom' });
  });

  it('reset forgets tool names', () => {
    const parser = createStdoutParser();
    const lines = fixtureLines('b_tool_bash');
    parser.parseLine(lines[2] ?? '', TS);
    parser.reset();
    expect(parser.parseLine(lines[3] ?? '', TS)[0]).not.toHaveProperty('toolName');
  });
});

describe('classic-script UI parser bundle (Paperclip UI worker form, spec §4.2)', () => {
  it('is a plain script that assigns parseStdoutLine and createStdoutParser when evaluated like the worker does', async () => {
    await using bundles = await buildBundles();
    const source = readFileSync(bundles.uiParserPath, 'utf8');
    expect(source).not.toMatch(/^\s*(import|export)\s/m);
    expect(source).not.toMatch(/\brequire\(/);
    // The worker: new Function("exports","module","self","globalThis", source), with network APIs removed.
    const module: { exports: Record<string, unknown> } = { exports: {} };
    const sandbox = Object.freeze({
      fetch: undefined,
      XMLHttpRequest: undefined,
      WebSocket: undefined,
      importScripts: undefined,
    });
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- evaluating the bundle exactly as Paperclip's UI worker does is the point
    const evaluate = new Function('exports', 'module', 'self', 'globalThis', source) as (...args: unknown[]) => void;
    evaluate(module.exports, module, sandbox, sandbox);
    const parse = module.exports['parseStdoutLine'] as typeof parseStdoutLine;
    const create = module.exports['createStdoutParser'] as typeof createStdoutParser;
    expect(typeof parse).toBe('function');
    expect(typeof create).toBe('function');
    // Same answers as the source module, for every line of every tool fixture.
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

  it('also works when only `exports` is given', async () => {
    await using bundles = await buildBundles();
    const exportsObject: Record<string, unknown> = {};
    const source = readFileSync(bundles.uiParserPath, 'utf8');
    // eslint-disable-next-line @typescript-eslint/no-implied-eval -- as above
    const evaluate = new Function('exports', 'module', 'self', 'globalThis', source) as (...args: unknown[]) => void;
    evaluate(exportsObject, undefined, {}, {});
    expect(typeof exportsObject['parseStdoutLine']).toBe('function');
  });
});
