/**
 * Turns one Paperclip run (`AdapterExecutionContext` + validated config) into what the pod needs: the claude command
 * line, the prompt, the files of the per-run Secret (prompt, instructions, skills, MCP config, run token, env
 * values), the container env (secrets only by reference) and the resume decision. Host files are read through the
 * {@link HostFiles} port; everything else is pure.
 */
import { createHash } from 'node:crypto';
import type { AdapterExecutionContext, AdapterInvocationMeta } from '@paperclipai/adapter-utils';
import { buildBudgetCliArgs } from './budget/budget-guard.ts';
import type { AdapterConfig } from './config-schema.ts';
import type { ErrorCode } from './error-codes.ts';
import { isLoopbackUrl } from './kube-values.ts';
import type { EnvVarSpec, HostFiles, RunFile, RunLaunchRequest } from './ports.ts';
import { buildPrompt, type BuiltPrompt } from './prompt.ts';
import { isRecord } from './schema-builder.ts';
import {
  decideResume,
  type ResumeDecision,
  type SessionMatchTarget,
  type SessionVolumeIdentity,
} from './session-codec.ts';

/** A Claude session id. */
const UUID_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** Label every agent pod carries (the NetworkPolicy in deploy/ selects on it). */
/**
 * The label that selects agent pods (the NetworkPolicy in deploy/ uses it): kube-runtime's own component label,
 * which it sets on every Job and pod it creates (the `claude-k8s.io/` prefix is reserved for the runtime).
 */
export const AGENT_POD_LABEL = { key: 'app.kubernetes.io/component', value: 'agent-run' } as const;
/** Where the per-run Secret is mounted in the claude container. */
export const FILES_MOUNT_PATH = '/run/ck8s/files';
/** HOME of the agent when the session volume is mounted as `home` (and without a session volume). */
export const DEFAULT_HOME = '/home/agent';
/** Scratch directory of the run inside the pod. */
export const SCRATCH_DIR = '/tmp/paperclip-run';
/** A Secret holds at most 1 MiB; keep a margin for keys and metadata. */
const MAX_FILES_BYTES = 900 * 1024;
/** Larger wake payloads are only available as a file, not as `PAPERCLIP_WAKE_PAYLOAD_JSON`. */
const MAX_WAKE_PAYLOAD_ENV_BYTES = 64 * 1024;

const FILE = {
  prompt: 'prompt.md',
  instructions: 'instructions.md',
  mcpConfig: 'mcp-config.json',
  runToken: 'paperclip-api-key',
  wakePayload: 'wake-payload.json',
  skillsDir: 'skills',
} as const;

/** Server-host-only variables Paperclip injects into `config.env`; meaningless in a pod, so dropped. */
const HOST_ONLY_ENV = new Set([
  'TMPDIR',
  'TEMP',
  'TMP',
  'PAPERCLIP_RUN_SCRATCH_DIR',
  'PAPERCLIP_SCRATCH_DIR',
  'GH_CONFIG_DIR',
  'HOME',
  'PATH',
]);
const HOST_ONLY_ENV_PREFIXES = ['PAPERCLIP_RUNNER_NETWORK_'];

/**
 * The container's shell wrapper: creates and enters the working directory ($1), then execs claude (the remaining
 * arguments, never re-parsed by the shell) with the prompt file as stdin.
 */
export const LAUNCH_SCRIPT = [
  'set -eu',
  'mkdir -p -- "$1" "$PAPERCLIP_RUN_SCRATCH_DIR"',
  'cd -- "$1"',
  'shift',
  `exec "$@" < ${FILES_MOUNT_PATH}/${FILE.prompt}`,
].join('\n');

/** Options of {@link buildInvocation}. */
export interface BuildInvocationOptions {
  hostFiles: HostFiles;
  /** Environment of the Paperclip server process (for `PAPERCLIP_API_URL`). */
  serverEnv: Readonly<Record<string, string | undefined>>;
  /** Namespace when the config names none (the namespace Paperclip runs in). */
  defaultNamespace: string;
  /** Ignore the stored session (the retry after an unknown session). */
  forceFreshSession?: boolean;
}

/** Everything one attempt of a run needs, except the callbacks. */
export interface RunInvocation {
  request: Omit<RunLaunchRequest, 'onOutput' | 'onProgress' | 'signal' | 'attempt'>;
  /** claude and its arguments (without the shell wrapper). */
  claudeArgs: string[];
  prompt: BuiltPrompt;
  resume: ResumeDecision;
  /** What the new session will be stored with. */
  sessionTarget: SessionMatchTarget;
  /** Things worth telling the user (dropped env, resume decisions, missing token). */
  notes: string[];
  /** Resolved URL pods call Paperclip back at. */
  paperclipApiUrl: string;
}

