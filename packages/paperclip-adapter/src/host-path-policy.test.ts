import { mkdirSync, mkdtempSync, realpathSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { realpath } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import {
  checkHostPath,
  instructionsRoots,
  managedInstructionsRoot,
  resolveKubeconfigPolicy,
  resolveWorkspaceVolume,
} from './host-path-policy.ts';

const agent = { id: 'agent-1', companyId: 'company-1' };
const options = { what: 'instructionsFilePath', policy: 'instructions roots policy', realpath };

describe('host path policy', () => {
  let home: string;
  let managed: string;
  beforeEach(() => {
    home = realpathSync(mkdtempSync(join(tmpdir(), 'host-path-policy-')));
    managed = managedInstructionsRoot(agent, { PAPERCLIP_HOME: home });
    mkdirSync(managed, { recursive: true });
    writeFileSync(join(managed, 'AGENTS.md'), '# ok');
    writeFileSync(join(home, 'secret.env'), 'DB_PASSWORD=hunter2');
  });
  afterEach(() => rmSync(home, { recursive: true, force: true }));

  it("computes Paperclip's managed root of the agent from PAPERCLIP_HOME and PAPERCLIP_INSTANCE_ID", () => {
    expect(managedInstructionsRoot(agent, { PAPERCLIP_HOME: '/data/pc', PAPERCLIP_INSTANCE_ID: 'prod' })).toBe(
      '/data/pc/instances/prod/companies/company-1/agents/agent-1/instructions',
    );
    expect(instructionsRoots(agent, {}, { PAPERCLIP_HOME: '/p', CLAUDE_K8S_INSTRUCTIONS_DIRS: '/a:/b' })).toEqual([
      '/p/instances/default/companies/company-1/agents/agent-1/instructions',
      '/a',
      '/b',
    ]);
    expect(instructionsRoots(agent, { instructionsDirectories: ['/c'] }, { PAPERCLIP_HOME: '/p' })).toHaveLength(2);
  });

  it('accepts a file in the managed root, refuses one outside, a symlink out, a ".." path and another agent\'s root', async () => {
    const roots = instructionsRoots(agent, {}, { PAPERCLIP_HOME: home });
    expect(await checkHostPath(join(managed, 'AGENTS.md'), roots, options)).toEqual({
      ok: true,
      realPath: join(managed, 'AGENTS.md'),
    });
    symlinkSync(join(home, 'secret.env'), join(managed, 'link.md'));
    const other = managedInstructionsRoot({ id: 'agent-2', companyId: 'company-1' }, { PAPERCLIP_HOME: home });
    mkdirSync(other, { recursive: true });
    writeFileSync(join(other, 'AGENTS.md'), '# theirs');
    for (const path of [
      join(home, 'secret.env'),
      join(managed, 'link.md'),
      `${managed}/../../../../../../secret.env`,
      join(other, 'AGENTS.md'),
      'relative/AGENTS.md',
    ]) {
      const result = await checkHostPath(path, roots, options);
      expect(result.ok).toBe(false);
      expect(!result.ok && result.message).toContain("refused by the server's instructions roots policy");
    }
  });

  it('admits an operator allow-listed directory', async () => {
    const roots = instructionsRoots(agent, { instructionsDirectories: [home] }, { PAPERCLIP_HOME: home });
    expect((await checkHostPath(join(home, 'secret.env'), roots, options)).ok).toBe(true);
  });

  it('reads the kubeconfig policy from settings, else the environment; exec users off by default', () => {
    expect(resolveKubeconfigPolicy({}, {})).toEqual({ allowedDirectories: [], allowExecUsers: false });
    expect(
      resolveKubeconfigPolicy({}, { CLAUDE_K8S_KUBECONFIG_DIR: '/k:/l', CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC: 'true' }),
    ).toEqual({ allowedDirectories: ['/k', '/l'], allowExecUsers: true });
    expect(
      resolveKubeconfigPolicy(
        { kubeconfigDirectories: ['/m'], allowKubeconfigExec: false },
        { CLAUDE_K8S_KUBECONFIG_DIR: '/k', CLAUDE_K8S_KUBECONFIG_ALLOW_EXEC: 'true' },
      ),
    ).toEqual({ allowedDirectories: ['/m'], allowExecUsers: false });
  });
});

describe('resolveWorkspaceVolume', () => {
  it('reads the claim and root from the environment; settings win; none when both are unset', () => {
    expect(resolveWorkspaceVolume({}, {})).toEqual({ ok: true, value: null });
    expect(
      resolveWorkspaceVolume({}, { CLAUDE_K8S_WORKSPACE_CLAIM: ' ws ', CLAUDE_K8S_WORKSPACE_ROOT: '/srv/pc/' }),
    ).toEqual({ ok: true, value: { claimName: 'ws', root: '/srv/pc' } });
    const settings = { workspaceVolume: { claimName: 'mine', root: '/data' } };
    expect(resolveWorkspaceVolume(settings, { CLAUDE_K8S_WORKSPACE_CLAIM: 'ws' })).toEqual({
      ok: true,
      value: settings.workspaceVolume,
    });
  });

  it('refuses half a setting and a relative root', () => {
    expect(resolveWorkspaceVolume({}, { CLAUDE_K8S_WORKSPACE_CLAIM: 'ws' })).toEqual({
      ok: false,
      message:
        "the server's shared workspace volume needs both CLAUDE_K8S_WORKSPACE_CLAIM and CLAUDE_K8S_WORKSPACE_ROOT; only one is set",
    });
    expect(resolveWorkspaceVolume({}, { CLAUDE_K8S_WORKSPACE_CLAIM: 'ws', CLAUDE_K8S_WORKSPACE_ROOT: 'srv' })).toEqual({
      ok: false,
      message: 'CLAUDE_K8S_WORKSPACE_ROOT srv: expected an absolute path on the Paperclip host',
    });
  });
});
