import { describe, expect, it } from 'vitest';
import { RUN_FAILURE_CLASSES, type RunFailureCode } from './classify-run.ts';
import { createStreamParser } from './create-stream-parser.ts';
import { summarizeRun } from './run-accumulator.ts';
import { fixtureBytes } from '../test/fixture-helpers.ts';

/** The lines of a fixture as objects. */
function lines(name: string): Record<string, unknown>[] {
  return new TextDecoder()
    .decode(fixtureBytes(name))
    .split('\n')
    .filter((line) => line.length > 0)
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

function summarize(objects: object[], options?: Parameters<typeof summarizeRun>[1]) {
  const parser = createStreamParser();
  const events = [...parser.push(objects.map((object) => `${JSON.stringify(object)}\n`).join('')), ...parser.end()];
  return summarizeRun(events, options);
}

/** The a_plain_text run with its result line patched. */
function withResult(patch: Record<string, unknown>) {
  const [init, assistant, result] = lines('a_plain_text');
  return summarize([init!, assistant!, { ...result, ...patch }]);
}

describe('classifyRun (cases described by the spec but not captured as files)', () => {
  it('budget exhausted: error_max_budget_usd with zero usage but modelUsage figures', () => {
    const [init, , result] = lines('a_plain_text');
    const summary = summarize([
      init!,
      {
        ...result,
        subtype: 'error_max_budget_usd',
        is_error: true,
        result: undefined,
        terminal_reason: 'budget_exhausted',
        errors: ['Reached maximum budget ($0.01)'],
        usage: { input_tokens: 0, output_tokens: 0, cache_creation_input_tokens: 0, cache_read_input_tokens: 0 },
      },
    ]);
    expect(summary.failure).toMatchObject({ code: 'budget-exhausted', message: 'Reached maximum budget ($0.01)' });
    expect(summary.usage.inputTokens).toBe(2538);
  });

  it('SIGTERM: output stops mid-stream with no result', () => {
    const partial = lines('s2_sigint_midstream').slice(0, 6);
    expect(summarize(partial).failure?.code).toBe('truncated-stream');
    expect(summarize(partial, { signal: 'SIGTERM' }).failure?.code).toBe('aborted');
    expect(summarize(partial, { exitCode: 143 }).failure?.code).toBe('aborted');
    expect(summarize(partial).summary).toBeNull();
  });

  it('two results (background sub-agent): the last one is final and usage adds up', () => {
    const [init, assistant, result] = lines('a_plain_text');
    const first = { ...result, result_index: 0, is_error: true, subtype: 'success', terminal_reason: 'api_error' };
    const second = { ...result, result_index: 1, result: 'second answer', origin: { kind: 'task-notification' } };
    const summary = summarize([init!, assistant!, first, init!, assistant!, second]);
    expect(summary.resultCount).toBe(2);
    expect(summary.status).toBe('succeeded');
    expect(summary.summary).toBe('second answer');
    expect(summary.usage.inputTokens).toBe(2 * 2538);
    expect(summary.costUsd).toBeCloseTo(2 * 0.011791999999999999, 12);
    expect(summary.sessionIds).toHaveLength(1);
  });

  it.each<[string, Record<string, unknown>, RunFailureCode]>([
    [
      'rate limit',
      {
        is_error: true,
        terminal_reason: 'api_error',
        api_error_status: 429,
        api_error_type: 'rate_limit_error',
        result: 'API Error: 429 rate limited',
      },
      'rate-limited',
    ],
    ['usage limit text', { is_error: true, result: 'Claude AI usage limit reached|1760000000' }, 'rate-limited'],
    [
      'context too long',
      {
        is_error: true,
        terminal_reason: 'api_error',
        api_error_status: 400,
        result: 'API Error: 400 prompt is too long: 210000 tokens > 200000 maximum',
      },
      'context-too-long',
    ],
    ['refusal stop reason', { is_error: true, stop_reason: 'refusal', result: '' }, 'refusal'],
    [
      '403 permission',
      { is_error: true, api_error_status: 403, api_error_type: 'permission_error', result: 'API Error: 403' },
      'authentication',
    ],
    [
      'model not found',
      {
        is_error: true,
        api_error_status: 404,
        api_error_type: 'not_found_error',
        result: 'API Error: 404 model: claude-x not found',
      },
      'model-not-found',
    ],
    [
      'connection error',
      { is_error: true, terminal_reason: 'api_error', result: 'API Error: Connection error.' },
      'transient-upstream',
    ],
    ['503', { is_error: true, api_error_status: 503, result: 'API Error: 503' }, 'transient-upstream'],
    [
      'execution error',
      {
        is_error: true,
        subtype: 'error_during_execution',
        errors: ['something broke'],
        result: undefined,
        terminal_reason: undefined,
      },
      'execution-error',
    ],
    [
      'unrecognised',
      { is_error: true, subtype: 'error_new_kind', result: undefined, terminal_reason: undefined },
      'unknown',
    ],
  ])('%s', (_label, patch, code) => {
    const summary = withResult(patch);
    expect(summary.failure?.code).toBe(code);
    expect(summary.failure?.hint).toBe(RUN_FAILURE_CLASSES[code].hint);
  });

  it('argument error: no JSON on stdout, one stderr line; auth problems on stderr stay auth', () => {
    expect(summarize([], { stderr: 'Error: unknown option --bogus\n' }).failure).toMatchObject({
      code: 'argument-error',
      message: 'Error: unknown option --bogus',
    });
    expect(summarize([], { stderr: 'Invalid API key · Please run /login\n' }).failure?.code).toBe('authentication');
    expect(summarize([]).failure?.code).toBe('truncated-stream');
  });

  it('permission denials are not failures', () => {
    expect(
      withResult({ permission_denials: [{ tool_name: 'Bash', tool_use_id: 't', tool_input: { command: 'rm x' } }] })
        .failure,
    ).toBeNull();
  });

  it('every class has a kebab-case code and a one-line hint', () => {
    for (const [code, entry] of Object.entries(RUN_FAILURE_CLASSES)) {
      expect(code).toMatch(/^[a-z]+(-[a-z]+)*$/);
      expect(entry.hint).not.toContain('\n');
    }
  });
});
