import { describe, expect, it } from 'vitest';
import { encodeSseEvent, splitIntoChunks } from './index.ts';

describe('encodeSseEvent', () => {
  it('writes an event line, one data line of JSON and a blank line', () => {
    expect(encodeSseEvent('message_stop', { type: 'message_stop' })).toBe(
      'event: message_stop\ndata: {"type":"message_stop"}\n\n',
    );
  });

  it('keeps newlines inside strings escaped, so the data stays on one line', () => {
    const encoded = encodeSseEvent('content_block_delta', { type: 'content_block_delta', delta: { text: 'a\nb' } });
    expect(encoded.split('\n')).toEqual([
      'event: content_block_delta',
      'data: {"type":"content_block_delta","delta":{"text":"a\\nb"}}',
      '',
      '',
    ]);
  });
});

describe('splitIntoChunks', () => {
  it('splits into pieces of the given size', () => {
    expect(splitIntoChunks('abcdefg', 3)).toEqual(['abc', 'def', 'g']);
  });

  it('gives one empty chunk for empty text', () => {
    expect(splitIntoChunks('', 4)).toEqual(['']);
  });

  it('never splits a surrogate pair', () => {
    const chunks = splitIntoChunks('a😀b😀', 2);
    expect(chunks.join('')).toBe('a😀b😀');
    for (const chunk of chunks) expect(chunk).toBe(Buffer.from(chunk, 'utf8').toString('utf8'));
    expect(chunks).toEqual(['a😀', 'b😀']);
  });
});
