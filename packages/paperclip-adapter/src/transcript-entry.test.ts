import { describe, expect, it } from 'vitest';
import { parseLine } from '@claude-k8s/stream-json';
import { createStdoutParser, parseStdoutLine, stderrTranscriptEntry, toTranscriptEntries } from './transcript-entry.ts';
import { TOOL_RUN_KINDS, TS, fixtureLines, transcript } from '../test/transcript-fixtures.ts';

describe('transcript entries', () => {
  it('maps a tool run to init, assistant, tool_call, tool_result (named) and result', () => {
    const entries = transcript('b_tool_bash');
    expect(entries.map((entry) => entry.kind)).toEqual(TOOL_RUN_KINDS);
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

  it('never throws on cut, mutated or odd lines (the fuzz test stream-json ran on this mapping before it moved)', () => {
    const names = ['b_tool_bash', 'i_subagent_task', 'e_api_error_529', 'g_partial_messages_tool', 'k_unicode'];
    const odd = ['null', '[]', '{}', '{"type":"result","usage":5,"errors":{}}', '{"type":"assistant","message":[]}'];
    const parser = createStdoutParser();
    let lines = 0;
    for (const line of [...names.flatMap(fixtureLines), ...odd]) {
      for (let cut = 0; cut <= 8; cut++) {
        const prefix = line.slice(0, Math.floor((line.length * cut) / 8));
        const mutated = prefix.replaceAll('"', cut % 2 === 0 ? '"' : "'");
        expect(Array.isArray(parser.parseLine(mutated, TS))).toBe(true);
        expect(Array.isArray(parseStdoutLine(prefix, TS))).toBe(true);
        lines++;
      }
    }
    expect(lines).toBeGreaterThan(100);
  });

  it('reset forgets tool names', () => {
    const parser = createStdoutParser();
    const lines = fixtureLines('b_tool_bash');
    parser.parseLine(lines[2] ?? '', TS);
    parser.reset();
    expect(parser.parseLine(lines[3] ?? '', TS)[0]).not.toHaveProperty('toolName');
  });
});
