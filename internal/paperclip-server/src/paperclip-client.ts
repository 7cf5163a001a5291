import { PaperclipApiError, PaperclipServerError } from './paperclip-server-error.ts';

/** Run statuses after which a run never changes again. */
export const TERMINAL_RUN_STATUSES = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

/** A heartbeat run status (`queued -> running -> terminal`; `scheduled_retry` for bounded retries). */
export type RunStatus =
  'queued' | 'running' | 'scheduled_retry' | (typeof TERMINAL_RUN_STATUSES)[number] | (string & {});

/** Loose JSON record: Paperclip rows carry many more fields than the harness names. */
export type JsonRecord = Record<string, unknown>;

export interface HealthResponse extends JsonRecord {
  status: string;
  version: string;
  deploymentMode: string;
}

export interface Company extends JsonRecord {
  id: string;
  name: string;
  issuePrefix: string;
}

export interface AdapterInfo extends JsonRecord {
  type: string;
  source: 'builtin' | 'external';
  loaded?: boolean;
  disabled?: boolean;
  version?: string;
  packageName?: string;
  isLocalPath?: boolean;
  capabilities?: JsonRecord;
}

export interface AdapterInstallResult extends JsonRecord {
  type: string;
  packageName: string;
  version?: string;
  installedAt: string;
  requiresRestart: boolean;
}

export interface Agent extends JsonRecord {
  id: string;
  companyId: string;
  name: string;
  status: string;
  adapterType: string;
  adapterConfig: JsonRecord;
}

export interface CreateAgentInput extends JsonRecord {
  name: string;
  adapterType: string;
  adapterConfig?: JsonRecord;
  runtimeConfig?: JsonRecord;
  role?: string;
  title?: string;
}

export interface WakeupInput extends JsonRecord {
  source?: 'timer' | 'assignment' | 'on_demand' | 'automation';
  triggerDetail?: 'manual' | 'ping' | 'callback' | 'system';
  reason?: string;
  payload?: JsonRecord;
  idempotencyKey?: string;
  forceFreshSession?: boolean;
}

export interface HeartbeatRun extends JsonRecord {
  id: string;
  agentId: string;
  status: RunStatus;
  error: string | null;
  errorCode: string | null;
  exitCode: number | null;
  resultJson: JsonRecord | null;
  usageJson: JsonRecord | null;
}

export interface RunEvent extends JsonRecord {
  seq: number;
  eventType: string;
  message: string | null;
}

/** One `onLog` call as stored by the server. */
export interface RunLogRecord {
  ts: string;
  stream: 'stdout' | 'stderr' | 'system' | (string & {});
  chunk: string;
  seq: number;
}

export interface RunLog {
  runId: string;
  store: string;
  logRef: string;
  /** The raw NDJSON. */
  content: string;
  /** `content` parsed, in file order. */
  records: RunLogRecord[];
}

export interface Issue extends JsonRecord {
  id: string;
  title: string;
  status: string;
  assigneeAgentId: string | null;
}

export interface Project extends JsonRecord {
  id: string;
  name: string;
}

export interface CreateProjectInput extends JsonRecord {
  name: string;
  /** The project's primary workspace, e.g. `{ sourceType: 'local_path', cwd, isPrimary: true }`. */
  workspace?: JsonRecord;
  /** e.g. `{ enabled: true, defaultMode: 'isolated_workspace', workspaceStrategy: { type: 'git_worktree' } }`. */
  executionWorkspacePolicy?: JsonRecord;
}

export interface CreateIssueInput extends JsonRecord {
  title: string;
  description?: string;
  assigneeAgentId?: string;
  status?: string;
  priority?: string;
}

export interface EnvironmentTestResult extends JsonRecord {
  adapterType: string;
  status: 'pass' | 'warn' | 'fail';
  checks: JsonRecord[];
}

export interface WaitForRunOptions {
  /** Statuses that end the wait successfully. @default every terminal status */
  until?: readonly RunStatus[];
  /** In milliseconds. @default 60_000 */
  timeoutMs?: number;
  /** Poll interval in milliseconds. @default 200 */
  intervalMs?: number;
}

/** Options of {@link createPaperclipClient}. */
export interface PaperclipClientOptions {
  /** @default globalThis.fetch, looked up at call time */
  fetch?: typeof fetch;
  /** Per-request timeout in milliseconds. @default 30_000 */
  timeoutMs?: number;
}

