/**
 * The prompt of a run: small template renderer, the wake prompt and the section order of Paperclip's CLI lane
 * (bootstrap on fresh sessions, wake, hand-off note, task markdown, agent template). Own equivalents of the
 * adapter-utils helpers, so the published package has no runtime dependency on Paperclip (see
 * docs/decisions/adapter-own-prompt-helpers.md).
 */
import { isRecord, readText as text } from './raw-values.ts';

/** The agent template used when `promptTemplate` is empty. */
export const DEFAULT_PROMPT_TEMPLATE = [
  'You are the Paperclip agent {{agent.name}} (id {{agent.id}}), working on run {{run.id}} inside an isolated Kubernetes pod.',
  '',
  'How to work:',
  '- Do the work this wake asks for now; a plan alone is not a result unless planning was requested.',
  '- Talk to Paperclip through its API at $PAPERCLIP_API_URL with the header "Authorization: Bearer $PAPERCLIP_API_KEY" (or the Paperclip MCP tools when present).',
  '- Record progress as issue comments or documents, and before you finish set the issue to a clear state: done, in_review with a real reviewer, or blocked with the owner and action that unblocks it.',
  '- Keep temporary files in $PAPERCLIP_RUN_SCRATCH_DIR. Files elsewhere under $HOME survive only when a session volume is configured.',
  '- Stay within your budget, approvals and company boundaries.',
].join('\n');

function lookup(data: Record<string, unknown>, path: string): string {
  let cursor: unknown = data;
  for (const part of path.split('.')) {
    if (!isRecord(cursor)) return '';
    cursor = cursor[part];
  }
  if (cursor === undefined || cursor === null) return '';
  if (typeof cursor === 'string') return cursor;
  if (typeof cursor === 'number' || typeof cursor === 'boolean') return String(cursor);
  try {
    return JSON.stringify(cursor);
  } catch {
    return '';
  }
}

/**
 * Replaces `{{ dotted.path }}` with the value at that path of `data` (strings as is, numbers and booleans as text,
 * objects as JSON, missing values as an empty string). No logic, no escaping, no partials.
 */
export function renderTemplate(template: string, data: Record<string, unknown>): string {
  return template.replace(/\{\{\s*([A-Za-z0-9_.-]+)\s*\}\}/g, (_match, path: string) => lookup(data, path));
}

/** Trims each section, drops empty ones and joins the rest with a blank line. */
export function joinPromptSections(sections: readonly (string | null | undefined)[]): string {
  return sections
    .map((section) => (typeof section === 'string' ? section.trim() : ''))
    .filter((section) => section !== '')
    .join('\n\n');
}

/**
 * Renders Paperclip's structured wake payload (`context.paperclipWake`) as a markdown section: the reason, the
 * issue, new comments and the continuation summary. The complete payload also reaches the pod as
 * `PAPERCLIP_WAKE_PAYLOAD_JSON`. Returns `''` when there is nothing to say.
 */
export function renderWakePrompt(wake: unknown): string {
  if (!isRecord(wake)) return '';
  const lines: string[] = [];
  const reason = text(wake['reason']);
  if (reason !== null) lines.push(`- Reason: ${reason}`);
  const issue = isRecord(wake['issue']) ? wake['issue'] : null;
  if (issue !== null) {
    const title = [text(issue['identifier']), text(issue['title'])].filter(Boolean).join(' — ');
    const status = text(issue['status']);
    const id = text(issue['id']);
    if (title || id)
      lines.push(
        `- Issue: ${title || id}${status === null ? '' : ` (status ${status})`}${id !== null && title ? ` [id ${id}]` : ''}`,
      );
  }
  const sections: string[] = [];
  if (lines.length > 0) sections.push(lines.join('\n'));
  const comments = Array.isArray(wake['comments']) ? wake['comments'].filter(isRecord) : [];
  if (comments.length > 0) {
    const rendered = comments.map((comment) => {
      const author = isRecord(comment['author'])
        ? (text(comment['author']['name']) ?? text(comment['author']['type']) ?? 'someone')
        : 'someone';
      const when = text(comment['createdAt']);
      const body = text(comment['body']) ?? '';
      const truncated = comment['bodyTruncated'] === true ? '\n(comment truncated)' : '';
      return `#### ${author}${when === null ? '' : ` at ${when}`}\n\n${body}${truncated}`;
    });
    sections.push(`### New comments\n\n${rendered.join('\n\n')}`);
  }
  const continuation = isRecord(wake['continuationSummary']) ? wake['continuationSummary'] : null;
  const continuationBody = continuation === null ? null : text(continuation['body']);
  if (continuationBody !== null) sections.push(`### Where the previous run left off\n\n${continuationBody}`);
  if (sections.length === 0) return '';
  return `## Paperclip wake\n\n${sections.join('\n\n')}`;
}

/** What {@link buildPrompt} needs. */
export interface PromptInput {
  /** True when the run resumes a stored Claude session. */
  resumed: boolean;
  promptTemplate: string | undefined;
  bootstrapPromptTemplate: string | undefined;
  /** Variables of the templates. */
  variables: Record<string, unknown>;
  /** `ctx.context` of the run. */
  context: Record<string, unknown>;
}

/** The prompt text and its size per section (characters), for `onMeta.promptMetrics`. */
export interface BuiltPrompt {
  text: string;
  metrics: Record<string, number>;
}

const ASSIGNMENT_REASONS = /^(issue_assigned|issue_reassigned|assignment|issue_created)/;

/**
 * Builds the prompt: bootstrap (fresh sessions only), wake, hand-off note, task markdown (the compact form on a
 * resumed session woken by something other than an assignment), and the agent template (left out on a resumed
 * session that has a wake to report, because the session already holds it).
 */
export function buildPrompt(input: PromptInput): BuiltPrompt {
  const { context, resumed } = input;
  const bootstrap =
    !resumed && input.bootstrapPromptTemplate !== undefined
      ? renderTemplate(input.bootstrapPromptTemplate, input.variables)
      : '';
  const wake = renderWakePrompt(context['paperclipWake']);
  const handoff = text(context['paperclipContinuationSummary']) ?? '';
  const wakeReason =
    text(context['wakeReason']) ??
    (isRecord(context['paperclipWake']) ? text(context['paperclipWake']['reason']) : null) ??
    '';
  const fullTask = text(context['paperclipTaskMarkdown']) ?? '';
  const compactTask = text(context['paperclipTaskMarkdownCompact']);
  const task = resumed && compactTask !== null && !ASSIGNMENT_REASONS.test(wakeReason) ? compactTask : fullTask;
  const agentPrompt =
    resumed && wake !== '' ? '' : renderTemplate(input.promptTemplate ?? DEFAULT_PROMPT_TEMPLATE, input.variables);
  const sections = { bootstrap, wake, handoff, task, agentPrompt };
  const metrics: Record<string, number> = {};
  for (const [name, value] of Object.entries(sections)) metrics[`${name}Chars`] = value.trim().length;
  const joined = joinPromptSections(Object.values(sections));
  metrics['totalChars'] = joined.length;
  return { text: joined, metrics };
}
