/**
 * The session plan of a run: what a new session will be stored with, and whether the stored one is resumed (with
 * the reason when it is not).
 */
import type { AdapterRuntime } from '@paperclipai/adapter-utils';
import {
  decideResume,
  isSessionId,
  type ResumeDecision,
  type SessionMatchTarget,
  type SessionVolumeIdentity,
} from '../session-codec.ts';

/** The session plan of a run. */
export interface SessionPlan {
  /** What the new session will be stored with (and what a stored session must match). */
  target: SessionMatchTarget;
  resume: ResumeDecision;
  notes: string[];
}

/** Input of {@link planSession}. */
export interface SessionPlanInput {
  cwd: string;
  promptBundleKey: string | null;
  mcpServerIdentity: string | null;
  sessionVolume: SessionVolumeIdentity | null;
  /** What Paperclip stored for this agent and task. */
  runtime: Pick<AdapterRuntime, 'sessionId' | 'sessionParams'>;
  /** Ignore the stored session (the retry after an unknown session). */
  forceFreshSession: boolean;
}

/**
 * Decides the resume. Stored params are matched against the target ({@link decideResume}). Paperclip keeps only the
 * bare id for wakes without a task (its agent-level runtime state): with a session volume the session's files are
 * where the CLI looks (HOME on the volume, the agent's fixed cwd), so it is resumed; should they be gone, the CLI
 * reports an unknown session and the run is retried once fresh.
 */
export function planSession(input: SessionPlanInput): SessionPlan {
  const { runtime, sessionVolume } = input;
  const target: SessionMatchTarget = {
    cwd: input.cwd,
    promptBundleKey: input.promptBundleKey,
    mcpServerIdentity: input.mcpServerIdentity,
    sessionVolume,
  };
  let resume: ResumeDecision = input.forceFreshSession
    ? { resume: false, reason: 'retrying with a fresh session' }
    : decideResume(runtime.sessionParams, target);
  if (
    !resume.resume &&
    resume.reason === null &&
    !input.forceFreshSession &&
    runtime.sessionId !== null &&
    runtime.sessionParams === null
  ) {
    resume =
      isSessionId(runtime.sessionId) && sessionVolume !== null
        ? { resume: true, sessionId: runtime.sessionId }
        : {
            resume: false,
            reason: `session ${runtime.sessionId} not resumed: only a bare session id was stored and ${sessionVolume === null ? 'no session volume is configured' : 'it is not a session UUID'}`,
          };
  }
  const notes = resume.resume
    ? [`resuming session ${resume.sessionId}`]
    : resume.reason === null
      ? []
      : [resume.reason];
  return { target, resume, notes };
}
