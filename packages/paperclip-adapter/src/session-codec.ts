/**
 * Session params stored by Paperclip between runs (per agent and task), and the rule for when a stored session may
 * be resumed. Claude Code keeps a session under `$HOME/.claude/projects/<cwd>/`, so a resume only works in a pod that
 * mounts the same session volume as HOME and runs in the same working directory.
 */
import type { AdapterSessionCodec } from '@paperclipai/adapter-utils';
import type { ConfigIssue } from './config-field-schema.ts';
import { isRecord } from './raw-values.ts';

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i;

/** True when `value` has the shape of a Claude Code session id (a UUID, any case). */
export function isSessionId(value: string): boolean {
  return UUID.test(value);
}

/** The session volume a session lives on. */
export interface SessionVolumeIdentity {
  namespace: string;
  claimName: string;
  /** Where it was mounted; it is HOME. */
  mountPath: string;
  /**
   * The claim's sub-directory mounted there: the agent's own HOME. Absent in params stored under the old layout (every
   * agent's HOME was the claim's root), which are therefore never resumed into a per-agent HOME.
   */
  subPath?: string;
}

/** What the adapter stores after a run, to resume the session next time. */
export interface SessionParams {
  /** Claude Code session id (a UUID). */
  sessionId: string;
  /** Working directory inside the pod. */
  cwd: string;
  /** Hash of the instructions and skills shipped with the fresh session (they are not re-sent on resume). */
  promptBundleKey: string | null;
  /** Hash of the MCP server set (names and URLs, not tokens). */
  mcpServerIdentity: string | null;
  /** Session volume that holds HOME; `null` when the run had none (its session cannot be resumed). */
  sessionVolume: SessionVolumeIdentity | null;
  workspaceId?: string;
  repoUrl?: string;
  repoRef?: string;
  /** Image of the run that created or last used the session (informational; not part of the match). */
  image?: string;
  /** True for params stored by the predecessor adapter (no session volume identity; never resumed). */
  legacy?: boolean;
}

/** Result of {@link decodeSessionParams}. */
export type DecodeSessionResult = { success: true; value: SessionParams } | { success: false; issues: ConfigIssue[] };

function readString(source: Record<string, unknown>, ...keys: string[]): string | undefined {
  for (const key of keys) {
    const value = source[key];
    if (typeof value === 'string' && value.trim() !== '') return value.trim();
  }
  return undefined;
}

/**
 * Decodes stored session params: this adapter's shape, or the predecessor's (`sessionId`/`session_id`, `cwd`,
 * `workspaceId`/`workspace_id`, `repoUrl`/`repo_url`, `repoRef`/`repo_ref`, `promptBundleKey`/`prompt_bundle_key`).
 * Keys Paperclip adds (`__paperclipConfig*`) are ignored.
 */
export function decodeSessionParams(raw: unknown): DecodeSessionResult {
  if (!isRecord(raw)) return { success: false, issues: [{ path: '', message: 'expected an object' }] };
  const issues: ConfigIssue[] = [];
  const sessionId = readString(raw, 'sessionId', 'session_id');
  if (sessionId === undefined) issues.push({ path: 'sessionId', message: 'required' });
  else if (!isSessionId(sessionId)) issues.push({ path: 'sessionId', message: 'expected a UUID' });
  const cwd = readString(raw, 'cwd');
  if (cwd !== undefined && !cwd.startsWith('/')) issues.push({ path: 'cwd', message: 'expected an absolute path' });

  let sessionVolume: SessionVolumeIdentity | null = null;
  const volumeRaw = raw['sessionVolume'] ?? raw['session_volume'];
  if (isRecord(volumeRaw)) {
    const namespace = readString(volumeRaw, 'namespace');
    const claimName = readString(volumeRaw, 'claimName', 'claim_name');
    const mountPath = readString(volumeRaw, 'mountPath', 'mount_path');
    if (namespace === undefined || claimName === undefined || mountPath === undefined) {
      issues.push({ path: 'sessionVolume', message: 'expected {namespace, claimName, mountPath}' });
    } else {
      const subPath = readString(volumeRaw, 'subPath', 'sub_path');
      sessionVolume = { namespace, claimName, mountPath, ...(subPath === undefined ? {} : { subPath }) };
    }
  } else if (volumeRaw !== undefined && volumeRaw !== null) {
    issues.push({ path: 'sessionVolume', message: 'expected an object or null' });
  }
  if (issues.length > 0 || sessionId === undefined) return { success: false, issues };

  const version = raw['v'];
  const legacy = version !== 1;
  const params: SessionParams = {
    sessionId: sessionId.toLowerCase(),
    cwd: cwd ?? '',
    promptBundleKey: readString(raw, 'promptBundleKey', 'prompt_bundle_key') ?? null,
    mcpServerIdentity: readString(raw, 'mcpServerIdentity', 'mcp_server_identity') ?? null,
    sessionVolume,
  };
  const workspaceId = readString(raw, 'workspaceId', 'workspace_id');
  const repoUrl = readString(raw, 'repoUrl', 'repo_url');
  const repoRef = readString(raw, 'repoRef', 'repo_ref');
  const image = readString(raw, 'image');
  if (workspaceId !== undefined) params.workspaceId = workspaceId;
  if (repoUrl !== undefined) params.repoUrl = repoUrl;
  if (repoRef !== undefined) params.repoRef = repoRef;
  if (image !== undefined) params.image = image;
  if (legacy) params.legacy = true;
  return { success: true, value: params };
}

