import { describe, expect, it } from 'vitest';
import {
  computeInputTokens,
  computeOutputTokens,
  findMarker,
  findRequestMarker,
  parseScenarioSpec,
  readToolResults,
} from './index.ts';

describe('findMarker', () => {
  it('finds a bare marker and one with an argument', () => {
    expect(findMarker('Say hello [[text]]')).toEqual({ name: 'text', argument: undefined });
    expect(findMarker('Run [[bash:echo hello]] now')).toEqual({ name: 'bash', argument: 'echo hello' });
    expect(findMarker('[[text:custom words: with colon]]')).toEqual({
      name: 'text',
      argument: 'custom words: with colon',
    });
  });

  it('takes the last marker of the text', () => {
    expect(findMarker('[[text]] then [[err:529]]')).toEqual({ name: 'err', argument: '529' });
  });

  it('ignores text without a marker', () => {
    expect(findMarker('no marker [here] [[ ]] [[Upper]]')).toBeUndefined();
  });
});

describe('findRequestMarker', () => {
  it('reads string content and text blocks of the latest user message with a marker, skipping tool results', () => {
    const messages = [
      {
        role: 'user',
        content: [
          { type: 'text', text: '<system-reminder>x</system-reminder>' },
          { type: 'text', text: 'Run [[bash:echo hi]]' },
        ],
      },
      { role: 'assistant', content: [{ type: 'tool_use', id: 't1', name: 'Bash', input: { command: 'echo hi' } }] },
      { role: 'user', content: [{ type: 'tool_result', tool_use_id: 't1', content: 'output mentioning [[err:500]]' }] },
    ];
    expect(findRequestMarker(messages)).toEqual({ name: 'bash', argument: 'echo hi' });
    expect(findRequestMarker([{ role: 'user', content: 'plain [[long:5]]' }])).toEqual({ name: 'long', argument: '5' });
    expect(findRequestMarker([{ role: 'assistant', content: '[[text]]' }])).toBeUndefined();
    expect(findRequestMarker('not an array')).toBeUndefined();
  });
});

describe('readToolResults', () => {
  it('reads string and text-block tool results of the last user message', () => {
    const messages = [
      { role: 'user', content: 'go' },
      {
        role: 'user',
        content: [
          { type: 'tool_result', tool_use_id: 'a', content: 'hello', is_error: false },
          {
            type: 'tool_result',
            tool_use_id: 'b',
            content: [
              { type: 'text', text: 'one' },
              { type: 'text', text: 'two' },
            ],
            is_error: true,
          },
          { type: 'text', text: 'reminder' },
        ],
      },
    ];
    expect(readToolResults(messages)).toEqual([
      { toolUseId: 'a', text: 'hello', isError: false },
      { toolUseId: 'b', text: 'one\ntwo', isError: true },
    ]);
    expect(readToolResults([{ role: 'user', content: 'go' }])).toEqual([]);
  });

  it("skips the system messages the CLI appends after the tool results (a run's budget)", () => {
    const results = [{ type: 'tool_result', tool_use_id: 'a', content: 'hello', is_error: false }];
    const budget = { role: 'system', content: [{ type: 'text', text: 'USD budget: $0.02/$1; $0.98 remaining' }] };
    expect(readToolResults([{ role: 'user', content: 'go' }, { role: 'user', content: results }, budget])).toEqual([
      { toolUseId: 'a', text: 'hello', isError: false },
    ]);
    // A system message after a plain prompt: still no tool results.
    expect(readToolResults([{ role: 'user', content: 'go' }, budget])).toEqual([]);
  });
});

describe('parseScenarioSpec', () => {
  it('splits at the first colon', () => {
    expect(parseScenarioSpec('err:429:2')).toEqual({ name: 'err', argument: '429:2' });
    expect(parseScenarioSpec('thinking')).toEqual({ name: 'thinking', argument: undefined });
  });
});

describe('usage formula', () => {
  it('counts input tokens as ceil(JSON length of messages / 4)', () => {
    const messages = [{ role: 'user', content: 'Say hello [[text]]' }];
    expect(computeInputTokens(messages)).toBe(Math.ceil(JSON.stringify(messages).length / 4));
    expect(computeInputTokens(undefined)).toBe(1); // "[]" is 2 characters
  });

  it('counts output tokens over text, thinking and tool input, at least 1', () => {
    expect(computeOutputTokens([{ type: 'text', text: 'abcdefghi' }])).toBe(3);
    expect(
      computeOutputTokens([
        { type: 'thinking', thinking: 'abcd', signature: 'ignored' },
        { type: 'tool_use', name: 'Bash', input: { a: 1 } },
      ]),
    ).toBe(3);
    expect(computeOutputTokens([{ type: 'text', text: '' }])).toBe(1);
  });
});