/** Result of {@link buildInvocation}. */
export type BuildInvocationResult =
  { success: true; value: RunInvocation } | { success: false; code: ErrorCode; message: string };

function str(value: unknown): string | null {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : null;
}

/** Code-unit order: deterministic across locales (file order feeds the bundle hash). */
function compareText(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function sha256(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(part);
    hash.update('\0');
  }
  return hash.digest('hex');
}

function byteLength(content: string | Uint8Array): number {
  return typeof content === 'string' ? Buffer.byteLength(content, 'utf8') : content.byteLength;
}

/** Resolves the URL pods use to reach Paperclip: config, else the server's non-loopback `PAPERCLIP_API_URL`. */
export function resolvePaperclipApiUrl(
  config: AdapterConfig,
  serverEnv: Readonly<Record<string, string | undefined>>,
): string | null {
  if (config.paperclipApiUrl !== undefined) return config.paperclipApiUrl.replace(/\/+$/, '');
  for (const name of ['PAPERCLIP_API_URL', 'PAPERCLIP_RUNTIME_API_URL']) {
    const value = serverEnv[name];
    if (value !== undefined && value.trim() !== '' && !isLoopbackUrl(value)) return value.trim().replace(/\/+$/, '');
  }
  return null;
}

/** Points a Paperclip URL built from the server's loopback address at `apiUrl` (keeping path and query). */
export function rewritePaperclipUrl(url: string, apiUrl: string): string {
  if (!isLoopbackUrl(url)) return url;
  const source = new URL(url);
  const target = new URL(apiUrl);
  const prefix = target.pathname.replace(/\/+$/, '');
  return `${target.origin}${prefix}${source.pathname}${source.search}`;
}

interface McpBuild {
  config: Record<string, unknown> | null;
  identity: string | null;
  names: string[];
}

function buildMcpConfig(
  ctx: AdapterExecutionContext,
  config: AdapterConfig,
  apiUrl: string,
  notes: string[],
): McpBuild {
  const servers: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(config.mcpServers ?? {})) servers[name] = server;
  for (const server of ctx.runtimeMcp?.getServers() ?? []) {
    if (server.name in servers)
      notes.push(
        `MCP server "${server.name}" from mcpServers is replaced by the Paperclip-managed server of the same name`,
      );
    servers[server.name] = {
      type: 'http',
      url: rewritePaperclipUrl(server.url, apiUrl),
      headers: { Authorization: `Bearer ${server.token}` },
    };
  }
  const names = Object.keys(servers).sort();
  if (names.length === 0) return { config: null, identity: null, names };
  const identityParts = names.map((serverName) => {
    const server = servers[serverName];
    const record = isRecord(server) ? server : {};
    return JSON.stringify([
      serverName,
      record['type'] ?? null,
      record['url'] ?? null,
      record['command'] ?? null,
      record['args'] ?? null,
    ]);
  });
  return { config: { mcpServers: servers }, identity: sha256(...identityParts).slice(0, 32), names };
}

interface RuntimeSkill {
  key: string;
  runtimeName: string;
  source: string;
}

function readRuntimeSkills(rawConfig: Record<string, unknown>, notes: string[]): RuntimeSkill[] {
  const entries = Array.isArray(rawConfig['paperclipRuntimeSkills'])
    ? rawConfig['paperclipRuntimeSkills'].filter(isRecord)
    : [];
  const sync = isRecord(rawConfig['paperclipSkillSync']) ? rawConfig['paperclipSkillSync'] : null;
  const desired =
    sync !== null && Array.isArray(sync['desiredSkills'])
      ? new Set(sync['desiredSkills'].filter((item): item is string => typeof item === 'string'))
      : null;
  const skills: RuntimeSkill[] = [];
  for (const entry of entries) {
    const key = str(entry['key']);
    const source = str(entry['source']);
    const runtimeName = (str(entry['runtimeName']) ?? key ?? '').replace(/[^A-Za-z0-9._-]/g, '-').replace(/^[.-]+/, '');
    if (key === null || source === null || runtimeName === '') continue;
    if (desired !== null && !desired.has(key)) continue;
    if (entry['sourceStatus'] === 'missing') {
      notes.push(
        `skill ${key} skipped: its source is missing on the Paperclip server${str(entry['missingDetail']) === null ? '' : ` (${str(entry['missingDetail'])})`}`,
      );
      continue;
    }
    skills.push({ key, runtimeName, source });
  }
  return skills.sort((a, b) => compareText(a.runtimeName, b.runtimeName));
}

