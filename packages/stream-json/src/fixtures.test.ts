import { chunksOf, toAsyncIterable } from '@claude-k8s/test-utils';
import { describe, expect, it } from 'vitest';
import type { RunFailureCode } from './classify-run.ts';
import { parseStream } from './create-stream-parser.ts';
import { createFormatter } from './format-event.ts';
import { summarizeRun } from './run-accumulator.ts';
import type { StreamEvent } from './stream-event.ts';
import {
  FIXTURE_NAMES,
  fixtureBytes,
  fixtureStderr,
  parseChunks,
  shortenLongStrings,
} from '../test/fixture-helpers.ts';

interface Expected {
  sessionId: string | null;
  isError: boolean;
  numTurns: number | null;
  /** `total_cost_usd` of the last result (session-cumulative). */
  totalCostUsd: number | null;
  /** This run's cost (`model_usage_since_last_result`), or null when the file lacks it. */
  costUsd: number | null;
  /** [input, output, cache creation, cache read] for this run. */
  usage: [number, number, number, number];
  failure: RunFailureCode | null;
}

// Read off the .jsonl files by hand (the last `result` line; usage from model_usage_since_last_result when present,
// else from `usage`).
const EXPECTED: Record<string, Expected> = {
  a_plain_text: {
    sessionId: '0b84e97d-3abb-4507-9c93-d061ff77aec6',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011791999999999999,
    costUsd: 0.011791999999999999,
    usage: [2538, 22, 120, 3000],
    failure: null,
  },
  b0_skip_permissions_as_root_refused: {
    sessionId: null,
    isError: true,
    numTurns: null,
    totalCostUsd: null,
    costUsd: null,
    usage: [0, 0, 0, 0],
    failure: 'argument-error',
  },
  b_tool_bash: {
    sessionId: '815e2b32-396e-49a0-9ee0-872a053976f8',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.025212,
    costUsd: 0.025212,
    usage: [5413, 58, 240, 6000],
    failure: null,
  },
  c2_write_permission_denied: {
    sessionId: '0283fd66-7533-4e93-8ee8-a990c56a1f1f',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.024744000000000002,
    costUsd: 0.024744000000000002,
    usage: [5191, 79, 240, 6000],
    failure: null,
  },
  c_tool_bash_readonly_autoallowed: {
    sessionId: '77072ea9-8754-41eb-b656-6dd660610c93',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.024216,
    costUsd: 0.024216,
    usage: [5164, 58, 240, 6000],
    failure: null,
  },
  c_tool_permission_denied: {
    sessionId: 'c8d61c92-f9bb-4df0-9819-933f9a8553b4',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.025568,
    costUsd: 0.025568,
    usage: [5232, 112, 240, 6000],
    failure: null,
  },
  d_max_turns: {
    sessionId: 'a51e19b5-efff-4e9f-ab0f-c5b07aeb4f96',
    isError: true,
    numTurns: 2,
    totalCostUsd: 0.012496,
    costUsd: 0.012496,
    usage: [2664, 32, 120, 3000],
    failure: 'max-turns',
  },
  e_api_error_400: {
    sessionId: '9e61dce6-e639-4d81-ad97-3ef378bf8a4d',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'api-error',
  },
  e_api_error_401: {
    sessionId: '2213c880-057c-44e9-b9ea-246bf44d5ada',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'authentication',
  },
  e_api_error_500: {
    sessionId: '31209360-5b2e-4def-8b11-daad096957a1',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'transient-upstream',
  },
  e_api_error_529: {
    sessionId: 'ce57750e-cc05-44e0-897a-b78729fe9251',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'overloaded',
  },
  e_sse_error_midstream: {
    sessionId: '71cec8c2-0a64-454a-8fd9-8f8461a24f5a',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [2538, 1, 120, 3000],
    failure: 'overloaded',
  },
  f_resume_1_first: {
    sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011595999999999999,
    costUsd: 0.011595999999999999,
    usage: [2544, 11, 120, 3000],
    failure: null,
  },
  f_resume_2_second: {
    sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.023351999999999998,
    costUsd: 0.011755999999999999,
    usage: [2584, 11, 120, 3000],
    failure: null,
  },
  f_resume_3_unknown_id: {
    sessionId: '00000000-0000-4000-8000-000000000000',
    isError: true,
    numTurns: 0,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'unknown-session',
  },
  f_resume_4_unknown_name: {
    sessionId: 'b64fd15e-15f1-4f07-bba8-5a91b544523b',
    isError: true,
    numTurns: 0,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'unknown-session',
  },
  f_resume_5_continue: {
    sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.035244,
    costUsd: 0.011892,
    usage: [2618, 11, 120, 3000],
    failure: null,
  },
  g2_thinking: {
    sessionId: '253f5bc6-e4e8-472e-a67b-9a5412636406',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.012336,
    costUsd: 0.012336,
    usage: [2539, 49, 120, 3000],
    failure: null,
  },
  g_partial_messages_thinking: {
    sessionId: 'afc32991-f34e-46ff-864f-2d02dfd197ce',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.012336,
    costUsd: 0.012336,
    usage: [2539, 49, 120, 3000],
    failure: null,
  },
  g_partial_messages_tool: {
    sessionId: '790acb10-373a-424b-b65a-1d5df70eb0ce',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.025212,
    costUsd: 0.025212,
    usage: [5413, 58, 240, 6000],
    failure: null,
  },
  h_prompt_on_stdin: {
    sessionId: '45885e9a-4033-45d7-89ae-2e143d90424e',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011595999999999999,
    costUsd: 0.011595999999999999,
    usage: [2544, 11, 120, 3000],
    failure: null,
  },
  i2_subagent_task_forward_text: {
    sessionId: '57583be0-2b6b-48d0-a9ba-453403529771',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.05046799999999999,
    costUsd: 0.05046799999999999,
    usage: [10507, 182, 480, 12000],
    failure: null,
  },
  i_subagent_task: {
    sessionId: 'cc1dde0e-d815-48f5-ae80-265495025b87',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.05046799999999999,
    costUsd: 0.05046799999999999,
    usage: [10507, 182, 480, 12000],
    failure: null,
  },
  j_long_output_5000_lines: {
    sessionId: '73a6f243-957e-4835-b712-f412939e7142',
    isError: false,
    numTurns: 1,
    totalCostUsd: 1.6059639999999997,
    costUsd: 1.6059639999999997,
    usage: [2541, 79730, 120, 3000],
    failure: null,
  },
  k_unicode: {
    sessionId: 'cf9370be-ab10-44fd-a683-5eb016a03948',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.01234,
    costUsd: 0.01234,
    usage: [2540, 49, 120, 3000],
    failure: null,
  },
  l2_output_format_json_error: {
    sessionId: '76797f77-897d-4a52-ae6b-cc8f74937886',
    isError: true,
    numTurns: 1,
    totalCostUsd: 0,
    costUsd: 0,
    usage: [0, 0, 0, 0],
    failure: 'authentication',
  },
  l3_output_format_text: {
    sessionId: null,
    isError: true,
    numTurns: null,
    totalCostUsd: null,
    costUsd: null,
    usage: [0, 0, 0, 0],
    failure: 'truncated-stream',
  },
  l_output_format_json: {
    sessionId: '2788f40a-8c4a-45b0-949f-5136a4f2ca63',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011791999999999999,
    costUsd: null,
    usage: [2538, 22, 120, 3000],
    failure: null,
  },
  m2_model_unknown_id: {
    sessionId: '56dc355a-3497-4ae6-96bf-b04f2dc88991',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011671999999999998,
    costUsd: 0.011671999999999998,
    usage: [2508, 22, 120, 3000],
    failure: null,
  },
  m_model_flag: {
    sessionId: 'b397e82c-753f-4cb8-9c6c-bb15f43d2385',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.009795000000000002,
    costUsd: 0.009795000000000002,
    usage: [2705, 22, 120, 3000],
    failure: null,
  },
  n2_bash_failing_command: {
    sessionId: 'c026ae61-29dd-4ec9-b6f0-a8d938bded5a',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.025759999999999998,
    costUsd: 0.025759999999999998,
    usage: [5440, 80, 240, 6000],
    failure: null,
  },
  n_read_tool: {
    sessionId: '6cea8fab-b9ce-40cf-bc71-593190dc26a0',
    isError: false,
    numTurns: 2,
    totalCostUsd: 0.024808,
    costUsd: 0.024808,
    usage: [5392, 42, 240, 6000],
    failure: null,
  },
  o_no_verbose_error: {
    sessionId: null,
    isError: true,
    numTurns: null,
    totalCostUsd: null,
    costUsd: null,
    usage: [0, 0, 0, 0],
    failure: 'argument-error',
  },
  p_plain_text_default_env: {
    sessionId: 'c5db8a4a-1aa4-44f0-8d9b-5639c29f8e33',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011803999999999999,
    costUsd: 0.011803999999999999,
    usage: [2541, 22, 120, 3000],
    failure: null,
  },
  q_input_format_stream_json: {
    sessionId: 'ff5eba45-ccf4-4855-9612-3e6e36cc92ba',
    isError: false,
    numTurns: 1,
    totalCostUsd: 0.011628,
    costUsd: 0.011628,
    usage: [2542, 13, 120, 3000],
    failure: null,
  },
  s2_sigint_midstream: {
    sessionId: 'dd1d2524-2971-481a-9769-1a0c5697de38',
    isError: true,
    numTurns: 2,
    totalCostUsd: 0.01152,
    costUsd: 0.01152,
    usage: [2540, 8, 120, 3000],
    failure: 'aborted',
  },
};