/** Typed client for the Paperclip routes the tests use (`local_trusted` mode: no credentials). */
export interface PaperclipClient {
  apiUrl: string;
  health(): Promise<HealthResponse>;
  createCompany(input: { name: string; description?: string; budgetMonthlyCents?: number }): Promise<Company>;
  listAdapters(): Promise<AdapterInfo[]>;
  getAdapter(type: string): Promise<AdapterInfo>;
  /** Installs an adapter package from an absolute directory the server user can read (`isLocalPath: true`). */
  installLocalAdapter(directory: string): Promise<AdapterInstallResult>;
  reloadAdapter(type: string): Promise<JsonRecord>;
  deleteAdapter(type: string): Promise<JsonRecord>;
  getAdapterConfigSchema(type: string): Promise<{ fields: JsonRecord[] }>;
  /** The adapter's UI transcript parser source; `undefined` on 404. */
  getAdapterUiParser(type: string): Promise<string | undefined>;
  testEnvironment(
    companyId: string,
    type: string,
    input: { adapterConfig: JsonRecord; agentId?: string },
    /** The environment test can start a Job (the live probe): allow it longer than an ordinary call. */
    options?: { timeoutMs?: number },
  ): Promise<EnvironmentTestResult>;
  listModels(companyId: string, type: string): Promise<{ id: string; label: string }[]>;
  createAgent(companyId: string, input: CreateAgentInput): Promise<Agent>;
  /** `adapterConfig` is merged into the stored one unless `replaceAdapterConfig: true`. */
  patchAgent(agentId: string, patch: JsonRecord & { replaceAdapterConfig?: boolean }): Promise<Agent>;
  getAgent(agentId: string): Promise<Agent>;
  wakeupAgent(agentId: string, input?: WakeupInput): Promise<HeartbeatRun>;
  getSkills(agentId: string): Promise<JsonRecord>;
  getRuntimeState(agentId: string): Promise<JsonRecord>;
  getTaskSessions(agentId: string): Promise<JsonRecord[]>;
  getRun(runId: string): Promise<HeartbeatRun>;
  getRunEvents(runId: string): Promise<RunEvent[]>;
  getRunLog(runId: string): Promise<RunLog>;
  cancelRun(runId: string): Promise<HeartbeatRun>;
  listCompanyRuns(companyId: string, query?: { agentId?: string; limit?: number }): Promise<HeartbeatRun[]>;
  createIssue(companyId: string, input: CreateIssueInput): Promise<Issue>;
  createProject(companyId: string, input: CreateProjectInput): Promise<Project>;
  /** Changes the instance's experimental settings (e.g. `{ enableIsolatedWorkspaces: true }` for per-issue worktrees). */
  patchExperimentalSettings(patch: JsonRecord): Promise<JsonRecord>;
  /** Adds a board comment to an issue (Paperclip wakes its assignee). */
  addIssueComment(issueId: string, body: string): Promise<JsonRecord>;
  /** Polls `getRun` until its status is in `until`; throws on another terminal status or on timeout. */
  waitForRun(runId: string, options?: WaitForRunOptions): Promise<HeartbeatRun>;
}

/** Parses the NDJSON `content` of `GET /heartbeat-runs/:id/log`; a malformed line is an error, never dropped. */
export function parseRunLog(content: string): RunLogRecord[] {
  const records: RunLogRecord[] = [];
  content.split('\n').forEach((line, index) => {
    if (line.trim() === '') return;
    let value: unknown;
    try {
      value = JSON.parse(line);
    } catch (error) {
      throw new PaperclipServerError(`parse run log: line ${index + 1}: not JSON: ${line.slice(0, 200)}`, {
        cause: error,
      });
    }
    const record = value as Partial<RunLogRecord>;
    if (
      typeof record.ts !== 'string' ||
      typeof record.stream !== 'string' ||
      typeof record.chunk !== 'string' ||
      typeof record.seq !== 'number'
    ) {
      throw new PaperclipServerError(
        `parse run log: line ${index + 1}: expected {ts, stream, chunk, seq}: ${line.slice(0, 200)}`,
      );
    }
    records.push({ ts: record.ts, stream: record.stream, chunk: record.chunk, seq: record.seq });
  });
  return records;
}

