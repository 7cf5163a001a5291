import {
  DEFAULT_PAPERCLIP_AGENT_PROMPT_TEMPLATE,
  DEFAULT_PAPERCLIP_CONVERSATION_PROMPT_TEMPLATE,
  isPaperclipRecoveryWakePayload,
  joinPromptSections,
  renderPaperclipWakePrompt,
  renderTemplate,
  selectPaperclipTaskMarkdown,
} from '@paperclipai/adapter-utils/server-utils';
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
    expect(prompt.metrics['taskContextChars']).toBe(6);
    expect(notes).toEqual([]);
  });

  it('the run source defaults to on_demand; the bootstrap prompt is for fresh sessions only', () => {
    const plain = createFakeContext({ context: {} });
    const config = { promptTemplate: '{{run.source}}', bootstrapPromptTemplate: 'Bootstrap' };
    expect(buildRunPrompt({ run: plain, config, resumed: false }).prompt.text).toBe('Bootstrap\n\non_demand');
    expect(buildRunPrompt({ run: plain, config, resumed: true }).prompt.text).toBe('on_demand');
  });
});

/**
 * What claude_local 2026.916.1 (`dist/server/execute.js`) sends as its prompt, composed from adapter-utils' exported
 * functions in claude_local's order, with its template data (agent without adapterConfig: see run-prompt.ts).
 */
function claudeLocalPrompt(
  run: ReturnType<typeof createFakeContext>,
  config: { promptTemplate?: string; bootstrapPromptTemplate?: string },
  resumed: boolean,
): string {
  const context = run.context;
  const { adapterConfig: _omitted, ...agent } = run.agent as unknown as Record<string, unknown>;
  const data = {
    agentId: run.agent.id,
    companyId: run.agent.companyId,
    runId: run.runId,
    company: { id: run.agent.companyId },
    agent,
    run: { id: run.runId, source: 'on_demand' },
    context,
  };
  const template =
    config.promptTemplate ??
    (context['conversationMode'] === true
      ? DEFAULT_PAPERCLIP_CONVERSATION_PROMPT_TEMPLATE
      : DEFAULT_PAPERCLIP_AGENT_PROMPT_TEMPLATE);
  const bootstrap =
    !resumed && config.bootstrapPromptTemplate ? renderTemplate(config.bootstrapPromptTemplate, data) : '';
  const task = selectPaperclipTaskMarkdown(context, { resumedSession: resumed });
  const wake = renderPaperclipWakePrompt(context['paperclipWake'], {
    resumedSession: resumed,
    conversationMode: context['conversationMode'] === true,
    suppressIssueDescription: task.length > 0,
  });
  const body =
    (resumed && wake.length > 0) || isPaperclipRecoveryWakePayload(context['paperclipWake'])
      ? ''
      : renderTemplate(template, data);
  const handoff =
    typeof context['paperclipSessionHandoffMarkdown'] === 'string' ? context['paperclipSessionHandoffMarkdown'] : '';
  return joinPromptSections([bootstrap, wake, handoff.trim(), task, body]);
}

const issue = { id: 'iss-1', identifier: 'ENG-7', title: 'Fix the login page', status: 'todo', priority: 'high' };
const taskMarkdown = '# ENG-7 Fix the login page\n\nThe login page returns 500 when the email has a plus sign.';
const taskMarkdownCompact = '# ENG-7 Fix the login page';

/** Wake contexts shaped as Paperclip's heartbeat service sends them. */
const WAKES: Record<string, { context: Record<string, unknown>; mustContain: string[] }> = {
  assignment: {
    context: {
      wakeReason: 'issue_assigned',
      issueId: issue.id,
      paperclipWake: { reason: 'issue_assigned', issue },
      paperclipTaskMarkdown: taskMarkdown,
      paperclipTaskMarkdownCompact: taskMarkdownCompact,
    },
    mustContain: ['plus sign', 'Execution contract:'],
  },
  comment: {
    context: {
      wakeReason: 'issue_commented',
      issueId: issue.id,
      paperclipWake: {
        reason: 'issue_commented',
        issue,
        commentIds: ['cm-1'],
        latestCommentId: 'cm-1',
        comments: [
          {
            id: 'cm-1',
            issueId: issue.id,
            body: 'Please also cover the signup page.',
            bodyTruncated: false,
            createdAt: '2026-12-04T10:00:00.000Z',
            author: { type: 'user', id: 'u1' },
          },
        ],
        commentWindow: { requestedCount: 1, includedCount: 1, missingCount: 0 },
      },
      paperclipTaskMarkdown: taskMarkdown,
      paperclipTaskMarkdownCompact: taskMarkdownCompact,
    },
    mustContain: ['Please also cover the signup page.'],
  },
  approval: {
    context: {
      wakeReason: 'approval_approved',
      approvalId: 'ap-1',
      approvalStatus: 'approved',
      paperclipWake: { reason: 'approval_approved', issue },
      paperclipTaskMarkdown: taskMarkdown,
    },
    mustContain: ['approval_approved'],
  },
  continuationSummary: {
    context: {
      wakeReason: 'issue_continuation_needed',
      paperclipWake: {
        reason: 'issue_continuation_needed',
        issue,
        continuationSummary: {
          key: 'continuation-summary',
          title: 'Continuation summary',
          body: 'Reproduced the bug; next: patch the email validator.',
          bodyTruncated: false,
          updatedAt: '2026-12-04T09:00:00.000Z',
        },
      },
      paperclipTaskMarkdown: taskMarkdown,
      paperclipTaskMarkdownCompact: taskMarkdownCompact,
    },
    mustContain: ['patch the email validator'],
  },
  sessionHandoff: {
    context: {
      wakeReason: 'issue_commented',
      paperclipWake: { reason: 'issue_commented', issue },
      paperclipSessionHandoffMarkdown: '## Session handoff\n\nThe previous session was rotated after 200 turns.',
      paperclipTaskMarkdown: taskMarkdown,
    },
    mustContain: ['rotated after 200 turns'],
  },
  conversationMode: {
    context: {
      conversationMode: true,
      wakeReason: 'issue_commented',
      paperclipWake: { reason: 'issue_commented', issue },
      paperclipTaskMarkdown: '# Chat\n\nChat mode directive: answer the user.',
    },
    mustContain: ['Continue your Paperclip conversation', 'Chat mode directive'],
  },
  noTask: { context: { wakeReason: 'heartbeat_timer' }, mustContain: ['Continue your Paperclip work.'] },
};

describe('buildRunPrompt equals the prompt of claude_local for the same run', () => {
  const agent = { id: 'a1', companyId: 'c1', name: 'Builder', adapterType: 'claude_k8s', adapterConfig: {} };
  const configs = [
    { promptTemplate: undefined, bootstrapPromptTemplate: undefined },
    { promptTemplate: 'Agent {{agent.name}} on {{context.issueId}}', bootstrapPromptTemplate: 'Hello {{agentId}}' },
  ];
  for (const [name, wake] of Object.entries(WAKES))
    for (const resumed of [false, true])
      it(`${name}, ${resumed ? 'resumed' : 'fresh'} session`, () => {
        const run = createFakeContext({ agent, context: wake.context });
        for (const config of configs) {
          const ours = buildRunPrompt({ run, config, resumed }).prompt;
          expect(ours.text).toBe(claudeLocalPrompt(run, config, resumed));
          expect(ours.metrics['promptChars']).toBe(ours.text.length);
        }
        const fresh = buildRunPrompt({ run, config: configs[0]!, resumed: false }).prompt.text;
        for (const text of wake.mustContain) expect(fresh).toContain(text);
      });
});
