/**
 * The Paperclip side of the container env: the run context (`PAPERCLIP_*` as plain values, with pod-side paths),
 * the wake payload (a file, and as `PAPERCLIP_WAKE_PAYLOAD_JSON` when small) and the run token (per-run Secret).
 */
import type { AdapterExecutionContext } from '@paperclipai/adapter-utils';
import type { RunEnvVar } from '@claude-k8s/kube-runtime';
import type { RunFile } from './launch-request.ts';
import { isRecord, readText } from '../raw-values.ts';
import { RUN_FILE, runFilePath, SCRATCH_DIR } from './pod-layout.ts';
import { byteLength } from './run-files.ts';

/** Larger wake payloads are only available as a file, not as `PAPERCLIP_WAKE_PAYLOAD_JSON`. Bytes. */
export const MAX_WAKE_PAYLOAD_ENV_BYTES = 64 * 1024;

/** The Paperclip variables of the container and the per-run files they refer to. */
export interface PaperclipEnv {
  env: RunEnvVar[];
  files: RunFile[];
  notes: string[];
}

/** Input of {@link buildPaperclipEnv}. */
export interface PaperclipEnvInput {
  run: Pick<AdapterExecutionContext, 'runId' | 'agent' | 'context' | 'authToken'>;
  /** The pod-reachable Paperclip URL. */
  apiUrl: string;
  /** The workspace stage's variables (`PAPERCLIP_WORKSPACE_*` …), describing the pod's paths. */
  workspaceEnv: readonly RunEnvVar[];
}

/** True when a value holds a URL with credentials (`https://user:token@host/...`), alone or inside JSON. */
function hasUrlCredentials(value: string): boolean {
  return /[a-z][a-z0-9+.-]*:\/\/[^/\s"'@]+@/i.test(value);
}

function runContextEnv(input: PaperclipEnvInput): RunEnvVar[] {
  const { run, apiUrl } = input;
  const context = run.context;
  const env: RunEnvVar[] = [];
  const add = (name: string, value: string | null): void => {
    if (value !== null) env.push({ name, value });
  };
  add('PAPERCLIP_API_URL', apiUrl);
  add('PAPERCLIP_RUNTIME_API_URL', apiUrl);
  add('PAPERCLIP_AGENT_ID', run.agent.id);
  add('PAPERCLIP_COMPANY_ID', run.agent.companyId);
  add('PAPERCLIP_RUN_ID', run.runId);
  add('PAPERCLIP_TASK_ID', readText(context['taskId']) ?? readText(context['issueId']));
  const issue = isRecord(context['paperclipIssue']) ? context['paperclipIssue'] : null;
  add('PAPERCLIP_ISSUE_WORK_MODE', issue === null ? null : readText(issue['workMode']));
  add('PAPERCLIP_WAKE_REASON', readText(context['wakeReason']));
  add('PAPERCLIP_WAKE_COMMENT_ID', readText(context['wakeCommentId']) ?? readText(context['commentId']));
  add('PAPERCLIP_APPROVAL_ID', readText(context['approvalId']));
  add('PAPERCLIP_APPROVAL_STATUS', readText(context['approvalStatus']));
  const linked = Array.isArray(context['issueIds'])
    ? context['issueIds'].filter((item): item is string => typeof item === 'string' && item.trim() !== '')
    : [];
  add('PAPERCLIP_LINKED_ISSUE_IDS', linked.length > 0 ? linked.join(',') : null);
  env.push(...input.workspaceEnv);
  add('PAPERCLIP_RUN_SCRATCH_DIR', SCRATCH_DIR);
  add('PAPERCLIP_SCRATCH_DIR', SCRATCH_DIR);
  return env;
}

/** Builds the Paperclip variables: run context, wake payload, run token (each secret only by reference). */
export function buildPaperclipEnv(input: PaperclipEnvInput): PaperclipEnv {
  const files: RunFile[] = [];
  // A value with credentials in a URL (the workspace repository URL, or the workspaces JSON holding it) travels in the
  // per-run Secret, never as a plain env value in the Job.
  const env = runContextEnv(input).map((variable): RunEnvVar => {
    if (!('value' in variable) || !hasUrlCredentials(variable.value)) return variable;
    const key = `credential-${variable.name}`;
    files.push({ key, path: null, content: variable.value, sensitive: true });
    return { name: variable.name, fileKey: key };
  });
  const notes: string[] = [];
  const wake = input.run.context['paperclipWake'];
  if (wake !== undefined && wake !== null) {
    const wakeJson = JSON.stringify(wake);
    files.push({ key: RUN_FILE.wakePayload, path: RUN_FILE.wakePayload, content: wakeJson, sensitive: false });
    env.push({ name: 'PAPERCLIP_WAKE_PAYLOAD_PATH', value: runFilePath(RUN_FILE.wakePayload) });
    if (byteLength(wakeJson) <= MAX_WAKE_PAYLOAD_ENV_BYTES)
      env.push({ name: 'PAPERCLIP_WAKE_PAYLOAD_JSON', fileKey: RUN_FILE.wakePayload });
    else
      notes.push(
        `wake payload is ${byteLength(wakeJson)} bytes: only available as the file $PAPERCLIP_WAKE_PAYLOAD_PATH`,
      );
  }
  const token = input.run.authToken;
  if (token !== undefined && token !== '') {
    files.push({ key: RUN_FILE.runToken, path: null, content: token, sensitive: true });
    env.push({ name: 'PAPERCLIP_API_KEY', fileKey: RUN_FILE.runToken });
  } else {
    notes.push('no run token from Paperclip (supportsLocalAgentJwt): the agent cannot call the Paperclip API');
  }
  return { env, files, notes };
}
