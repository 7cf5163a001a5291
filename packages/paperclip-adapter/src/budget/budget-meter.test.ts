import { readdirSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { createRunAccumulator, parseStream } from '@claude-k8s/stream-json';
import { describe, expect, it } from 'vitest';
import { CHARACTERS_PER_TOKEN, createBudgetMeter, type BudgetLimits } from './budget-meter.ts';
import { FALLBACK_PRICE, priceOf, priceTokens } from './prices.ts';

// The recorded transcripts of the real CLI (the same 40 files as /work/shared/transcripts; stream-json keeps them).
const fixtures = fileURLToPath(new URL('../../../stream-json/src/__fixtures__/', import.meta.url));
const transcripts = readdirSync(fixtures)
  .filter((name) => name.endsWith('.jsonl'))
  .map((name) => ({ name, text: readFileSync(`${fixtures}${name}`, 'utf8') }));

const NO_LIMITS: BudgetLimits = { usd: null, tokens: null, turns: null };

async function summaryOf(text: string) {
  const accumulator = createRunAccumulator();
  for await (const event of parseStream([text])) accumulator.add(event);
  return accumulator.summary();
}

function meterOf(text: string, limits: BudgetLimits = NO_LIMITS, chunkSize = text.length || 1) {
  const meter = createBudgetMeter(limits);
  for (let index = 0; index < text.length; index += chunkSize) meter.push(text.slice(index, index + chunkSize));
  meter.end();
  return meter;
}

function lines(text: string): Record<string, unknown>[] {
  return text
    .split('\n')
    .filter((line) => line.trim().startsWith('{'))
    .map((line) => JSON.parse(line) as Record<string, unknown>);
}

/** The stream cut right before its last `result` line: what the adapter sees of a run stopped by SIGTERM. */
function withoutLastResult(text: string): string {
  const all = text.split('\n');
  const last = all.findLastIndex((line) => line.includes('"type":"result"'));
  return last === -1 ? text : `${all.slice(0, last).join('\n')}\n`;
}

describe('the budget meter on every recorded transcript', () => {
  it('has transcripts to run on', () => {
    expect(transcripts.length).toBeGreaterThanOrEqual(30);
  });

  for (const { name, text } of transcripts) {
    it(`${name}: settles to Claude Code's own per-run figures once the result is read`, async () => {
      const summary = await summaryOf(text);
      const spend = meterOf(text).spend();
      expect(spend.resultCount).toBe(summary.resultCount);
      if (summary.costUsd !== null && summary.resultCount > 0 && summary.usage.inputTokens > 0) {
        expect(spend.costUsd).toBeCloseTo(summary.costUsd, 12);
        expect(spend.usage).toEqual(summary.usage);
        expect(spend.outputEstimated).toBe(false);
        expect(spend.tokens).toBe(
          summary.usage.inputTokens + summary.usage.cacheCreationInputTokens + summary.usage.outputTokens,
        );
      }
      // Turns: distinct main-agent API messages (synthetic API-error messages cost nothing and are not turns).
      const mainIds = new Set(
        lines(text)
          .filter(
            (line) =>
              line['type'] === 'assistant' &&
              line['parent_tool_use_id'] === null &&
              (line['message'] as { model?: string }).model !== '<synthetic>',
          )
          .map((line) => (line['message'] as { id: string }).id),
      );
      expect(spend.turns).toBe(mainIds.size);
    });

    it(`${name}: gives the same figures however the bytes are split`, () => {
      const whole = meterOf(text).spend();
      for (const size of [1, 7, 97, 4096]) expect(meterOf(text, NO_LIMITS, size).spend()).toEqual(whole);
    });

    it(`${name}: cut before its last result (a stopped pod), counts every printed message once`, async () => {
      const summary = await summaryOf(text);
      const cut = meterOf(withoutLastResult(text)).spend();
      const finalUsage = summary.usage;
      const printedMessages = lines(text).some(
        (line) => line['type'] === 'assistant' && (line['message'] as { model?: string }).model !== '<synthetic>',
      );
      if (summary.resultCount === 0 || finalUsage.inputTokens === 0 || !printedMessages) {
        expect(cut.costUsd).toBeGreaterThanOrEqual(0);
        return;
      }
      // message_start usage is final for input and cache tokens: equal to what the result reports, except for a
      // foreground sub-agent's last message, which the CLI does not print without --forward-subagent-text.
      if (name === 'i_subagent_task.jsonl') {
        expect(cut.usage.inputTokens).toBeLessThan(finalUsage.inputTokens);
      } else {
        expect(cut.usage.inputTokens).toBe(finalUsage.inputTokens);
        expect(cut.usage.cacheCreationInputTokens).toBe(finalUsage.cacheCreationInputTokens);
        expect(cut.usage.cacheReadInputTokens).toBe(finalUsage.cacheReadInputTokens);
      }
      expect(cut.usage.outputTokens).toBeGreaterThan(0);
      expect(cut.usage.outputTokens).toBeLessThanOrEqual(finalUsage.outputTokens * 2);
      // With partial messages the real output count arrives in message_delta; otherwise it is an estimate.
      expect(cut.outputEstimated).toBe(!name.startsWith('g_partial_messages') && !name.startsWith('s2_sigint'));
      expect(cut.costUsd).toBeGreaterThan(0);
    });
  }

  it('uses message_delta output tokens when partial messages are on (exact, not estimated)', () => {
    const text = transcripts.find((entry) => entry.name === 'g_partial_messages_tool.jsonl')!.text;
    const cut = meterOf(withoutLastResult(text)).spend();
    expect(cut.outputEstimated).toBe(false);
    expect(cut.usage.outputTokens).toBe(58);
  });

  it('counts a message split over several lines (text + tool_use, same message.id) once', () => {
    const text = transcripts.find((entry) => entry.name === 'b_tool_bash.jsonl')!.text;
    const assistantLines = lines(text).filter((line) => line['type'] === 'assistant');
    const ids = assistantLines.map((line) => (line['message'] as { id: string }).id);
    expect(new Set(ids).size).toBeLessThan(ids.length);
    const cut = meterOf(withoutLastResult(text)).spend();
    expect(cut.turns).toBe(new Set(ids).size);
  });
});

// ------------------------------------------------------------------------------------------------ synthetic streams

function assistant(id: string, usage: Record<string, unknown>, options: { parent?: string; text?: string } = {}) {
  return JSON.stringify({
    type: 'assistant',
    session_id: '11111111-2222-4333-8444-555555555555',
    parent_tool_use_id: options.parent ?? null,
    message: {
      id,
      model: 'claude-sonnet-4-5',
      role: 'assistant',
      content: [{ type: 'text', text: options.text ?? 'x'.repeat(35) }],
      usage: { output_tokens: 1, ...usage },
    },
  });
}

function result(index: number, since: Record<string, Record<string, number>>) {
  return JSON.stringify({
    type: 'result',
    subtype: 'success',
    is_error: false,
    result_index: index,
    session_id: '11111111-2222-4333-8444-555555555555',
    total_cost_usd: 99, // whole session: never what a run spent
    modelUsage: { 'claude-sonnet-4-5': { inputTokens: 1_000_000, outputTokens: 0, costUSD: 99 } },
    model_usage_since_last_result: since,
  });
}

describe('the budget meter on synthetic streams', () => {
  it('adds up several results (a background sub-agent) from their per-result figures, not the session totals', () => {
    const stream = [
      assistant('msg_1', { input_tokens: 100 }),
      result(0, {
        'claude-sonnet-4-5': {
          inputTokens: 100,
          outputTokens: 10,
          cacheReadInputTokens: 0,
          cacheCreationInputTokens: 0,
          costUSD: 0.01,
        },
      }),
      assistant('msg_2', { input_tokens: 200 }, { parent: 'toolu_agent' }),
      assistant('msg_3', { input_tokens: 300 }),
    ];
    const meter = createBudgetMeter(NO_LIMITS);
    meter.push(`${stream.join('\n')}\n`);
    const between = meter.spend();
    // Settled part from the CLI + two pending messages priced by the table (sonnet: $3 in, $15 out per MTok).
    const pendingPrice = priceTokens(
      { inputTokens: 500, outputTokens: 20, cacheCreationInputTokens: 0, cacheReadInputTokens: 0 },
      priceOf('claude-sonnet-4-5').price,
    );
    expect(between.costUsd).toBeCloseTo(0.01 + pendingPrice, 12);
    expect(between.usage.inputTokens).toBe(600);
    expect(between.turns).toBe(2); // the sub-agent's message is not a main-agent turn
    expect(between.outputEstimated).toBe(true);

    meter.push(
      `${result(1, {
        'claude-sonnet-4-5': {
          inputTokens: 500,
          outputTokens: 40,
          cacheReadInputTokens: 7,
          cacheCreationInputTokens: 3,
          costUSD: 0.02,
        },
      })}\n`,
    );
    const settled = meter.spend();
    expect(settled.costUsd).toBeCloseTo(0.03, 12);
    expect(settled.usage).toEqual({
      inputTokens: 600,
      outputTokens: 50,
      cacheCreationInputTokens: 3,
      cacheReadInputTokens: 7,
    });
    expect(settled.outputEstimated).toBe(false);
    expect(settled.resultCount).toBe(2);
  });

  it('prices 1-hour cache writes at their own rate, and cache reads apart from input', () => {
    const line = assistant(
      'msg_1',
      {
        input_tokens: 0,
        cache_creation_input_tokens: 1_000_000,
        cache_read_input_tokens: 1_000_000,
        cache_creation: { ephemeral_5m_input_tokens: 400_000, ephemeral_1h_input_tokens: 600_000 },
      },
      { text: '' },
    );
    const spend = meterOf(`${line}\n`).spend();
    // sonnet: 5m writes $3.75, 1h writes $6, reads $0.30 per MTok; output: the reported 1 token at $15/MTok.
    expect(spend.costUsd).toBeCloseTo(0.4 * 3.75 + 0.6 * 6 + 0.3 + 15 / 1_000_000, 9);
    expect(spend.tokens).toBe(1_000_001); // cache reads are not counted by the token meter
  });

  it('estimates output tokens from the printed content when the stream does not carry them', () => {
    const spend = meterOf(`${assistant('msg_1', { input_tokens: 10 }, { text: 'y'.repeat(70) })}\n`).spend();
    expect(spend.usage.outputTokens).toBe(Math.ceil(70 / CHARACTERS_PER_TOKEN));
    expect(spend.outputEstimated).toBe(true);
  });

  it('ignores the synthetic API-error message (no cost, no turn) and a malformed line', () => {
    const synthetic = JSON.stringify({
      type: 'assistant',
      parent_tool_use_id: null,
      is_api_error_message: true,
      message: { id: 'uuid-1', model: '<synthetic>', content: [{ type: 'text', text: 'API Error' }], usage: {} },
    });
    const spend = meterOf(`${synthetic}\nnot json\n`).spend();
    expect(spend).toMatchObject({ costUsd: 0, tokens: 0, turns: 0 });
  });
});

describe('crossing detection', () => {
  const messages = Array.from({ length: 8 }, (_, index) =>
    assistant(`msg_${index + 1}`, { input_tokens: 100_000 }, { text: '' }),
  );
  // Each message: 100,000 input at $3/MTok + 1 output at $15/MTok.
  const perMessage = 0.3 + 15 / 1_000_000;

  it('reports the crossing once, on the line that crossed, with what was spent', () => {
    const meter = createBudgetMeter({ usd: 1, tokens: null, turns: null });
    const crossings = messages.map((line) => meter.push(`${line}\n`).crossed);
    expect(crossings.slice(0, 3)).toEqual([null, null, null]);
    expect(crossings[3]).toMatchObject({ meter: 'usd', limit: 1, lineNumber: 4 });
    expect(crossings[3]!.spent).toBeCloseTo(4 * perMessage, 9);
    expect(crossings.slice(4)).toEqual([null, null, null, null]);
    expect(meter.crossing()).toEqual(crossings[3]);
  });

  it('reports each quarter of a limit once, before the crossing', () => {
    const meter = createBudgetMeter({ usd: null, tokens: 800_000, turns: null });
    const steps = messages.flatMap((line) => meter.push(`${line}\n`).steps);
    expect(steps.map((step) => step.fraction)).toEqual([0.25, 0.5, 0.75]);
    expect(steps.map((step) => step.spent)).toEqual([200_002, 400_004, 600_006]);
    expect(meter.crossing()).toMatchObject({ meter: 'tokens', limit: 800_000, spent: 800_008, lineNumber: 8 });
  });

  it('stops on turns, and the first meter to cross wins', () => {
    const meter = createBudgetMeter({ usd: 100, tokens: 10_000_000, turns: 3 });
    meter.push(`${messages.join('\n')}\n`);
    expect(meter.crossing()).toMatchObject({ meter: 'turns', limit: 3, spent: 3, lineNumber: 3 });
  });

  it('never crosses without limits, and never on a zero limit', () => {
    const meter = createBudgetMeter({ usd: 0, tokens: null, turns: null });
    const updates = messages.map((line) => meter.push(`${line}\n`));
    expect(updates.every((update) => update.crossed === null && update.steps.length === 0)).toBe(true);
  });

  it('crosses inside a chunk that holds many lines, at the right line', () => {
    const meter = createBudgetMeter({ usd: 0.5, tokens: null, turns: null });
    const update = meter.push(`${messages.join('\n')}\n`);
    expect(update.crossed).toMatchObject({ meter: 'usd', lineNumber: 2 });
    expect(meter.spend().turns).toBe(8); // the meter keeps counting what the pod prints after the crossing
  });
});

describe('the price table', () => {
  it('matches Claude Code to the cent fraction for Sonnet 4.5 (m_model_flag)', () => {
    const text = transcripts.find((entry) => entry.name === 'm_model_flag.jsonl')!.text;
    const last = lines(text).findLast((line) => line['type'] === 'result')!;
    const [model, usage] = Object.entries(last['modelUsage'] as Record<string, Record<string, number>>)[0]!;
    const ours = priceTokens(
      {
        inputTokens: usage['inputTokens']!,
        outputTokens: usage['outputTokens']!,
        cacheCreationInputTokens: usage['cacheCreationInputTokens']!,
        cacheReadInputTokens: usage['cacheReadInputTokens']!,
      },
      priceOf(model).price,
    );
    expect(priceOf(model).source).toBe('table');
    expect(ours).toBeCloseTo(usage['costUSD']!, 12);
  });

  it('is never cheaper than Claude Code on any recorded transcript (the meter stops early, not late)', () => {
    let compared = 0;
    for (const { text } of transcripts) {
      for (const line of lines(text).filter((entry) => entry['type'] === 'result')) {
        const byModel = (line['modelUsage'] ?? {}) as Record<string, Record<string, number>>;
        for (const [model, usage] of Object.entries(byModel)) {
          const ours = priceTokens(
            {
              inputTokens: usage['inputTokens'] ?? 0,
              outputTokens: usage['outputTokens'] ?? 0,
              cacheCreationInputTokens: usage['cacheCreationInputTokens'] ?? 0,
              cacheReadInputTokens: usage['cacheReadInputTokens'] ?? 0,
            },
            priceOf(model).price,
          );
          expect(ours).toBeGreaterThanOrEqual((usage['costUSD'] ?? 0) - 1e-12);
          compared += 1;
        }
      }
    }
    expect(compared).toBeGreaterThan(20);
  });

  it('knows model families, dated ids and Bedrock ids; anything else gets the fallback', () => {
    expect(priceOf('claude-sonnet-4-5-20250929').price.inputPerMTok).toBe(3);
    expect(priceOf('claude-haiku-4-5').price.outputPerMTok).toBe(5);
    expect(priceOf('claude-opus-4-20250514').price.inputPerMTok).toBe(15);
    expect(priceOf('claude-opus-4-1-20250805').price.inputPerMTok).toBe(15);
    expect(priceOf('claude-opus-4-5').price.inputPerMTok).toBe(5);
    expect(priceOf('us.anthropic.claude-sonnet-4-5-20250929-v1:0').source).toBe('table');
    expect(priceOf('my-custom-model-x')).toEqual({ price: FALLBACK_PRICE, source: 'fallback' });
    expect(priceOf(null).source).toBe('fallback');
  });
});