describe('fixture replay', () => {
  it('has an expectation for every fixture', () => {
    expect(Object.keys(EXPECTED).sort()).toEqual(FIXTURE_NAMES);
  });

  describe.each(FIXTURE_NAMES)('%s', (name) => {
    const bytes = fixtureBytes(name);
    const events = parseChunks([bytes]);

    it('streams the same events from 4 KiB chunks through parseStream', async () => {
      const streamed: StreamEvent[] = [];
      for await (const event of parseStream(toAsyncIterable(chunksOf(bytes, 4096)))) streamed.push(event);
      expect(streamed).toEqual(events);
    });

    it('matches the events snapshot', async () => {
      await expect(`${JSON.stringify(shortenLongStrings(events), null, 1)}\n`).toMatchFileSnapshot(
        `__snapshots__/events/${name}.json`,
      );
    });

    it('matches the formatted-text snapshot', async () => {
      const formatter = createFormatter({ width: 100 });
      const summary = summarizeRun(events, { stderr: fixtureStderr(name) });
      const text = events.map((event) => formatter.format(event)).join('') + formatter.formatSummary(summary);
      await expect(
        text.length > 20_000 ? `${text.slice(0, 10_000)}\n…[${text.length} chars]\n${text.slice(-5_000)}` : text,
      ).toMatchFileSnapshot(`__snapshots__/formatted/${name}.txt`);
    });

    it('summarises to the figures read off the file', () => {
      const expected = EXPECTED[name];
      if (expected === undefined) throw new Error(`no expectation for ${name}`);
      const summary = summarizeRun(events, { stderr: fixtureStderr(name) });
      expect(summary.sessionId).toBe(expected.sessionId);
      expect(summary.isError).toBe(expected.isError);
      expect(summary.numTurns).toBe(expected.numTurns);
      expect(summary.sessionCumulative.totalCostUsd).toBe(expected.totalCostUsd);
      if (expected.costUsd === null) expect(summary.costUsd).toBeNull();
      else expect(summary.costUsd).toBeCloseTo(expected.costUsd, 12);
      const [inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens] = expected.usage;
      expect(summary.usage).toEqual({ inputTokens, outputTokens, cacheCreationInputTokens, cacheReadInputTokens });
      expect(summary.usageBasis).toBe('per_run');
      expect(summary.failure?.code ?? null).toBe(expected.failure);
      expect(summary.status).toBe(expected.failure === null ? 'succeeded' : 'failed');
      if (summary.failure !== null) expect(summary.failure.hint.length).toBeGreaterThan(10);
    });
  });
});

