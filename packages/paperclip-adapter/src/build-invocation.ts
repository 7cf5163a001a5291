/**
 * Turns one Paperclip run (`AdapterExecutionContext` + validated config) into what the pod needs. Read first, then
 * assemble: {@link buildInvocation} reads everything from the Paperclip host once ({@link readHostInputs}), then
 * {@link planInvocation} builds the run from plain data with pure steps in `invocation/`, each returning its result
 * and its own notes:
 *
 *   Paperclip API URL → pod layout → workspace → prompt bundle → MCP config → session plan → prompt → run files → claude command
 *   → Paperclip env → container env → size check → {@link assembleLaunchRequest} (the one place the launcher's
 *   request is shaped)
 *
 * The invocation card ({@link buildInvocationMeta}) is built from the result once the Job has started.
 */
import type { AdapterExecutionContext, AdapterRuntimeMcpServer } from '@paperclipai/adapter-utils';
import { buildBudgetCliArgs } from './budget/budget-guard.ts';
import type { AdapterConfig } from './config-schema.ts';
import { buildClaudeCommand } from './invocation/claude-args.ts';
import { buildContainerEnv } from './invocation/container-env.ts';
import {
  checkHostPath,
  instructionsRoots,
  resolveWorkspaceVolume,
  type HostPathSettings,
  type WorkspaceVolumeSettings,
} from './host-path-policy.ts';
import type { PodDefaults } from './operator-policy.ts';
import { readHostInputs, type HostInputs } from './invocation/host-inputs.ts';
import type { InvocationFailure } from './invocation/invocation-failure.ts';
import { assembleLaunchRequest, type RunLaunch } from './invocation/launch-request.ts';
import { buildMcpConfig } from './invocation/mcp-config.ts';
import { resolvePaperclipApiUrl } from './invocation/paperclip-api-url.ts';
import { buildPaperclipEnv } from './invocation/paperclip-env.ts';
import { planPodLayout } from './invocation/pod-layout.ts';
import { buildPromptBundle } from './invocation/prompt-bundle.ts';
import { buildRunFiles, checkRunFilesSize } from './invocation/run-files.ts';
import { buildRunPrompt } from './invocation/run-prompt.ts';
import { planSession } from './invocation/session-plan.ts';
import { planWorkspace, type WorkspacePlan } from './invocation/workspace.ts';
import type { HostFiles } from './ports.ts';
import type { BuiltPrompt } from './invocation/run-prompt.ts';
import { parseRuntimeSkills, selectRunSkills, type RunSkillSelection } from './runtime-skills.ts';
import type { ResumeDecision, SessionMatchTarget } from './session-codec.ts';

/** Options of {@link buildInvocation}. */
export interface BuildInvocationOptions {
  hostFiles: HostFiles;
  /** Environment of the Paperclip server process (for `PAPERCLIP_API_URL`). */
  serverEnv: Readonly<Record<string, string | undefined>>;
  /** Namespace when the config names none (the namespace Paperclip runs in). */
  defaultNamespace: string;
  /** Ignore the stored session (the retry after an unknown session). @default false */
  forceFreshSession?: boolean;
  /** Which attempt of the run this is (the fresh-session retry is 2; its Job has its own run id). @default 1 */
  attempt?: number;
  /** Server-side host-path settings (instructions directories). @default {} (the environment's, see {@link HostPathSettings}) */
  hostPaths?: HostPathSettings;
  /** The operator policy's resources and `/tmp` bound ({@link podDefaults}). @default the config's resources only */
  podDefaults?: PodDefaults;
}

/** Everything one attempt of a run needs, except the callbacks. */
export interface RunInvocation {
  /** kube-runtime's `RunSpec` of this attempt, and the cluster it goes to. */
  launch: RunLaunch;
  /** claude and its arguments (without the shell wrapper). */
  claudeArgs: string[];
  prompt: BuiltPrompt;
  resume: ResumeDecision;
  /** What the new session will be stored with. */
  sessionTarget: SessionMatchTarget;
  /** Things worth telling the user (skipped skills, dropped env, resume decisions, missing token), in step order. */
  notes: string[];
  /** Resolved URL pods call Paperclip back at. */
  paperclipApiUrl: string;
  /** How the run's Paperclip workspace reaches the pod (`none`: it does not), and the pod's working directory. */
  workspace: { mode: WorkspacePlan['mode']; cwd: string };
  /** The transfer mode's paths (`null` in the other modes). */
  transfer: WorkspacePlan['transfer'];
}

/** Result of {@link buildInvocation}. */
export type BuildInvocationResult = { success: true; value: RunInvocation } | InvocationFailure;

/**
 * Builds one attempt of a run. Fails (as a value) when no Paperclip URL is reachable from pods, when host files
 * cannot be read, or when the files exceed what a Secret can hold.
 */
