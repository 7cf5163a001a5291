import { toAsyncIterable } from '@claude-k8s/test-utils';
import { describe, expect, it } from 'vitest';
import { createStreamParser, parseLine, parseLineStrict, parseStream } from './create-stream-parser.ts';
import { createLineSplitter } from './line-splitter.ts';
import type { StreamEvent } from './stream-event.ts';
import { StreamJsonError, StreamParseError } from './stream-json-error.ts';

const encoder = new TextEncoder();
const init = '{"type":"system","subtype":"init","session_id":"s1","model":"m1"}';

async function collect(source: Parameters<typeof parseStream>[0]): Promise<StreamEvent[]> {
  const events: StreamEvent[] = [];
  for await (const event of parseStream(source)) events.push(event);
  return events;
}

describe('createLineSplitter', () => {
  it('carries partial lines and split multibyte characters, strips CR', () => {
    const splitter = createLineSplitter();
    const lines: string[] = [];
    const bytes = encoder.encode('a😀b\r\nc');
    splitter.push(bytes.subarray(0, 3), (line) => lines.push(line));
    splitter.push(bytes.subarray(3, 7), (line) => lines.push(line));
    splitter.push(bytes.subarray(7), (line) => lines.push(line));
    expect(lines).toEqual(['a😀b']);
    expect(splitter.end((line) => lines.push(line))).toBe('c');
  });

  it('copies a carried partial line, so a caller may reuse its buffer after push', () => {
    const splitter = createLineSplitter();
    const lines: string[] = [];
    const buffer = new Uint8Array(8);
    buffer.set(encoder.encode('ab\ncd'));
    splitter.push(buffer.subarray(0, 5), (line) => lines.push(line));
    buffer.set(encoder.encode('ef\n'));
    splitter.push(buffer.subarray(0, 3), (line) => lines.push(line));
    expect(lines).toEqual(['ab', 'cdef']);
  });

  it('drops a byte-order mark at the start of the input only', () => {
    const splitter = createLineSplitter();
    const lines: string[] = [];
    splitter.push(new Uint8Array([0xef, 0xbb, 0xbf, 0x61, 0x0a, 0xef, 0xbb, 0xbf, 0x62, 0x0a]), (line) =>
      lines.push(line),
    );
    expect(lines).toEqual(['a', '\ufeffb']);
  });

  it('keeps bytes and text in order when they alternate, a split character becoming U+FFFD', () => {
    const splitter = createLineSplitter();
    const lines: string[] = [];
    const smile = encoder.encode('😀');
    splitter.push(encoder.encode('a'), (line) => lines.push(line));
    splitter.push('b', (line) => lines.push(line));
    splitter.push(smile.subarray(0, 2), (line) => lines.push(line));
    splitter.push('c\nd', (line) => lines.push(line));
    splitter.push(encoder.encode('e\n'), (line) => lines.push(line));
    expect(lines).toEqual(['ab\ufffdc', 'de']);
  });

  it('returns undefined at the end when the input ended with a newline', () => {
    const splitter = createLineSplitter();
    splitter.push('x\n', () => undefined);
    expect(splitter.end(() => undefined)).toBeUndefined();
  });
});

