/**
 * The prompt of a run: the template variables Paperclip's run offers (agent, company, run, wake context), rendered by
 * {@link buildPrompt} (the compact form when the session is resumed).
 */
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';
import type { AdapterConfig } from '../config-schema.ts';
import { buildPrompt, type BuiltPrompt } from '../prompt.ts';
import { readText } from '../raw-values.ts';

/** The prompt of a run. */
export interface RunPrompt {
  prompt: BuiltPrompt;
  notes: string[];
}

/** Input of {@link buildRunPrompt}. */
export interface RunPromptInput {
  run: Pick<AdapterExecutionContext, 'runId' | 'agent' | 'context'>;
  config: Pick<AdapterConfig, 'promptTemplate' | 'bootstrapPromptTemplate'>;
  resumed: boolean;
}

/** Builds the prompt; the agent's `adapterConfig` is left out of the template variables. */
export function buildRunPrompt(input: RunPromptInput): RunPrompt {
  const { run } = input;
  const { adapterConfig: _adapterConfig, ...agentFacts } = run.agent as unknown as Record<string, unknown>;
  const variables: Record<string, unknown> = {
    agentId: run.agent.id,
    companyId: run.agent.companyId,
    runId: run.runId,
    agent: agentFacts,
    company: { id: run.agent.companyId },
    run: { id: run.runId, source: readText(run.context['wakeSource']) ?? 'on_demand' },
    context: run.context,
  };
  const prompt = buildPrompt({
    resumed: input.resumed,
    promptTemplate: input.config.promptTemplate,
    bootstrapPromptTemplate: input.config.bootstrapPromptTemplate,
    variables,
    context: run.context,
  });
  return { prompt, notes: [] };
}