function paperclipEnv(ctx: AdapterExecutionContext, apiUrl: string, cwd: string): EnvVarSpec[] {
  const context = ctx.context;
  const env: EnvVarSpec[] = [];
  const add = (name: string, value: string | null): void => {
    if (value !== null) env.push({ name, value });
  };
  add('PAPERCLIP_API_URL', apiUrl);
  add('PAPERCLIP_RUNTIME_API_URL', apiUrl);
  add('PAPERCLIP_AGENT_ID', ctx.agent.id);
  add('PAPERCLIP_COMPANY_ID', ctx.agent.companyId);
  add('PAPERCLIP_RUN_ID', ctx.runId);
  add('PAPERCLIP_TASK_ID', str(context['taskId']) ?? str(context['issueId']));
  const issue = isRecord(context['paperclipIssue']) ? context['paperclipIssue'] : null;
  add('PAPERCLIP_ISSUE_WORK_MODE', issue === null ? null : str(issue['workMode']));
  add('PAPERCLIP_WAKE_REASON', str(context['wakeReason']));
  add('PAPERCLIP_WAKE_COMMENT_ID', str(context['wakeCommentId']) ?? str(context['commentId']));
  add('PAPERCLIP_APPROVAL_ID', str(context['approvalId']));
  add('PAPERCLIP_APPROVAL_STATUS', str(context['approvalStatus']));
  const linked = Array.isArray(context['issueIds'])
    ? context['issueIds'].filter((item): item is string => typeof item === 'string' && item.trim() !== '')
    : [];
  add('PAPERCLIP_LINKED_ISSUE_IDS', linked.length > 0 ? linked.join(',') : null);
  const workspace = isRecord(context['paperclipWorkspace']) ? context['paperclipWorkspace'] : null;
  if (workspace !== null) {
    add('PAPERCLIP_WORKSPACE_CWD', cwd);
    add('PAPERCLIP_WORKSPACE_SOURCE', str(workspace['source']));
    add('PAPERCLIP_WORKSPACE_STRATEGY', str(workspace['strategy']));
    add('PAPERCLIP_WORKSPACE_ID', str(workspace['workspaceId']));
    add('PAPERCLIP_WORKSPACE_REPO_URL', str(workspace['repoUrl']));
    add('PAPERCLIP_WORKSPACE_REPO_REF', str(workspace['repoRef']));
    add('PAPERCLIP_WORKSPACE_BRANCH', str(workspace['branchName']));
  }
  add('PAPERCLIP_RUN_SCRATCH_DIR', SCRATCH_DIR);
  add('PAPERCLIP_SCRATCH_DIR', SCRATCH_DIR);
  return env;
}

/**
 * Builds one attempt of a run. Fails (as a value) when no Paperclip URL is reachable from pods, when host files
 * cannot be read, or when the files exceed what a Secret can hold.
 */