export async function buildInvocation(
  ctx: AdapterExecutionContext,
  config: AdapterConfig,
  options: BuildInvocationOptions,
): Promise<BuildInvocationResult> {
  const skills = selectRunSkills(parseRuntimeSkills(ctx.config));
  let instructionsFilePath = config.instructionsFilePath;
  if (instructionsFilePath !== undefined) {
    const roots = instructionsRoots(ctx.agent, options.hostPaths ?? {}, options.serverEnv);
    const checked = await checkHostPath(instructionsFilePath, roots, {
      what: 'instructionsFilePath',
      policy: 'instructions roots policy (CLAUDE_K8S_INSTRUCTIONS_DIRS)',
      ...(options.hostFiles.realpath ? { realpath: (path: string) => options.hostFiles.realpath!(path) } : {}),
    });
    if (!checked.ok) return { success: false, code: 'adapter_config_invalid', message: checked.message };
    instructionsFilePath = checked.realPath;
  }
  const workspaceVolume = resolveWorkspaceVolume(options.hostPaths ?? {}, options.serverEnv);
  if (!workspaceVolume.ok) return { success: false, code: 'adapter_config_invalid', message: workspaceVolume.message };
  const host = await readHostInputs(options.hostFiles, {
    instructionsFilePath,
    skills: skills.skills,
    ...(config.workspace.mode !== 'none' ? { workspaceContext: ctx.context } : {}),
  });
  const runtimeMcpServers = ctx.runtimeMcp?.getServers() ?? [];
  return planInvocation(
    ctx,
    config,
    { skills, host, runtimeMcpServers, workspaceVolume: workspaceVolume.value },
    options,
  );
}

/** What {@link planInvocation} works from besides the run's context: the selected skills, what was read from the host. */
export interface InvocationInputs {
  skills: RunSkillSelection;
  host: HostInputs;
  /** The MCP servers Paperclip manages for this run (`ctx.runtimeMcp.getServers()`). */
  runtimeMcpServers: readonly Pick<AdapterRuntimeMcpServer, 'name' | 'url' | 'token'>[];
  /** The operator's shared workspace volume. @default null (none) */
  workspaceVolume?: WorkspaceVolumeSettings | null;
}

/** Builds one attempt of a run from data already read (pure). */
export function planInvocation(
  ctx: AdapterExecutionContext,
  config: AdapterConfig,
  inputs: InvocationInputs,
  options: Pick<
    BuildInvocationOptions,
    'serverEnv' | 'defaultNamespace' | 'forceFreshSession' | 'attempt' | 'podDefaults'
  >,
): BuildInvocationResult {
  const apiUrl = resolvePaperclipApiUrl(config, options.serverEnv);
  if (apiUrl === null)
    return {
      success: false,
      code: 'adapter_config_invalid',
      message:
        "paperclipApiUrl: required: set the URL pods use to reach Paperclip (the server's PAPERCLIP_API_URL is unset or a loopback address)",
    };
  const podLayout = planPodLayout({
    agentId: ctx.agent.id,
    companyId: ctx.agent.companyId,
    taskKey: ctx.runtime.taskKey,
    config,
    defaultNamespace: options.defaultNamespace,
  });
  const workspace = planWorkspace({
    context: ctx.context,
    config,
    volume: inputs.workspaceVolume ?? null,
    host: inputs.host.workspace ?? null,
    podCwd: podLayout.cwd,
  });
  if (!('mode' in workspace)) return workspace;
  const layout = workspace.cwd === null ? podLayout : { ...podLayout, cwd: workspace.cwd };
  const bundle = buildPromptBundle(inputs.host);
  if (!bundle.success) return bundle;
  const mcp = buildMcpConfig({
    configured: config.mcpServers,
    runtimeServers: inputs.runtimeMcpServers,
    apiUrl,
  });
  const session = planSession({
    cwd: layout.cwd,
    promptBundleKey: bundle.key,
    mcpServerIdentity: mcp.identity,
    sessionVolume: layout.sessionVolume,
    runtime: ctx.runtime,
    forceFreshSession: options.forceFreshSession === true,
  });
  const resumed = session.resume.resume;
  const prompt = buildRunPrompt({ run: ctx, config, resumed });
  const runFiles = buildRunFiles({
    promptText: prompt.prompt.text,
    instructions: bundle.instructions,
    mcpConfig: mcp.config,
    skillFiles: bundle.skillFiles,
    instructionFiles: bundle.instructionFiles,
    resumed,
  });
  const claude = buildClaudeCommand({
    config,
    // Without a collector (Paperclip restarting), the changes wait in the pod for the run that adopts the Job.
    transfer:
      workspace.transfer === null
        ? null
        : { collectSec: Math.max(config.workspace.transferCollectSec, config.adoptWithinSec) },
    resume: session.resume,
    shipped: runFiles.shipped,
    cwd: layout.cwd,
    budgetArgs: buildBudgetCliArgs(config, session.resume.resume),
  });
  const paperclipEnv = buildPaperclipEnv({ run: ctx, apiUrl, workspaceEnv: workspace.env });
  const containerEnv = buildContainerEnv({ config, homePath: layout.home.mountPath, paperclipEnv: paperclipEnv.env });
  const files = [...runFiles.files, ...paperclipEnv.files, ...containerEnv.files];
  const tooLarge = checkRunFilesSize(files);
  if (tooLarge !== null) return tooLarge;
  const notes = [
    inputs.skills.notes,
    layout.notes,
    workspace.notes,
    bundle.notes,
    mcp.notes,
    session.notes,
    prompt.notes,
    runFiles.notes,
    claude.notes,
    paperclipEnv.notes,
    containerEnv.notes,
  ].flat();
  return {
    success: true,
    value: {
      launch: assembleLaunchRequest({
        run: ctx,
        config,
        layout,
        attempt: options.attempt ?? 1,
        command: claude.command,
        env: containerEnv.env,
        files,
        workspace,
        ...(options.podDefaults ? { podDefaults: options.podDefaults } : {}),
      }),
      claudeArgs: claude.args,
      prompt: prompt.prompt,
      resume: session.resume,
      sessionTarget: session.target,
      notes,
      paperclipApiUrl: apiUrl,
      workspace: { mode: workspace.mode, cwd: layout.cwd },
      transfer: workspace.transfer,
    },
  };
}
