import { describe, expect, it } from 'vitest';
import { buildPrompt, DEFAULT_PROMPT_TEMPLATE, joinPromptSections, renderTemplate, renderWakePrompt } from './index.ts';

const variables = {
  agentId: 'a1',
  agent: { id: 'a1', name: 'Builder' },
  run: { id: 'r1' },
  context: { issue: { n: 3 } },
};

describe('renderTemplate', () => {
  it('replaces dotted paths, stringifies numbers and objects, blanks missing values', () => {
    expect(
      renderTemplate(
        '{{agent.id}}/{{ agent.name }}/{{context.issue}}/{{context.issue.n}}/{{missing.x}}/{{agentId}}',
        variables,
      ),
    ).toBe('a1/Builder/{"n":3}/3//a1');
  });
  it('leaves text without placeholders alone', () => {
    expect(renderTemplate('no {braces} here {{ }}', variables)).toBe('no {braces} here {{ }}');
  });
});

describe('joinPromptSections', () => {
  it('trims, drops empty sections, joins with a blank line', () => {
    expect(joinPromptSections(['  a ', '', null, undefined, '\nb\n'])).toBe('a\n\nb');
  });
});

describe('renderWakePrompt', () => {
  it('renders reason, issue, comments and the continuation summary', () => {
    const text = renderWakePrompt({
      reason: 'issue_reopened_via_comment',
      issue: { id: 'i1', identifier: 'KST-3', title: 'Fix the build', status: 'in_progress' },
      comments: [
        {
          id: 'c1',
          body: 'Please also update the docs.',
          author: { type: 'user', name: 'Ada' },
          createdAt: '2026-11-24T14:00:00Z',
          bodyTruncated: true,
        },
      ],
      continuationSummary: { body: 'Build fixed; docs pending.' },
    });
    expect(text).toBe(
      [
        '## Paperclip wake',
        '',
        '- Reason: issue_reopened_via_comment',
        '- Issue: KST-3 — Fix the build (status in_progress) [id i1]',
        '',
        '### New comments',
        '',
        '#### Ada at 2026-11-24T14:00:00Z',
        '',
        'Please also update the docs.',
        '(comment truncated)',
        '',
        '### Where the previous run left off',
        '',
        'Build fixed; docs pending.',
      ].join('\n'),
    );
  });
  it('returns an empty string for nothing', () => {
    expect(renderWakePrompt(undefined)).toBe('');
    expect(renderWakePrompt({})).toBe('');
  });
});

describe('buildPrompt', () => {
  const context = {
    wakeReason: 'issue_commented',
    paperclipWake: { reason: 'issue_commented', comments: [{ body: 'ping', author: { name: 'Ada' } }] },
    paperclipTaskMarkdown: '# Full task',
    paperclipTaskMarkdownCompact: '# Compact task',
    paperclipContinuationSummary: 'Handed off from run 1.',
  };

  it('fresh session: bootstrap, wake, hand-off, full task, agent template, in that order', () => {
    const prompt = buildPrompt({
      resumed: false,
      promptTemplate: 'I am {{agent.name}}.',
      bootstrapPromptTemplate: 'Hello {{agent.id}}.',
      variables,
      context,
    });
    expect(prompt.text).toBe(
      [
        'Hello a1.',
        renderWakePrompt(context.paperclipWake),
        'Handed off from run 1.',
        '# Full task',
        'I am Builder.',
      ].join('\n\n'),
    );
    expect(prompt.metrics).toMatchObject({
      bootstrapChars: 9,
      taskChars: 11,
      agentPromptChars: 13,
      totalChars: prompt.text.length,
    });
  });

  it('resumed session with a wake: no bootstrap, compact task, no agent template', () => {
    const prompt = buildPrompt({
      resumed: true,
      promptTemplate: 'I am {{agent.name}}.',
      bootstrapPromptTemplate: 'Hello.',
      variables,
      context,
    });
    expect(prompt.text).toBe(
      [renderWakePrompt(context.paperclipWake), 'Handed off from run 1.', '# Compact task'].join('\n\n'),
    );
  });

  it('resumed session woken by an assignment keeps the full task', () => {
    const prompt = buildPrompt({
      resumed: true,
      promptTemplate: undefined,
      bootstrapPromptTemplate: undefined,
      variables,
      context: { ...context, wakeReason: 'issue_assigned' },
    });
    expect(prompt.text).toContain('# Full task');
  });

  it('uses the default template when none is configured', () => {
    const prompt = buildPrompt({
      resumed: false,
      promptTemplate: undefined,
      bootstrapPromptTemplate: undefined,
      variables,
      context: {},
    });
    expect(prompt.text).toBe(renderTemplate(DEFAULT_PROMPT_TEMPLATE, variables));
    expect(prompt.text).toContain('Builder (id a1)');
  });
});
