/**
 * claude's command line in the pod, and the shell wrapper the container runs it with.
 */
import type { AdapterConfig } from '../config-schema.ts';
import type { ResumeDecision } from '../session-codec.ts';
import { RUN_FILE, runFilePath } from './pod-layout.ts';
import type { RunFiles } from './run-files.ts';
import { TRANSFER_CONTROL_DIR, TRANSFER_LAUNCH_SCRIPT, TRANSFER_WAIT_SEC } from '../workspace-transfer/pod-scripts.ts';

/**
 * The container's shell wrapper: creates and enters the working directory ($1), then execs claude (the remaining
 * arguments, never re-parsed by the shell) with the prompt file as stdin.
 */
export const LAUNCH_SCRIPT = [
  'set -eu',
  'mkdir -p -- "$1" "$PAPERCLIP_RUN_SCRATCH_DIR"',
  'cd -- "$1"',
  'shift',
  `exec "$@" < ${runFilePath(RUN_FILE.prompt)}`,
].join('\n');

/** claude's command line and the container's full argv. */
export interface ClaudeCommand {
  /** claude and its arguments (without the shell wrapper). */
  args: string[];
  /** The container's argv: the {@link LAUNCH_SCRIPT} wrapper, the working directory, then {@link ClaudeCommand.args}. */
  command: string[];
  notes: string[];
}

/** Input of {@link buildClaudeCommand}. */
export interface ClaudeCommandInput {
  config: Pick<AdapterConfig, 'dangerouslySkipPermissions' | 'model' | 'effort' | 'maxTurnsPerRun' | 'extraArgs'>;
  /** The budget's CLI flags (`--max-budget-usd`), placed after `--max-turns`; see `budget/budget-guard.ts`. */
  budgetArgs: readonly string[];
  resume: ResumeDecision;
  /** Which optional files the run ships (each adds the flag that reads it). */
  shipped: RunFiles['shipped'];
  cwd: string;
  /** The transfer mode: the entry waits for the workspace, then stays up `collectSec` for the collection. */
  transfer?: { collectSec: number } | null;
}

/** Builds claude's arguments in a fixed order, the config's `extraArgs` last. */
export function buildClaudeCommand(input: ClaudeCommandInput): ClaudeCommand {
  const { config, resume, shipped } = input;
  const args = ['claude', '--print', '--output-format', 'stream-json', '--verbose'];
  if (resume.resume) args.push('--resume', resume.sessionId);
  if (config.dangerouslySkipPermissions) args.push('--dangerously-skip-permissions');
  if (config.model !== undefined) args.push('--model', config.model);
  if (config.effort !== undefined) args.push('--effort', config.effort);
  if (config.maxTurnsPerRun > 0) args.push('--max-turns', String(config.maxTurnsPerRun));
  args.push(...input.budgetArgs);
  if (shipped.instructions) args.push('--append-system-prompt-file', runFilePath(RUN_FILE.instructions));
  if (shipped.mcpConfig) args.push('--mcp-config', runFilePath(RUN_FILE.mcpConfig), '--strict-mcp-config');
  if (shipped.skills) args.push('--add-dir', runFilePath(RUN_FILE.skillsDir));
  args.push(...config.extraArgs);
  if (input.transfer)
    return {
      args,
      command: [
        '/bin/sh',
        '-c',
        TRANSFER_LAUNCH_SCRIPT,
        'ck8s-launch',
        TRANSFER_CONTROL_DIR,
        String(TRANSFER_WAIT_SEC),
        String(input.transfer.collectSec),
        runFilePath(RUN_FILE.prompt),
        input.cwd,
        ...args,
      ],
      notes: [],
    };
  return { args, command: ['/bin/sh', '-c', LAUNCH_SCRIPT, 'ck8s-launch', input.cwd, ...args], notes: [] };
}
