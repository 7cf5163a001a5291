import { describe, expect, it } from 'vitest';
import { createFakeContext } from '../../test/fakes.ts';
import { buildRunPrompt } from './run-prompt.ts';

describe('buildRunPrompt', () => {
  const run = createFakeContext({
    agent: { id: 'a1', companyId: 'c1', name: 'Builder', adapterType: 'claude_k8s', adapterConfig: { secret: 'x' } },
    context: { paperclipTaskMarkdown: '# Task', wakeSource: 'timer' },
  });

  it('offers agent, company, run and context to the template, never the agent adapterConfig', () => {
    const { prompt, notes } = buildRunPrompt({
      run,
      config: {
        promptTemplate: '{{agent.name}} {{agentId}} {{company.id}} {{run.id}} {{run.source}} [{{agent.adapterConfig}}]',
        bootstrapPromptTemplate: undefined,
      },
      resumed: false,
    });
    expect(prompt.text).toBe(`# Task\n\nBuilder a1 c1 ${run.runId} timer []`);
    expect(prompt.metrics['taskChars']).toBe(6);
    expect(notes).toEqual([]);
  });

  it('the run source defaults to on_demand; the bootstrap prompt is for fresh sessions only', () => {
    const plain = createFakeContext({ context: {} });
    const config = { promptTemplate: '{{run.source}}', bootstrapPromptTemplate: 'Bootstrap' };
    expect(buildRunPrompt({ run: plain, config, resumed: false }).prompt.text).toBe('Bootstrap\n\non_demand');
    expect(buildRunPrompt({ run: plain, config, resumed: true }).prompt.text).toBe('on_demand');
  });
});