export async function buildInvocation(
  ctx: AdapterExecutionContext,
  config: AdapterConfig,
  options: BuildInvocationOptions,
): Promise<BuildInvocationResult> {
  const notes: string[] = [];
  const apiUrl = resolvePaperclipApiUrl(config, options.serverEnv);
  if (apiUrl === null) {
    return {
      success: false,
      code: 'adapter_config_invalid',
      message:
        "paperclipApiUrl: required: set the URL pods use to reach Paperclip (the server's PAPERCLIP_API_URL is unset or a loopback address)",
    };
  }
  const namespace = config.namespace ?? options.defaultNamespace;
  const claimName = config.sessionVolume.claimName ?? null;
  const homePath =
    config.sessionVolume.mountAs === 'home' || claimName === null
      ? DEFAULT_HOME
      : config.sessionVolume.mountAs.replace(/\/+$/, '');
  const cwd = config.cwd ?? `${homePath}/workspaces/${ctx.agent.id.replace(/[^A-Za-z0-9._-]/g, '-')}`;
  const sessionVolume: SessionVolumeIdentity | null =
    claimName === null ? null : { namespace, claimName, mountPath: homePath };

  // Host files: instructions and skills.
  const files: RunFile[] = [];
  let instructions: string | null = null;
  if (config.instructionsFilePath !== undefined) {
    try {
      instructions = new TextDecoder().decode(await options.hostFiles.readFile(config.instructionsFilePath));
    } catch (error) {
      return {
        success: false,
        code: 'adapter_host_file_unreadable',
        message: `read instructions ${config.instructionsFilePath}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
  }
  const skills = readRuntimeSkills(ctx.config, notes);
  const bundleParts: (string | Uint8Array)[] = ['instructions', instructions ?? ''];
  const skillFiles: RunFile[] = [];
  for (const [skillIndex, skill] of skills.entries()) {
    let entries;
    try {
      entries = await options.hostFiles.readDirectory(skill.source);
    } catch (error) {
      return {
        success: false,
        code: 'adapter_host_file_unreadable',
        message: `read skill ${skill.key} at ${skill.source}: ${error instanceof Error ? error.message : String(error)}`,
      };
    }
    const sorted = [...entries].sort((a, b) => compareText(a.path, b.path));
    for (const [fileIndex, entry] of sorted.entries()) {
      const relative = entry.path
        .split('/')
        .filter((segment) => segment !== '' && segment !== '.' && segment !== '..')
        .join('/');
      if (relative === '') continue;
      skillFiles.push({
        key: `skill-${skillIndex}-${fileIndex}`,
        path: `${FILE.skillsDir}/.claude/skills/${skill.runtimeName}/${relative}`,
        content: entry.content,
        sensitive: false,
      });
      bundleParts.push(`${skill.runtimeName}/${relative}`, sha256(entry.content));
    }
  }
  const promptBundleKey = instructions === null && skills.length === 0 ? null : sha256(...bundleParts).slice(0, 32);
  const mcp = buildMcpConfig(ctx, config, apiUrl, notes);

  // Resume decision.
  const sessionTarget: SessionMatchTarget = { cwd, promptBundleKey, mcpServerIdentity: mcp.identity, sessionVolume };
  let resume: ResumeDecision =
    options.forceFreshSession === true
      ? { resume: false, reason: 'retrying with a fresh session' }
      : decideResume(ctx.runtime.sessionParams, sessionTarget);
  if (
    !resume.resume &&
    resume.reason === null &&
    options.forceFreshSession !== true &&
    ctx.runtime.sessionId !== null &&
    ctx.runtime.sessionParams === null
  ) {
    // Paperclip keeps only the bare id for wakes without a task (its agent-level runtime state). With a session
    // volume the session's files are where the CLI looks (HOME on the volume, the agent's fixed cwd), so resume it;
    // should they be gone, the CLI reports an unknown session and the run is retried once fresh.
    resume =
      UUID_PATTERN.test(ctx.runtime.sessionId) && sessionVolume !== null
        ? { resume: true, sessionId: ctx.runtime.sessionId }
        : {
            resume: false,
            reason: `session ${ctx.runtime.sessionId} not resumed: only a bare session id was stored and ${sessionVolume === null ? 'no session volume is configured' : 'it is not a session UUID'}`,
          };
  }
  if (!resume.resume && resume.reason !== null) notes.push(resume.reason);
  if (resume.resume) notes.push(`resuming session ${resume.sessionId}`);

  // Prompt.
  const { adapterConfig: _adapterConfig, ...agentFacts } = ctx.agent as unknown as Record<string, unknown>;
  const variables: Record<string, unknown> = {
    agentId: ctx.agent.id,
    companyId: ctx.agent.companyId,
    runId: ctx.runId,
    agent: agentFacts,
    company: { id: ctx.agent.companyId },
    run: { id: ctx.runId, source: str(ctx.context['wakeSource']) ?? 'on_demand' },
    context: ctx.context,
  };
  const prompt = buildPrompt({
    resumed: resume.resume,
    promptTemplate: config.promptTemplate,
    bootstrapPromptTemplate: config.bootstrapPromptTemplate,
    variables,
    context: ctx.context,
  });

  // claude's command line.
  const claudeArgs = ['claude', '--print', '--output-format', 'stream-json', '--verbose'];
  if (resume.resume) claudeArgs.push('--resume', resume.sessionId);
  if (config.dangerouslySkipPermissions) claudeArgs.push('--dangerously-skip-permissions');
  if (config.model !== undefined) claudeArgs.push('--model', config.model);
  if (config.effort !== undefined) claudeArgs.push('--effort', config.effort);
  if (config.maxTurnsPerRun > 0) claudeArgs.push('--max-turns', String(config.maxTurnsPerRun));
  claudeArgs.push(...buildBudgetCliArgs(config, resume.resume));
  if (instructions !== null && !resume.resume)
    claudeArgs.push('--append-system-prompt-file', `${FILES_MOUNT_PATH}/${FILE.instructions}`);
  if (mcp.config !== null)
    claudeArgs.push('--mcp-config', `${FILES_MOUNT_PATH}/${FILE.mcpConfig}`, '--strict-mcp-config');
  if (skillFiles.length > 0) claudeArgs.push('--add-dir', `${FILES_MOUNT_PATH}/${FILE.skillsDir}`);
  claudeArgs.push(...config.extraArgs);

  // Files of the per-run Secret.
  files.push({ key: FILE.prompt, path: FILE.prompt, content: prompt.text, sensitive: false });
  if (instructions !== null && !resume.resume)
    files.push({ key: FILE.instructions, path: FILE.instructions, content: instructions, sensitive: false });
  if (mcp.config !== null)
    files.push({
      key: FILE.mcpConfig,
      path: FILE.mcpConfig,
      content: `${JSON.stringify(mcp.config, null, 2)}\n`,
      sensitive: true,
    });
  files.push(...skillFiles);

  // Env: Paperclip run context (plain), run token and config values (per-run Secret), references (kept).
  const env: EnvVarSpec[] = [
    { name: 'HOME', value: homePath },
    { name: 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC', value: '1' },
    { name: 'DISABLE_AUTOUPDATER', value: '1' },
  ];
  if (config.anthropicBaseUrl !== undefined) env.push({ name: 'ANTHROPIC_BASE_URL', value: config.anthropicBaseUrl });
  const ownEnv = paperclipEnv(ctx, apiUrl, cwd);
  env.push(...ownEnv);
  const wake = ctx.context['paperclipWake'];
  if (wake !== undefined && wake !== null) {
    const wakeJson = JSON.stringify(wake);
    files.push({ key: FILE.wakePayload, path: FILE.wakePayload, content: wakeJson, sensitive: false });
    env.push({ name: 'PAPERCLIP_WAKE_PAYLOAD_PATH', value: `${FILES_MOUNT_PATH}/${FILE.wakePayload}` });
    if (byteLength(wakeJson) <= MAX_WAKE_PAYLOAD_ENV_BYTES)
      env.push({ name: 'PAPERCLIP_WAKE_PAYLOAD_JSON', runFileKey: FILE.wakePayload });
    else
      notes.push(
        `wake payload is ${byteLength(wakeJson)} bytes: only available as the file $PAPERCLIP_WAKE_PAYLOAD_PATH`,
      );
  }
  const taken = new Set(env.map((entry) => entry.name));
  if (config.anthropicApiKeySecret.name !== undefined) {
    env.push({
      name: 'ANTHROPIC_API_KEY',
      secretKeyRef: { name: config.anthropicApiKeySecret.name, key: config.anthropicApiKeySecret.key },
    });
    taken.add('ANTHROPIC_API_KEY');
  }
  const dropped: string[] = [];
  for (const [name, value] of Object.entries(config.env)) {
    if (
      HOST_ONLY_ENV.has(name) ||
      HOST_ONLY_ENV_PREFIXES.some((prefix) => name.startsWith(prefix)) ||
      taken.has(name) ||
      name === 'PAPERCLIP_API_KEY'
    ) {
      dropped.push(name);
      continue;
    }
    if ('value' in value) {
      const key = `env-${name}`;
      files.push({ key, path: null, content: value.value, sensitive: true });
      env.push({ name, runFileKey: key });
    } else if ('secretKeyRef' in value) {
      env.push({ name, secretKeyRef: value.secretKeyRef });
    } else {
      env.push({ name, configMapKeyRef: value.configMapKeyRef });
    }
  }
  if (dropped.length > 0)
    notes.push(
      `env not passed to the pod (set by the adapter, or paths of the Paperclip host): ${dropped.sort().join(', ')}`,
    );
  if (ctx.authToken !== undefined && ctx.authToken !== '') {
    files.push({ key: FILE.runToken, path: null, content: ctx.authToken, sensitive: true });
    env.push({ name: 'PAPERCLIP_API_KEY', runFileKey: FILE.runToken });
  } else {
    notes.push('no run token from Paperclip (supportsLocalAgentJwt): the agent cannot call the Paperclip API');
  }

  const totalBytes = files.reduce((sum, file) => sum + byteLength(file.content), 0);
  if (totalBytes > MAX_FILES_BYTES) {
    return {
      success: false,
      code: 'adapter_files_too_large',
      message: `the run's files take ${totalBytes} bytes (prompt ${byteLength(prompt.text)}, ${skillFiles.length} skill files), more than the ${MAX_FILES_BYTES} a Secret can hold`,
    };
  }

  const request: RunInvocation['request'] = {
    runId: ctx.runId,
    agentId: ctx.agent.id,
    companyId: ctx.agent.companyId,
    taskKey: ctx.runtime.taskKey,
    target: { namespace, kubeconfigPath: config.kubeconfig ?? null },
    container: {
      image: config.image ?? '',
      imagePullPolicy: config.imagePullPolicy,
      command: ['/bin/sh', '-c', LAUNCH_SCRIPT, 'ck8s-launch', cwd, ...claudeArgs],
      env,
      resources: {
        requests: {
          ...(config.resources.requests.cpu === undefined ? {} : { cpu: config.resources.requests.cpu }),
          ...(config.resources.requests.memory === undefined ? {} : { memory: config.resources.requests.memory }),
        },
        limits: {
          ...(config.resources.limits.cpu === undefined ? {} : { cpu: config.resources.limits.cpu }),
          ...(config.resources.limits.memory === undefined ? {} : { memory: config.resources.limits.memory }),
        },
      },
    },
    files: { mountPath: FILES_MOUNT_PATH, entries: files },
    home: { mountPath: homePath, claimName },
    pod: {
      serviceAccountName: config.serviceAccountName ?? null,
      automountServiceAccountToken: config.automountServiceAccountToken,
      imagePullSecrets: config.imagePullSecrets,
      nodeSelector: config.nodeSelector,
      tolerations: config.tolerations,
      affinity: config.affinity ?? null,
      runtimeClassName: config.runtimeClassName ?? null,
      priorityClassName: config.priorityClassName ?? null,
      labels: { ...config.labels },
      annotations: config.annotations,
      podSpecPatch: config.podSpecPatch ?? null,
    },
    lifecycle: {
      timeoutSec: config.timeoutSec,
      graceSec: config.graceSec,
      lockPolicy: config.lockPolicy,
      lockWaitSeconds: config.lockWaitSeconds,
      unschedulableGraceSec: config.unschedulableGraceSec,
      imagePullGraceSec: config.imagePullGraceSec,
      retention: { ...config.retention },
      ttlSecondsAfterFinished: config.ttlSecondsAfterFinished,
    },
  };
  return {
    success: true,
    value: { request, claudeArgs, prompt, resume, sessionTarget, notes, paperclipApiUrl: apiUrl },
  };
}

/** Renders an env entry for display: plain values as is, everything else as a reference, never a secret value. */
export function describeEnvVar(entry: EnvVarSpec): string {
  if ('value' in entry) return entry.value;
  if ('runFileKey' in entry) return `<per-run Secret key ${entry.runFileKey}>`;
  if ('secretKeyRef' in entry) return `<Secret ${entry.secretKeyRef.name} key ${entry.secretKeyRef.key}>`;
  return `<ConfigMap ${entry.configMapKeyRef.name} key ${entry.configMapKeyRef.key}>`;
}

/** The `onMeta` payload of an attempt: command, env and prompt, with every secret shown as a reference only. */
export function buildInvocationMeta(
  invocation: RunInvocation,
  started: { jobName: string; namespace: string; attempt: number },
): AdapterInvocationMeta {
  const env: Record<string, string> = {};
  for (const entry of invocation.request.container.env) env[entry.name] = describeEnvVar(entry);
  return {
    adapterType: 'claude_k8s',
    command: 'claude',
    cwd: invocation.sessionTarget.cwd,
    commandArgs: invocation.claudeArgs.slice(1),
    commandNotes: [
      ...invocation.notes,
      `Job ${started.namespace}/${started.jobName} (attempt ${started.attempt}), image ${invocation.request.container.image}; prompt read from ${FILES_MOUNT_PATH}/${FILE.prompt} on stdin`,
    ],
    env,
    prompt: invocation.prompt.text,
    promptMetrics: invocation.prompt.metrics,
    context: {
      namespace: started.namespace,
      jobName: started.jobName,
      attempt: started.attempt,
      image: invocation.request.container.image,
      home: invocation.request.home,
      resumedSessionId: invocation.resume.resume ? invocation.resume.sessionId : null,
      files: invocation.request.files.entries.map((file) => ({
        key: file.key,
        path: file.path,
        bytes: byteLength(file.content),
        sensitive: file.sensitive,
      })),
      paperclipApiUrl: invocation.paperclipApiUrl,
    },
  };
}