describe('createStreamParser', () => {
  it('numbers lines and reports malformed ones with the raw text', () => {
    const parser = createStreamParser();
    const events = [...parser.push(`${init}\nnot json\n[1]\n\n{"type":"result","is_error":false}\n`), ...parser.end()];
    expect(events.map((event) => [event.type, event.lineNumber])).toEqual([
      ['session-init', 1],
      ['parse-error', 2],
      ['parse-error', 3],
      ['result', 5],
    ]);
    expect(events[1]).toMatchObject({ reason: 'invalid-json', line: 'not json' });
    expect(events[2]).toMatchObject({ reason: 'not-an-object', line: '[1]' });
    expect(parser.parseErrorCount).toBe(2);
  });

  it('reports a final line without newline at end of input: parsed when complete, truncated otherwise', () => {
    const complete = createStreamParser();
    expect(complete.push(init)).toEqual([]);
    expect(complete.end()).toMatchObject([{ type: 'session-init', lineNumber: 1 }]);
    const cut = createStreamParser();
    expect(cut.push(`${init}\n{"type":"assis`)).toHaveLength(1);
    expect(cut.end()).toMatchObject([
      { type: 'parse-error', lineNumber: 2, reason: 'truncated', line: '{"type":"assis' },
    ]);
  });

  it('delivers events to onEvent as lines complete (push/end then return nothing)', () => {
    const seen: string[] = [];
    const parser = createStreamParser({ onEvent: (event) => seen.push(`${event.type}@${event.lineNumber}`) });
    expect(parser.push(`${init}\nbad\n{"type":"result"}`)).toEqual([]);
    expect(seen).toEqual(['session-init@1', 'parse-error@2']);
    expect(parser.end()).toEqual([]);
    expect(seen).toEqual(['session-init@1', 'parse-error@2', 'result@3']);
  });

  it('passes unknown types, subtypes and content blocks through', () => {
    const events = [
      ...parseLine('{"type":"hook_event","x":1}'),
      ...parseLine('{"type":"system","subtype":"brand_new"}'),
      ...parseLine(
        '{"type":"assistant","message":{"content":[{"type":"server_tool_use","id":"a"},{"type":"text","text":"hi"}]}}',
      ),
      ...parseLine('{"no_type":true}'),
      ...parseLine('{"type":"assistant"}'),
    ];
    expect(events.map((event) => event.type)).toEqual([
      'unknown-message',
      'unknown-message',
      'unknown-content',
      'text',
      'unknown-message',
      'unknown-message',
    ]);
    expect(events[0]).toMatchObject({ messageType: 'hook_event', value: { type: 'hook_event', x: 1 } });
    expect(events[2]).toMatchObject({ role: 'assistant', blockType: 'server_tool_use' });
  });

  it('maps stream_event deltas', () => {
    const line = (delta: object) =>
      JSON.stringify({
        type: 'stream_event',
        event: { type: 'content_block_delta', index: 0, delta },
        parent_tool_use_id: null,
        api_message_id: 'msg',
      });
    expect(parseLine(line({ type: 'text_delta', text: 'he' }))).toMatchObject([
      { type: 'text-delta', text: 'he', index: 0, messageId: 'msg' },
    ]);
    expect(parseLine(line({ type: 'thinking_delta', thinking: 'hm' }))).toMatchObject([
      { type: 'thinking-delta', text: 'hm' },
    ]);
    expect(parseLine(line({ type: 'input_json_delta', partial_json: '{"a' }))).toMatchObject([
      { type: 'tool-input-delta', partialJson: '{"a' },
    ]);
    expect(parseLine(line({ type: 'signature_delta', signature: 'x' }))).toMatchObject([
      { type: 'stream-event', eventType: 'content_block_delta' },
    ]);
  });
});

describe('parseStream', () => {
  it('accepts async iterables, sync iterables and web ReadableStreams', async () => {
    const text = `${init}\n{"type":"result","is_error":false}\n`;
    const expected = await collect([text]);
    expect(expected.map((event) => event.type)).toEqual(['session-init', 'result']);
    expect(await collect(toAsyncIterable([encoder.encode(text.slice(0, 10)), text.slice(10)]))).toEqual(expected);
    const stream = new ReadableStream<Uint8Array>({
      start(controller) {
        controller.enqueue(encoder.encode(text.slice(0, 7)));
        controller.enqueue(encoder.encode(text.slice(7)));
        controller.close();
      },
    });
    expect(await collect(stream)).toEqual(expected);
    expect(await collect(text)).toEqual(expected);
  });
});

describe('errors', () => {
  it('parseLineStrict throws a StreamParseError with line number and raw text', () => {
    expect(() => parseLineStrict('oops', 7)).toThrow(StreamParseError);
    try {
      parseLineStrict('oops', 7);
    } catch (error) {
      expect(StreamJsonError.isInstance(error)).toBe(true);
      expect(error).toMatchObject({ name: 'StreamParseError', lineNumber: 7, line: 'oops' });
    }
    expect(parseLineStrict(init)).toHaveLength(1);
  });

  it('isInstance recognises the marker from another copy and rejects look-alikes', () => {
    const foreign = Object.assign(new Error('x'), { [Symbol.for('claude-k8s.stream-json.error')]: true });
    expect(StreamJsonError.isInstance(foreign)).toBe(true);
    expect(StreamJsonError.isInstance(new Error('x'))).toBe(false);
    expect(StreamJsonError.isInstance(null)).toBe(false);
  });
});
