/**
 * The prompt of a run, rendered by `@paperclipai/adapter-utils`' own functions in the order claude_local uses:
 * bootstrap (fresh sessions only), wake prompt, session hand-off markdown, task markdown, agent template (left out on a
 * resumed session with a wake to report, and on a recovery wake). See docs/decisions/paperclip-prompt-rendering.md.
 */
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';
import {
  DEFAULT_PAPERCLIP_AGENT_PROMPT_TEMPLATE,
  DEFAULT_PAPERCLIP_CONVERSATION_PROMPT_TEMPLATE,
  isPaperclipRecoveryWakePayload,
  joinPromptSections,
  renderPaperclipWakePrompt,
  renderTemplate,
  selectPaperclipTaskMarkdown,
} from '@paperclipai/adapter-utils/server-utils';
import type { AdapterConfig } from '../config-schema.ts';
import { readText } from '../raw-values.ts';

/** The prompt text and its size per section (characters, claude_local's `promptMetrics` names). */
export interface BuiltPrompt {
  text: string;
  metrics: Record<string, number>;
}

/** The prompt of a run. */
export interface RunPrompt {
  prompt: BuiltPrompt;
  notes: string[];
}

/** Input of {@link buildRunPrompt}. */
export interface RunPromptInput {
  run: Pick<AdapterExecutionContext, 'runId' | 'agent' | 'context'>;
  config: Pick<AdapterConfig, 'promptTemplate' | 'bootstrapPromptTemplate'>;
  /** True when the run resumes a stored Claude session. */
  resumed: boolean;
}

/** The agent template claude_local uses when `promptTemplate` is unset: the conversation one in conversation mode. */
function defaultPromptTemplate(context: Record<string, unknown>): string {
  return context['conversationMode'] === true
    ? DEFAULT_PAPERCLIP_CONVERSATION_PROMPT_TEMPLATE
    : DEFAULT_PAPERCLIP_AGENT_PROMPT_TEMPLATE;
}

/**
 * Builds the prompt. Template variables are claude_local's (`agentId`, `companyId`, `runId`, `company`, `agent`, `run`,
 * `context`) with two differences: the agent's `adapterConfig` is left out (it may hold env values), and `run.source` is
 * the wake source when Paperclip gives one (claude_local always says `on_demand`, the default here too).
 */
export function buildRunPrompt(input: RunPromptInput): RunPrompt {
  const { run, resumed } = input;
  const context = run.context;
  const { adapterConfig: _adapterConfig, ...agentFacts } = run.agent as unknown as Record<string, unknown>;
  const templateData: Record<string, unknown> = {
    agentId: run.agent.id,
    companyId: run.agent.companyId,
    runId: run.runId,
    company: { id: run.agent.companyId },
    agent: agentFacts,
    run: { id: run.runId, source: readText(context['wakeSource']) ?? 'on_demand' },
    context,
  };
  const bootstrapTemplate = input.config.bootstrapPromptTemplate ?? '';
  const bootstrap =
    !resumed && bootstrapTemplate.trim().length > 0 ? renderTemplate(bootstrapTemplate, templateData).trim() : '';
  const task = selectPaperclipTaskMarkdown(context, { resumedSession: resumed });
  const wake = renderPaperclipWakePrompt(context['paperclipWake'], {
    resumedSession: resumed,
    conversationMode: context['conversationMode'] === true,
    suppressIssueDescription: task.length > 0,
  });
  const omitTemplate = (resumed && wake.length > 0) || isPaperclipRecoveryWakePayload(context['paperclipWake']);
  const agentPrompt = omitTemplate
    ? ''
    : renderTemplate(
        input.config.promptTemplate === undefined || input.config.promptTemplate === ''
          ? defaultPromptTemplate(context)
          : input.config.promptTemplate,
        templateData,
      );
  const handoff = (readText(context['paperclipSessionHandoffMarkdown']) ?? '').trim();
  const text = joinPromptSections([bootstrap, wake, handoff, task, agentPrompt]);
  const metrics = {
    promptChars: text.length,
    bootstrapPromptChars: bootstrap.length,
    wakePromptChars: wake.length,
    sessionHandoffChars: handoff.length,
    taskContextChars: task.length,
    heartbeatPromptChars: agentPrompt.length,
  };
  return { prompt: { text, metrics }, notes: [] };
}