/** Creates a client for `apiUrl` (e.g. `http://127.0.0.1:3100/api`). */
export function createPaperclipClient(apiUrl: string, options: PaperclipClientOptions = {}): PaperclipClient {
  const base = apiUrl.replace(/\/+$/, '');
  const timeoutMs = options.timeoutMs ?? 30_000;

  async function request<T>(
    method: string,
    path: string,
    body?: unknown,
    accept404 = false,
    callTimeoutMs = timeoutMs,
  ): Promise<T | undefined> {
    const fetchImpl = options.fetch ?? globalThis.fetch;
    const response = await fetchImpl(`${base}${path}`, {
      method,
      headers:
        body === undefined
          ? { accept: 'application/json' }
          : { 'content-type': 'application/json', accept: 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
      signal: AbortSignal.timeout(callTimeoutMs),
    });
    const text = await response.text();
    if (accept404 && response.status === 404) return undefined;
    let parsed: unknown = text;
    if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
      try {
        parsed = JSON.parse(text);
      } catch {
        // keep the text
      }
    }
    if (!response.ok) throw new PaperclipApiError(method, path, response.status, response.statusText, parsed);
    return parsed as T;
  }
  const call = async <T>(method: string, path: string, body?: unknown): Promise<T> =>
    (await request<T>(method, path, body)) as T;
  const id = encodeURIComponent;

  const client: PaperclipClient = {
    apiUrl: base,
    health: () => call('GET', '/health'),
    createCompany: (input) => call('POST', '/companies', input),
    listAdapters: () => call('GET', '/adapters'),
    getAdapter: (type) => call('GET', `/adapters/${id(type)}`),
    installLocalAdapter: (directory) =>
      call('POST', '/adapters/install', { packageName: directory, isLocalPath: true }),
    reloadAdapter: (type) => call('POST', `/adapters/${id(type)}/reload`, {}),
    deleteAdapter: (type) => call('DELETE', `/adapters/${id(type)}`),
    getAdapterConfigSchema: (type) => call('GET', `/adapters/${id(type)}/config-schema`),
    getAdapterUiParser: (type) => request<string>('GET', `/adapters/${id(type)}/ui-parser.js`, undefined, true),
    testEnvironment: async (companyId, type, input, callOptions = {}) =>
      (await request<EnvironmentTestResult>(
        'POST',
        `/companies/${id(companyId)}/adapters/${id(type)}/test-environment`,
        input,
        false,
        callOptions.timeoutMs ?? timeoutMs,
      )) as EnvironmentTestResult,
    listModels: (companyId, type) => call('GET', `/companies/${id(companyId)}/adapters/${id(type)}/models`),
    createAgent: (companyId, input) => call('POST', `/companies/${id(companyId)}/agents`, input),
    patchAgent: (agentId, patch) => call('PATCH', `/agents/${id(agentId)}`, patch),
    getAgent: (agentId) => call('GET', `/agents/${id(agentId)}`),
    wakeupAgent: (agentId, input = {}) => call('POST', `/agents/${id(agentId)}/wakeup`, input),
    getSkills: (agentId) => call('GET', `/agents/${id(agentId)}/skills`),
    getRuntimeState: (agentId) => call('GET', `/agents/${id(agentId)}/runtime-state`),
    getTaskSessions: (agentId) => call('GET', `/agents/${id(agentId)}/task-sessions`),
    getRun: (runId) => call('GET', `/heartbeat-runs/${id(runId)}`),
    getRunEvents: (runId) => call('GET', `/heartbeat-runs/${id(runId)}/events`),
    getRunLog: async (runId) => {
      const log = await call<Omit<RunLog, 'records'>>('GET', `/heartbeat-runs/${id(runId)}/log`);
      return { ...log, records: parseRunLog(log.content ?? '') };
    },
    cancelRun: (runId) => call('POST', `/heartbeat-runs/${id(runId)}/cancel`, {}),
    listCompanyRuns: (companyId, query = {}) => {
      const search = new URLSearchParams();
      if (query.agentId) search.set('agentId', query.agentId);
      if (query.limit !== undefined) search.set('limit', String(query.limit));
      const suffix = search.size > 0 ? `?${search.toString()}` : '';
      return call('GET', `/companies/${id(companyId)}/heartbeat-runs${suffix}`);
    },
    createIssue: (companyId, input) => call('POST', `/companies/${id(companyId)}/issues`, input),
    createProject: (companyId, input) => call('POST', `/companies/${id(companyId)}/projects`, input),
    patchExperimentalSettings: (patch) => call('PATCH', '/instance/settings/experimental', patch),
    addIssueComment: (issueId, body) => call('POST', `/issues/${id(issueId)}/comments`, { body }),
    waitForRun: async (runId, waitOptions = {}) => {
      const until = waitOptions.until ?? TERMINAL_RUN_STATUSES;
      const timeout = waitOptions.timeoutMs ?? 60_000;
      const deadline = Date.now() + timeout;
      for (;;) {
        const run = await client.getRun(runId);
        if (until.includes(run.status)) return run;
        if ((TERMINAL_RUN_STATUSES as readonly string[]).includes(run.status)) {
          throw new PaperclipServerError(
            `wait for run ${runId}: ended ${run.status}, expected ${until.join('|')}: ${run.errorCode ?? ''} ${run.error ?? ''}`.trim(),
          );
        }
        if (Date.now() >= deadline)
          throw new PaperclipServerError(
            `wait for run ${runId}: still ${run.status} after ${timeout} ms, expected ${until.join('|')}`,
          );
        await new Promise((resolve) => setTimeout(resolve, waitOptions.intervalMs ?? 200));
      }
    },
  };
  return client;
}
