/**
 * The agent's and the company's remaining monthly budget in Paperclip, read with the run's own token: Paperclip
 * 2026.916.1 answers `GET /api/companies/:companyId/budgets/overview` to a same-company agent (`company_scope:read`
 * is allowed for agent actors), with each policy's `amount`, `observedAmount` and `remainingAmount` in cents.
 */

/** The lowest remaining monthly budget that applies to this agent. */
export interface PaperclipRemainingBudget {
  /** What is left this month. US dollars. */
  remainingUsd: number;
  /** Whose budget it is. */
  scope: 'agent' | 'company';
  /** Paperclip's budget policy id. */
  policyId: string | null;
}

/** Options of {@link readPaperclipRemainingBudget}. */
export interface ReadPaperclipBudgetOptions {
  /** `fetch` (the global by default, looked up at call time). */
  fetch?: typeof globalThis.fetch;
  /** The Paperclip server's own base URL as this process reaches it, e.g. `http://127.0.0.1:3100`. */
  baseUrl: string;
  /** The run's JWT (`ctx.authToken`). Never logged. */
  token: string;
  companyId: string;
  agentId: string;
  /** Gives up after this long. Milliseconds. @default 5000 */
  timeoutMs?: number;
}

/** The outcome of {@link readPaperclipRemainingBudget}: a reading (`null` = no active monthly budget), or why not. */
export type PaperclipBudgetResult =
  { success: true; value: PaperclipRemainingBudget | null } | { success: false; message: string };

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** The server's own base URL from its environment, as Paperclip's `buildPaperclipEnv` derives it. */
export function resolvePaperclipServerUrl(serverEnv: Readonly<Record<string, string | undefined>>): string {
  const explicit = serverEnv['PAPERCLIP_API_URL']?.trim() || serverEnv['PAPERCLIP_RUNTIME_API_URL']?.trim();
  if (explicit) return explicit.replace(/\/+$/, '');
  const host = serverEnv['PAPERCLIP_LISTEN_HOST'] || serverEnv['HOST'] || 'localhost';
  const port = serverEnv['PAPERCLIP_LISTEN_PORT'] || serverEnv['PORT'] || '3100';
  return `http://${host}:${port}`;
}

/**
 * Picks the lowest remaining amount among the active monthly dollar policies (`billed_cents`) of this agent and of
 * its company from Paperclip's budget overview. Pure.
 */
export function pickRemainingBudget(
  overview: unknown,
  ids: { companyId: string; agentId: string },
): PaperclipRemainingBudget | null {
  if (!isRecord(overview) || !Array.isArray(overview['policies'])) return null;
  let best: PaperclipRemainingBudget | null = null;
  for (const policy of overview['policies']) {
    if (!isRecord(policy) || policy['isActive'] !== true || policy['metric'] !== 'billed_cents') continue;
    const amount = policy['amount'];
    const remaining = policy['remainingAmount'];
    if (typeof amount !== 'number' || !(amount > 0) || typeof remaining !== 'number') continue;
    const scope =
      policy['scopeType'] === 'agent' && policy['scopeId'] === ids.agentId
        ? 'agent'
        : policy['scopeType'] === 'company' && policy['scopeId'] === ids.companyId
          ? 'company'
          : null;
    if (scope === null) continue;
    const remainingUsd = Math.max(0, remaining) / 100;
    if (best === null || remainingUsd < best.remainingUsd)
      best = { remainingUsd, scope, policyId: typeof policy['policyId'] === 'string' ? policy['policyId'] : null };
  }
  return best;
}

/** Reads the remaining monthly budget of the agent and its company with the run token. Never throws. */
export async function readPaperclipRemainingBudget(
  options: ReadPaperclipBudgetOptions,
): Promise<PaperclipBudgetResult> {
  const fetchImpl = options.fetch ?? globalThis.fetch;
  const url = `${options.baseUrl}/api/companies/${encodeURIComponent(options.companyId)}/budgets/overview`;
  try {
    const response = await fetchImpl(url, {
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      signal: AbortSignal.timeout(options.timeoutMs ?? 5000),
    });
    if (!response.ok)
      return { success: false, message: `GET ${url}: ${response.status} ${response.statusText}`.trim() };
    const body: unknown = await response.json();
    return { success: true, value: pickRemainingBudget(body, options) };
  } catch (error) {
    return { success: false, message: `GET ${url}: ${error instanceof Error ? error.message : String(error)}` };
  }
}