/** Encodes params for storage (camelCase, with a version marker `v: 1`). */
export function encodeSessionParams(params: SessionParams): Record<string, unknown> {
  const encoded: Record<string, unknown> = {
    v: 1,
    sessionId: params.sessionId,
    cwd: params.cwd,
    promptBundleKey: params.promptBundleKey,
    mcpServerIdentity: params.mcpServerIdentity,
    sessionVolume: params.sessionVolume === null ? null : { ...params.sessionVolume },
  };
  if (params.workspaceId !== undefined) encoded['workspaceId'] = params.workspaceId;
  if (params.repoUrl !== undefined) encoded['repoUrl'] = params.repoUrl;
  if (params.repoRef !== undefined) encoded['repoRef'] = params.repoRef;
  if (params.image !== undefined) encoded['image'] = params.image;
  if (params.legacy === true) {
    // Keep predecessor params recognisable after a round trip through Paperclip.
    delete encoded['v'];
  }
  return encoded;
}

/** Paperclip's session codec for this adapter. Invalid stored params decode to `null` (a fresh session). */
export const sessionCodec = {
  deserialize(raw: unknown): Record<string, unknown> | null {
    const decoded = decodeSessionParams(raw);
    return decoded.success ? encodeSessionParams(decoded.value) : null;
  },
  serialize(params: Record<string, unknown> | null): Record<string, unknown> | null {
    if (params === null) return null;
    const decoded = decodeSessionParams(params);
    return decoded.success ? encodeSessionParams(decoded.value) : null;
  },
  getDisplayId(params: Record<string, unknown> | null): string | null {
    if (params === null) return null;
    const decoded = decodeSessionParams(params);
    return decoded.success ? decoded.value.sessionId : null;
  },
} satisfies Required<AdapterSessionCodec>;

/** The facts of the run about to start that a stored session must match. */
export interface SessionMatchTarget {
  cwd: string;
  promptBundleKey: string | null;
  mcpServerIdentity: string | null;
  sessionVolume: SessionVolumeIdentity | null;
}

/** Whether to resume, and if not, why (logged to the run). */
export type ResumeDecision = { resume: true; sessionId: string } | { resume: false; reason: string | null };

/**
 * Decides whether a stored session can be resumed: only when it was created on the same session volume (same
 * namespace, claim and mount path, i.e. the same HOME), in the same working directory, with the same instructions
 * and skills bundle and the same MCP server set. `reason` is `null` when there was no stored session at all.
 */
export function decideResume(stored: unknown, target: SessionMatchTarget): ResumeDecision {
  if (stored === null || stored === undefined) return { resume: false, reason: null };
  const decoded = decodeSessionParams(stored);
  if (!decoded.success) {
    return {
      resume: false,
      reason: `stored session params are not usable (${decoded.issues.map((issue) => `${issue.path}: ${issue.message}`).join('; ')})`,
    };
  }
  const params = decoded.value;
  const why = (text: string): ResumeDecision => ({
    resume: false,
    reason: `session ${params.sessionId} not resumed: ${text}`,
  });
  if (params.legacy === true)
    return why('it was stored by the predecessor adapter, whose HOME is not known to be this session volume');
  if (target.sessionVolume === null)
    return why('no session volume is configured, so the session files are not available');
  if (params.sessionVolume === null) return why('it was created without a session volume');
  const a = params.sessionVolume;
  const b = target.sessionVolume;
  if (a.namespace !== b.namespace || a.claimName !== b.claimName || a.mountPath !== b.mountPath) {
    return why(
      `it lives on ${a.namespace}/${a.claimName} at ${a.mountPath}, this run uses ${b.namespace}/${b.claimName} at ${b.mountPath}`,
    );
  }
  if ((a.subPath ?? null) !== (b.subPath ?? null)) {
    return why(
      a.subPath === undefined
        ? `it was stored under the shared HOME layout (the claim's root), and this run's HOME is the agent's own ${b.subPath ?? '(root)'}`
        : `it lives in ${a.subPath} of the claim, this run's HOME is ${b.subPath ?? "the claim's root"}`,
    );
  }
  if (params.cwd !== target.cwd)
    return why(`working directory changed from ${params.cwd || '(unknown)'} to ${target.cwd}`);
  if (params.promptBundleKey !== target.promptBundleKey) return why('the instructions or skills changed');
  if (params.mcpServerIdentity !== target.mcpServerIdentity) return why('the MCP server set changed');
  return { resume: true, sessionId: params.sessionId };
}
