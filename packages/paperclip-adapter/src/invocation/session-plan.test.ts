import { describe, expect, it } from 'vitest';
import { encodeSessionParams } from '../session-codec.ts';
import { planSession, type SessionPlanInput } from './session-plan.ts';

const SESSION = 'ef4396a5-b2f7-468b-9c86-9d272562d804';
const volume = { namespace: 'agents', claimName: 'sessions', mountPath: '/home/agent' };
const base: SessionPlanInput = {
  cwd: '/home/agent/workspaces/a1',
  promptBundleKey: 'bundle-1',
  mcpServerIdentity: null,
  sessionVolume: volume,
  runtime: { sessionId: null, sessionParams: null },
  forceFreshSession: false,
};
const stored = encodeSessionParams({
  sessionId: SESSION,
  cwd: base.cwd,
  promptBundleKey: 'bundle-1',
  mcpServerIdentity: null,
  sessionVolume: volume,
});

describe('planSession', () => {
  it('nothing stored: a fresh session, the target to store, no note', () => {
    expect(planSession(base)).toEqual({
      target: { cwd: base.cwd, promptBundleKey: 'bundle-1', mcpServerIdentity: null, sessionVolume: volume },
      resume: { resume: false, reason: null },
      notes: [],
    });
  });

  it('resumes matching stored params, with a note', () => {
    const plan = planSession({ ...base, runtime: { sessionId: SESSION, sessionParams: stored } });
    expect(plan.resume).toEqual({ resume: true, sessionId: SESSION });
    expect(plan.notes).toEqual([`resuming session ${SESSION}`]);
  });

  it('says why a stored session is not resumed', () => {
    const plan = planSession({
      ...base,
      promptBundleKey: 'bundle-2',
      runtime: { sessionId: null, sessionParams: stored },
    });
    expect(plan.resume.resume).toBe(false);
    expect(plan.notes).toEqual([`session ${SESSION} not resumed: the instructions or skills changed`]);
  });

  it('a forced fresh session ignores what is stored', () => {
    const plan = planSession({
      ...base,
      forceFreshSession: true,
      runtime: { sessionId: SESSION, sessionParams: stored },
    });
    expect(plan.resume).toEqual({ resume: false, reason: 'retrying with a fresh session' });
    expect(plan.notes).toEqual(['retrying with a fresh session']);
  });

  it('a bare stored id is resumed only with a session volume and only when it is a UUID', () => {
    const bare = { sessionId: SESSION, sessionParams: null };
    expect(planSession({ ...base, runtime: bare }).resume).toEqual({ resume: true, sessionId: SESSION });
    expect(planSession({ ...base, sessionVolume: null, runtime: bare }).notes).toEqual([
      `session ${SESSION} not resumed: only a bare session id was stored and no session volume is configured`,
    ]);
    expect(planSession({ ...base, runtime: { sessionId: 'not-a-uuid', sessionParams: null } }).notes).toEqual([
      'session not-a-uuid not resumed: only a bare session id was stored and it is not a session UUID',
    ]);
    expect(planSession({ ...base, forceFreshSession: true, runtime: bare }).resume.resume).toBe(false);
  });
});