describe('fixture details', () => {
  const summaryOf = (name: string) => summarizeRun(parseChunks([fixtureBytes(name)]), { stderr: fixtureStderr(name) });

  it('keeps session-cumulative figures apart from per-run ones after --resume', () => {
    const second = summaryOf('f_resume_2_second');
    expect(second.usage.inputTokens).toBe(2584);
    expect(second.sessionCumulative.usage).toEqual({
      inputTokens: 5128,
      outputTokens: 22,
      cacheCreationInputTokens: 240,
      cacheReadInputTokens: 6000,
    });
    expect(second.sessionCumulative.modelUsage?.['claude-opus-5-5']?.costUsd).toBe(0.023351999999999998);
    expect(second.resultUsage).toEqual({
      inputTokens: 2584,
      outputTokens: 11,
      cacheCreationInputTokens: 120,
      cacheReadInputTokens: 3000,
    });
  });

  it('counts sub-agent usage in the run but not in the printed main-agent usage', () => {
    const summary = summaryOf('i_subagent_task');
    expect(summary.resultUsage?.inputTokens).toBe(5624);
    expect(summary.usage.inputTokens).toBe(10507);
    expect(summary.usageByModel['claude-opus-5-5']?.costUsd).toBe(0.05046799999999999);
  });

  it('takes usage from modelUsage when SIGINT zeroes result.usage', () => {
    const summary = summaryOf('s2_sigint_midstream');
    expect(summary.resultUsage).toEqual({
      inputTokens: 0,
      outputTokens: 0,
      cacheCreationInputTokens: 0,
      cacheReadInputTokens: 0,
    });
    expect(summary.terminalReason).toBe('aborted_streaming');
    expect(summary.errors).toEqual(['[ede_diagnostic] result_type=user last_content_type=n/a stop_reason=null']);
    expect(summary.summary).toBe('This answer arrives slowl');
  });

  it('reports API errors with status, type and the synthetic message text', () => {
    const summary = summaryOf('e_api_error_529');
    expect(summary.apiErrorStatus).toBe(529);
    expect(summary.apiErrorType).toBe('overloaded_error');
    expect(summary.apiRetryCount).toBe(2);
    expect(summary.failure).toMatchObject({ code: 'overloaded', retryable: true, httpStatus: 529 });
    expect(summary.apiErrors[0]?.text).toMatch(/^API Error: Repeated 529 Overloaded errors/);
    expect(summaryOf('e_api_error_401').apiRetryCount).toBe(10);
    expect(summaryOf('e_api_error_400').failure).toMatchObject({
      code: 'api-error',
      httpStatus: 400,
      message: 'API Error: 400 messages: scripted bad request',
    });
  });

  it('reports max turns, denials, models and the summary text', () => {
    const maxTurns = summaryOf('d_max_turns');
    expect(maxTurns.resultText).toBeNull();
    expect(maxTurns.failure?.message).toBe('Reached maximum number of turns (1)');
    const denied = summaryOf('c_tool_permission_denied');
    expect(denied.permissionDenials).toEqual([
      {
        toolName: 'Bash',
        toolUseId: 'toolu_012z_tEwg70Ut6gNA_us17m9',
        toolInput: { command: 'touch created-by-bash.txt', description: 'Print hello' },
      },
    ]);
    expect(summaryOf('m_model_flag').models).toEqual(['claude-sonnet-4-5-20250929']);
    expect(summaryOf('m2_model_unknown_id').model).toBe('my-custom-model-x');
    expect(summaryOf('b_tool_bash').summary).toBe('The tool returned: hello');
    expect(summaryOf('f_resume_3_unknown_id').failure?.message).toBe(
      'No conversation found with session ID: 00000000-0000-4000-8000-000000000000',
    );
    expect(summaryOf('b0_skip_permissions_as_root_refused').failure?.message).toBe(
      '--dangerously-skip-permissions cannot be used with root/sudo privileges for security reasons',
    );
  });

  it('reports the plain-text output format as a parse error, never as a run', () => {
    const events = parseChunks([fixtureBytes('l3_output_format_text')]);
    expect(events).toEqual([
      {
        type: 'parse-error',
        lineNumber: 1,
        reason: 'invalid-json',
        line: expect.any(String) as string,
        message: expect.any(String) as string,
      },
    ]);
  });

  it('keeps raw UTF-8 and \\u escapes exact', () => {
    const text = parseChunks([fixtureBytes('k_unicode')]).find((event) => event.type === 'text');
    expect(text?.type === 'text' && text.text).toContain('👨‍👩‍👧‍👦');
    expect(text?.type === 'text' && text.text).toContain('\u200b');
  });
});
