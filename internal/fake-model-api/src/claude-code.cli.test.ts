// The real Claude Code CLI (pinned, installed by scripts/ensure-claude-cli.sh in the globalSetup) against the fake.
// Behaviour asserted here matches the captured transcripts in /work/shared/transcripts (see the README table).
import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, inject, it } from 'vitest';
import {
  computeInputTokens,
  createFakeModelApi,
  DEFAULT_TEXT,
  type FakeModelApi,
  type FakeRequestRecord,
  type RequestOutcome,
} from './index.ts';
import { runClaude, type ClaudeRun } from './test/run-claude.ts';

const claudePath = inject('claudeCliPath');

/** The usage the CLI should report: the sum over the requests whose `message_start` it counted. */
function sumUsage(
  records: readonly FakeRequestRecord[],
  outcomes: readonly RequestOutcome[] = ['completed'],
): Record<string, number> {
  const counted = records.filter(
    (record) => record.usage !== undefined && record.outcome !== undefined && outcomes.includes(record.outcome),
  );
  const sum = (
    key: 'input_tokens' | 'output_tokens' | 'cache_creation_input_tokens' | 'cache_read_input_tokens',
  ): number => counted.reduce((total, record) => total + (record.usage?.[key] ?? 0), 0);
  return {
    input_tokens: sum('input_tokens'),
    output_tokens: sum('output_tokens'),
    cache_creation_input_tokens: sum('cache_creation_input_tokens'),
    cache_read_input_tokens: sum('cache_read_input_tokens'),
  };
}

function linesOf(run: ClaudeRun, type: string, subtype?: string): Record<string, unknown>[] {
  return run.lines.filter((line) => line['type'] === type && (subtype === undefined || line['subtype'] === subtype));
}

function assistantContent(run: ClaudeRun): Record<string, unknown>[] {
  return linesOf(run, 'assistant').flatMap(
    (line) => (line['message'] as { content: Record<string, unknown>[] }).content,
  );
}

function run(
  api: FakeModelApi,
  prompt: string,
  options: { args?: string[]; env?: Record<string, string> } = {},
): Promise<ClaudeRun> {
  return runClaude({ claudePath, baseUrl: api.url, prompt, ...options });
}

function expectOnlyMessagesRequests(api: FakeModelApi): void {
  for (const record of api.requests) {
    expect(record.method).toBe('POST');
    expect(record.path).toBe('/v1/messages?beta=true');
  }
}

