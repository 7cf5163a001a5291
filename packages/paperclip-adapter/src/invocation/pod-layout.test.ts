import { describe, expect, it } from 'vitest';
import { agentHomeSubPath, planPodLayout, runFilePath, skillDirectory } from './pod-layout.ts';

describe('planPodLayout', () => {
  it('with a session volume mounted as home: HOME /home/agent, cwd under it, the volume identity for sessions', () => {
    expect(
      planPodLayout({
        agentId: 'agent 1/x',
        companyId: 'company-1',
        config: { namespace: 'agents', sessionVolume: { claimName: 'sessions', mountAs: 'home' }, cwd: undefined },
        defaultNamespace: 'paperclip',
      }),
    ).toEqual({
      namespace: 'agents',
      home: { mountPath: '/home/agent', claimName: 'sessions', subPath: agentHomeSubPath('company-1', 'agent 1/x') },
      cwd: '/home/agent/workspaces/agent-1-x',
      sessionVolume: {
        namespace: 'agents',
        claimName: 'sessions',
        mountPath: '/home/agent',
        subPath: agentHomeSubPath('company-1', 'agent 1/x'),
      },
      notes: [],
    });
  });

  it('a custom mount path (trailing slashes removed) becomes HOME; cwd from the config wins', () => {
    const layout = planPodLayout({
      agentId: 'a1',
      companyId: 'c1',
      config: { namespace: undefined, sessionVolume: { claimName: 'sessions', mountAs: '/data//' }, cwd: '/data/p' },
      defaultNamespace: 'paperclip',
    });
    const subPath = agentHomeSubPath('c1', 'a1');
    expect(layout.home).toEqual({ mountPath: '/data', claimName: 'sessions', subPath });
    expect(layout.cwd).toBe('/data/p');
    expect(layout.sessionVolume).toEqual({
      namespace: 'paperclip',
      claimName: 'sessions',
      mountPath: '/data',
      subPath,
    });
  });

  it('each task gets its own default working directory below the agent one; a configured cwd is shared', () => {
    const config = { namespace: 'agents', sessionVolume: { claimName: 'sessions', mountAs: 'home' }, cwd: undefined };
    const cwdOf = (taskKey: string | null, cwd?: string) =>
      planPodLayout({ agentId: 'a1', companyId: 'c1', taskKey, config: { ...config, cwd }, defaultNamespace: 'x' }).cwd;
    expect(cwdOf('5d0c5a8e-1111-4222-8333-444455556666')).toBe(
      '/home/agent/workspaces/a1/5d0c5a8e-1111-4222-8333-444455556666',
    );
    expect(cwdOf(null)).toBe('/home/agent/workspaces/a1');
    // Keys that are no safe file name get a slug and a hash, so two keys never share a directory.
    const odd = [cwdOf('issue:1'), cwdOf('issue/1'), cwdOf('..'), cwdOf('.hidden')];
    expect(new Set(odd).size).toBe(4);
    for (const path of odd)
      expect(path).toMatch(/^\/home\/agent\/workspaces\/a1\/(?:[A-Za-z0-9_][A-Za-z0-9._-]*-)?[0-9a-f]{10}$/);
    expect(cwdOf('issue-1', '/work')).toBe('/work');
  });

  it('without a session volume: emptyDir HOME at /home/agent whatever mountAs says, no session identity', () => {
    const layout = planPodLayout({
      agentId: 'a1',
      companyId: 'c1',
      config: { namespace: 'agents', sessionVolume: { mountAs: '/data' }, cwd: undefined },
      defaultNamespace: 'x',
    });
    expect(layout.home).toEqual({ mountPath: '/home/agent', claimName: null });
    expect(layout.sessionVolume).toBeNull();
  });
});

describe('agentHomeSubPath (issue 15)', () => {
  it('gives every agent of every company its own directory of safe segments', () => {
    expect(agentHomeSubPath('company-1', 'agent-1')).toMatch(
      /^companies\/company-1-[0-9a-f]{12}\/agents\/agent-1-[0-9a-f]{12}$/,
    );
    // Ids that slug alike, path tricks and empty slugs stay apart and inside the claim.
    const paths = ['a/b', 'a-b', 'A B', '..', '.', '../../etc', ''].map((id) => agentHomeSubPath('c', id));
    expect(new Set(paths).size).toBe(paths.length);
    for (const path of paths) {
      expect(path.split('/')).toHaveLength(4);
      expect(path.split('/').every((segment) => /^[a-z0-9][a-z0-9-]*$/.test(segment))).toBe(true);
    }
    expect(agentHomeSubPath('c1', 'a')).not.toBe(agentHomeSubPath('c2', 'a'));
  });
});

it('run file paths sit below the per-run files mount', () => {
  expect(runFilePath('prompt.md')).toBe('/run/ck8s/files/prompt.md');
  expect(skillDirectory('paperclip')).toBe('skills/.claude/skills/paperclip');
});
