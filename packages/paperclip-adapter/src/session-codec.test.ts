import { describe, expect, it } from 'vitest';
import {
  decideResume,
  decodeSessionParams,
  encodeSessionParams,
  sessionCodec,
  type SessionMatchTarget,
  type SessionParams,
} from './session-codec.ts';

const volume = {
  namespace: 'agents',
  claimName: 'claude-sessions',
  mountPath: '/home/agent',
  subPath: 'companies/c-1/agents/a-1',
};
const params: SessionParams = {
  sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
  cwd: '/home/agent/workspaces/agent-1',
  promptBundleKey: 'bundle-1',
  mcpServerIdentity: 'mcp-1',
  sessionVolume: volume,
  workspaceId: 'ws-1',
  image: 'registry.example/claude:1',
};
const target: SessionMatchTarget = {
  cwd: params.cwd,
  promptBundleKey: 'bundle-1',
  mcpServerIdentity: 'mcp-1',
  sessionVolume: volume,
};

describe('sessionCodec', () => {
  it('round-trips its own params with a version marker', () => {
    const stored = sessionCodec.serialize(encodeSessionParams(params));
    expect(stored).toEqual({ v: 1, ...params });
    expect(sessionCodec.deserialize(stored)).toEqual(stored);
    expect(sessionCodec.getDisplayId(stored)).toBe(params.sessionId);
  });

  it('ignores the keys Paperclip adds', () => {
    expect(sessionCodec.deserialize({ ...encodeSessionParams(params), __paperclipConfigFingerprint: 'x' })).toEqual(
      encodeSessionParams(params),
    );
  });

  it('rejects params without a UUID session id, and null', () => {
    expect(sessionCodec.deserialize({ sessionId: 'no-such-session', cwd: '/x' })).toBeNull();
    expect(sessionCodec.deserialize({ cwd: '/x' })).toBeNull();
    expect(sessionCodec.deserialize('text')).toBeNull();
    expect(sessionCodec.serialize(null)).toBeNull();
    expect(sessionCodec.getDisplayId(null)).toBeNull();
    expect(decodeSessionParams({ sessionId: 'x', cwd: 'relative' })).toEqual({
      success: false,
      issues: [
        { path: 'sessionId', message: 'expected a UUID' },
        { path: 'cwd', message: 'expected an absolute path' },
      ],
    });
  });

  it("accepts the predecessor's params, camelCase and snake_case, and keeps them marked legacy", () => {
    const camel = {
      sessionId: params.sessionId,
      cwd: '/paperclip',
      workspaceId: 'w',
      repoUrl: 'https://git.example/r',
      repoRef: 'main',
      promptBundleKey: 'k',
    };
    const snake = {
      session_id: params.sessionId,
      cwd: '/paperclip',
      workspace_id: 'w',
      repo_url: 'https://git.example/r',
      repo_ref: 'main',
      prompt_bundle_key: 'k',
    };
    const expected = {
      sessionId: params.sessionId,
      cwd: '/paperclip',
      promptBundleKey: 'k',
      mcpServerIdentity: null,
      sessionVolume: null,
      workspaceId: 'w',
      repoUrl: 'https://git.example/r',
      repoRef: 'main',
      legacy: true,
    };
    expect(decodeSessionParams(camel)).toEqual({ success: true, value: expected });
    expect(decodeSessionParams(snake)).toEqual({ success: true, value: expected });
    const stored = sessionCodec.serialize(camel);
    expect(stored).not.toHaveProperty('v');
    expect(decodeSessionParams(stored)).toEqual({ success: true, value: expected });
  });
});

describe('decideResume', () => {
  it('resumes when volume, cwd, bundle and MCP identity all match', () => {
    expect(decideResume(encodeSessionParams(params), target)).toEqual({ resume: true, sessionId: params.sessionId });
  });

  it('starts fresh with no reason when nothing was stored', () => {
    expect(decideResume(null, target)).toEqual({ resume: false, reason: null });
  });

  it.each([
    [
      'another claim',
      { sessionVolume: { ...volume, claimName: 'other' } },
      /lives on agents\/claude-sessions at \/home\/agent, this run uses agents\/other/,
    ],
    [
      'another mount path',
      { sessionVolume: { ...volume, mountPath: '/data' } },
      /this run uses agents\/claude-sessions at \/data/,
    ],
    ['no session volume now', { sessionVolume: null }, /no session volume is configured/],
    [
      "another agent's HOME",
      { sessionVolume: { ...volume, subPath: 'companies/c-1/agents/a-2' } },
      /it lives in companies\/c-1\/agents\/a-1 of the claim, this run's HOME is companies\/c-1\/agents\/a-2/,
    ],
    ['another cwd', { cwd: '/elsewhere' }, /working directory changed/],
    ['other instructions or skills', { promptBundleKey: 'bundle-2' }, /instructions or skills changed/],
    ['other MCP servers', { mcpServerIdentity: null }, /MCP server set changed/],
  ])('starts fresh and says why: %s', (_name, change, reason) => {
    const decision = decideResume(encodeSessionParams(params), { ...target, ...change });
    expect(decision.resume).toBe(false);
    expect(!decision.resume && decision.reason).toMatch(reason);
  });

  it('never resumes predecessor params or sessions created without a volume', () => {
    expect(decideResume({ sessionId: params.sessionId, cwd: params.cwd }, target)).toMatchObject({
      resume: false,
      reason: expect.stringMatching(/predecessor/) as unknown,
    });
    expect(decideResume(encodeSessionParams({ ...params, sessionVolume: null }), target)).toMatchObject({
      resume: false,
      reason: expect.stringMatching(/created without a session volume/) as unknown,
    });
  });

  it('explains unusable stored params', () => {
    expect(decideResume({ sessionId: 'nope' }, target)).toEqual({
      resume: false,
      reason: 'stored session params are not usable (sessionId: expected a UUID)',
    });
  });
});

describe('sessions stored under the old shared-HOME layout (issue 15)', () => {
  it("are never resumed into an agent's own HOME: they start fresh once, saying why", () => {
    const { subPath: _subPath, ...oldVolume } = volume;
    const stored = encodeSessionParams({ ...params, sessionVolume: oldVolume });
    expect(decodeSessionParams(stored)).toMatchObject({ success: true, value: { sessionVolume: oldVolume } });
    const decision = decideResume(stored, target);
    expect(decision).toEqual({
      resume: false,
      reason: `session ${params.sessionId} not resumed: it was stored under the shared HOME layout (the claim's root), and this run's HOME is the agent's own companies/c-1/agents/a-1`,
    });
    // The new layout round-trips its sub-path and resumes.
    expect(decideResume(encodeSessionParams(params), target)).toEqual({ resume: true, sessionId: params.sessionId });
  });
});