describe('the real Claude Code CLI against the fake', { timeout: 90_000 }, () => {
  it('[[text]]: init, assistant, result/success; exit 0; usage from the formula', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Say hello [[text]]');
    expect(result.code, result.stderr).toBe(0);
    expect(
      result.lines.map((line) => `${line['type'] as string}/${(line['subtype'] as string | undefined) ?? ''}`),
    ).toEqual(['system/init', 'assistant/', 'result/success']);
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: DEFAULT_TEXT,
      num_turns: 1,
      stop_reason: 'end_turn',
    });
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests));
    expectOnlyMessagesRequests(api);
    expect(api.requests).toHaveLength(1);
    const record = api.requests[0];
    expect(record?.streaming).toBe(true);
    expect(record?.headers['anthropic-version']).toBe('2023-06-01');
    expect(record?.headers['user-agent']).toContain('claude-cli/2.1.331');
    expect(record?.headers['x-api-key']).toBe('[redacted]');
    expect(record?.usage?.input_tokens).toBe(computeInputTokens((record?.body as { messages: unknown }).messages));
  });

  it('[[bash:echo hello]] with IS_SANDBOX=1 --dangerously-skip-permissions: runs the tool, quotes its output; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Run echo hello [[bash:echo hello]]', {
      args: ['--dangerously-skip-permissions'],
      env: { IS_SANDBOX: '1' },
    });
    expect(result.code, result.stderr).toBe(0);
    expect(linesOf(result, 'system', 'init')[0]?.['permissionMode']).toBe('bypassPermissions');
    const toolUse = assistantContent(result).find((block) => block['type'] === 'tool_use');
    expect(toolUse).toMatchObject({ name: 'Bash', input: { command: 'echo hello' } });
    const toolResult = linesOf(result, 'user').flatMap(
      (line) => (line['message'] as { content: Record<string, unknown>[] }).content,
    )[0];
    expect(toolResult).toMatchObject({
      type: 'tool_result',
      tool_use_id: toolUse?.['id'],
      content: 'hello',
      is_error: false,
    });
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: 'The tool returned: hello',
      num_turns: 2,
    });
    expect(api.requests).toHaveLength(2);
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests));
    expectOnlyMessagesRequests(api);
  });

  it('[[err:401]] with CLAUDE_CODE_MAX_RETRIES=0: synthetic error message, result success + is_error; exit 1', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Hello [[err:401]]', { env: { CLAUDE_CODE_MAX_RETRIES: '0' } });
    expect(result.code).toBe(1);
    const assistant = linesOf(result, 'assistant')[0];
    expect(assistant).toMatchObject({
      is_api_error_message: true,
      error: 'authentication_failed',
      api_error_status: 401,
    });
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: true,
      terminal_reason: 'api_error',
      api_error_status: 401,
      api_error_type: 'authentication_error',
      result: 'Invalid API key · Fix external API key',
      total_cost_usd: 0,
    });
    expect(result.result?.['usage']).toMatchObject({ input_tokens: 0, output_tokens: 0 });
    expect(api.requests).toHaveLength(1);
  });

  it('[[err:529]] with CLAUDE_CODE_MAX_RETRIES=2: two api_retry lines, then an overloaded API error; exit 1', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Hello [[err:529]]', { env: { CLAUDE_CODE_MAX_RETRIES: '2' } });
    expect(result.code).toBe(1);
    const retries = linesOf(result, 'system', 'api_retry');
    expect(retries.map((line) => [line['attempt'], line['error_status'], line['error']])).toEqual([
      [1, 529, 'overloaded'],
      [2, 529, 'overloaded'],
    ]);
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: true,
      api_error_status: 529,
      api_error_type: 'overloaded_error',
      terminal_reason: 'api_error',
    });
    expect(String(result.result?.['result'])).toContain('Repeated 529 Overloaded errors');
    expect(api.requests).toHaveLength(3);
  });

  it('[[long:2000]]: the whole answer in one assistant line and in result.result; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Print 2000 lines [[long:2000]]');
    expect(result.code, result.stderr).toBe(0);
    const lines = String(result.result?.['result']).split('\n');
    expect(lines).toHaveLength(2000);
    expect(lines[1999]).toBe('line 2000');
    expect(linesOf(result, 'assistant')).toHaveLength(1);
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests));
  });

  it('[[thinking]]: a thinking line then a text line, thinking_tokens estimates; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'What is 2+2? [[thinking]]');
    expect(result.code, result.stderr).toBe(0);
    expect(assistantContent(result).map((block) => block['type'])).toEqual(['thinking', 'text']);
    expect(linesOf(result, 'system', 'thinking_tokens').length).toBeGreaterThan(0);
    expect(result.result).toMatchObject({ subtype: 'success', is_error: false, result: '2 + 2 = 4.' });
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests));
  });

  it('[[cut]] with CLAUDE_CODE_MAX_RETRIES=2: the CLI retries the cut stream, then recovers without streaming; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Hello [[cut]]', { env: { CLAUDE_CODE_MAX_RETRIES: '2' } });
    expect(result.code, result.stderr).toBe(0);
    expect(linesOf(result, 'system', 'api_retry').map((line) => [line['error_status'], line['error']])).toEqual([
      [null, 'unknown'],
      [null, 'unknown'],
    ]);
    expect(api.requests.map((record) => [record.streaming, record.outcome])).toEqual([
      [true, 'cut'],
      [true, 'cut'],
      [true, 'cut'],
      [false, 'completed'],
    ]);
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: 'Recovered after the cut stream.',
    });
    // Counted: every cut stream's message_start usage (output_tokens 1 each) plus the non-streaming answer.
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests, ['completed', 'cut']));
  });

  it('[[sseerror]]: the SSE error is not shown, the non-streaming retry answers; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Hello [[sseerror]]', { env: { CLAUDE_CODE_MAX_RETRIES: '1' } });
    expect(result.code, result.stderr).toBe(0);
    expect(result.stdout).not.toContain('must never be shown');
    expect(api.requests.map((record) => [record.streaming, record.outcome])).toEqual([
      [true, 'sse-error'],
      [false, 'completed'],
    ]);
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: false,
      result: 'Recovered without streaming.',
    });
    // Unlike a cut stream, the errored stream's message_start usage is counted too.
    expect(result.result?.['usage']).toMatchObject(sumUsage(api.requests, ['completed', 'sse-error']));
  });

  it('[[sseerror:529]]: the non-streaming retry fails too, reported as an API error (as in the transcript); exit 1', async () => {
    await using api = await createFakeModelApi();
    const result = await run(api, 'Hello [[sseerror:529]]', { env: { CLAUDE_CODE_MAX_RETRIES: '1' } });
    expect(result.code).toBe(1);
    expect(result.result).toMatchObject({
      subtype: 'success',
      is_error: true,
      api_error_status: 529,
      terminal_reason: 'api_error',
    });
    expect(result.stdout).not.toContain('must never be shown');
  });

  async function runSlowAndSignal(api: FakeModelApi, signal: NodeJS.Signals): Promise<ClaudeRun> {
    let kill: ((name: NodeJS.Signals) => void) | undefined;
    const running = runClaude({
      claudePath,
      baseUrl: api.url,
      prompt: 'Stream slowly [[slow:30]]',
      args: ['--include-partial-messages'],
      onSpawn: (send) => (kill = send),
    });
    await expect
      .poll(() => api.requests.some((record) => record.status === 200 && record.scenario?.name === 'slow'), {
        timeout: 30_000,
        interval: 50,
      })
      .toBe(true);
    await sleep(1000);
    kill?.(signal);
    return running;
  }

  it('[[slow:30]] + SIGINT: partial assistant line marked aborted, result error_during_execution; exit 0', async () => {
    await using api = await createFakeModelApi();
    const result = await runSlowAndSignal(api, 'SIGINT');
    expect(result.code, result.stderr).toBe(0);
    expect(linesOf(result, 'stream_event').length).toBeGreaterThan(3);
    expect(linesOf(result, 'assistant').at(-1)).toMatchObject({ aborted: true });
    expect(result.result).toMatchObject({
      subtype: 'error_during_execution',
      is_error: true,
      terminal_reason: 'aborted_streaming',
    });
    expect(result.lines.at(-1)?.['type']).toBe('result');
    await expect.poll(() => api.requests[0]?.outcome).toBe('client-closed');
  });

  it('[[slow:30]] + SIGTERM: output stops without a result line; killed by the signal', async () => {
    await using api = await createFakeModelApi();
    const result = await runSlowAndSignal(api, 'SIGTERM');
    expect(
      result.signal === 'SIGTERM' || result.code === 143,
      `code ${String(result.code)} signal ${String(result.signal)}`,
    ).toBe(true);
    expect(result.result).toBeUndefined();
    expect(linesOf(result, 'stream_event').length).toBeGreaterThan(3);
  });
});
