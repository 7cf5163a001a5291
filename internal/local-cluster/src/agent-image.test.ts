/**
 * The agent image is defined once, in deploy/image/agent.json, and both builds follow it:
 * - deploy/image/Dockerfile (users' builders, the release workflow) is generated from it by scripts/agent-image.mjs
 *   and must be current;
 * - the daemon-less build (images/build-agent.sh) reads it: its `--plan` (what it would build, without building)
 *   follows any change of the definition, and agrees with the Dockerfile on packages, user, env, workdir and command;
 * - the versions pinned elsewhere for the same things (toolchain Node, the CLI installer, the Debian suite, the
 *   workflows' Node) are the definition's.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';

const repoRoot = resolve(import.meta.dirname, '..', '..', '..');
const specPath = join(repoRoot, 'deploy', 'image', 'agent.json');
const dockerfilePath = join(repoRoot, 'deploy', 'image', 'Dockerfile');
const buildAgent = join(repoRoot, 'internal', 'local-cluster', 'images', 'build-agent.sh');
const generator = join(repoRoot, 'scripts', 'agent-image.mjs');

interface Spec {
  name: string;
  debian: { suite: string; dockerBase: string; packages: string[] };
  node: { version: string; path: string };
  claudeCode: { package: string; version: string; dir: string; files: string[]; link: string };
  user: { name: string; uid: number; gid: number; gecos: string; home: string; shell: string };
  workdir: string;
  env: string[];
  cmd: string[];
  labels: Record<string, string>;
}
interface Plan {
  name: string;
  suite: string;
  packages: string;
  nodeVersion: string;
  nodePath: string;
  claudeCodeVersion: string;
  claudeCodeDir: string;
  claudeCodeFiles: string[];
  claudeCodeLink: string;
  user: string;
  passwd: string;
  home: string;
  workdir: string;
  env: string[];
  labels: Record<string, string>;
  cmd: string[];
}

const spec = JSON.parse(readFileSync(specPath, 'utf8')) as Spec;
const scratch = mkdtempSync(join(tmpdir(), 'agent-image-test-'));
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

function run(command: string, args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(command, args, { encoding: 'utf8', env: { ...process.env, ...env } });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

function plan(path = specPath): Plan {
  const r = run(buildAgent, ['--plan'], { CK8S_AGENT_SPEC: path, CK8S_NODE_VERSION: '', CLAUDE_CODE_VERSION: '' });
  expect(r.stderr).toBe('');
  expect(r.status).toBe(0);
  return JSON.parse(r.stdout) as Plan;
}

/** A copy of the definition with `change` applied, written to the scratch folder. */
function variant(name: string, change: (s: Spec) => void): string {
  const copy = structuredClone(spec);
  change(copy);
  const path = join(scratch, `${name}.json`);
  writeFileSync(path, JSON.stringify(copy, null, 2));
  return path;
}

describe('the Dockerfile', () => {
  it('is the one generated from deploy/image/agent.json', () => {
    const r = run(process.execPath, [generator, '--check']);
    expect(r.stderr).toBe('');
    expect(r.stdout).toContain('deploy/image/Dockerfile current with deploy/image/agent.json');
    expect(r.status).toBe(0);
  });

  it('check fails when the definition changes and the Dockerfile does not', () => {
    const changed = variant('more-packages', (s) => s.debian.packages.push('openssh-client'));
    const r = run(process.execPath, [generator, '--check', '--spec', changed, '--out', dockerfilePath]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('is not generated from');
  });

  it('follows the definition: packages, versions, user, env, workdir, command, multi-stage', () => {
    const out = join(scratch, 'Dockerfile');
    const r = run(process.execPath, [generator, '--spec', specPath, '--out', out]);
    expect(r.status, r.stderr).toBe(0);
    const text = readFileSync(out, 'utf8');
    expect(text).toBe(readFileSync(dockerfilePath, 'utf8'));
    expect(text.match(/^FROM /gm)).toHaveLength(2);
    expect(text).toContain(`ARG NODE_VERSION=${spec.node.version}\n`);
    expect(text).toContain(`ARG CLAUDE_CODE_VERSION=${spec.claudeCode.version}\n`);
    expect(text).toContain(`FROM ${spec.debian.dockerBase}\n`);
    expect(text).toContain(`apt-get install -y --no-install-recommends ${spec.debian.packages.join(' ')} `);
    expect(text).toContain(`USER ${spec.user.uid}:${spec.user.gid}\n`);
    expect(text).toContain(`WORKDIR ${spec.workdir}\n`);
    expect(text).toContain(`CMD ${JSON.stringify(spec.cmd)}\n`);
    expect(text).toContain(`ENV ${spec.env.join(' \\\n    ')}\n`);
  });

  it('the generator refuses a definition that would break the Jobs, naming the field', () => {
    const root = variant('root', (s) => (s.user.uid = 0));
    const r = run(process.execPath, [generator, '--check', '--spec', root, '--out', join(scratch, 'x')]);
    expect(r.status).toBe(1);
    expect(r.stderr).toContain('user.uid: must be 1000 (the uid the Jobs run as), got 0');
  });
});

describe("the daemon-less build's inputs", () => {
  it('come from deploy/image/agent.json', () => {
    const p = plan();
    expect(p).toEqual({
      name: spec.name,
      suite: spec.debian.suite,
      packages: spec.debian.packages.join(','),
      nodeVersion: spec.node.version,
      nodePath: spec.node.path,
      claudeCodeVersion: spec.claudeCode.version,
      claudeCodeDir: spec.claudeCode.dir,
      claudeCodeFiles: spec.claudeCode.files,
      claudeCodeLink: spec.claudeCode.link,
      user: `${spec.user.uid}:${spec.user.gid}`,
      passwd: `${spec.user.name}:x:${spec.user.uid}:${spec.user.gid}:${spec.user.gecos}:${spec.user.home}:${spec.user.shell}`,
      home: spec.user.home,
      workdir: spec.workdir,
      env: spec.env,
      labels: spec.labels,
      cmd: spec.cmd,
    });
  });

  it('follow a change of the definition (nothing is hard-coded in build-agent.sh)', () => {
    const changed = variant('changed', (s) => {
      s.debian.packages.push('openssh-client');
      s.env.push('EXTRA=1');
      s.cmd = ['claude', '--help'];
      s.workdir = '/work';
      s.user.gecos = 'someone else';
      s.claudeCode.version = '9.9.9';
      s.node.version = '24.99.0';
    });
    const p = plan(changed);
    expect(p.packages).toBe([...spec.debian.packages, 'openssh-client'].join(','));
    expect(p.env).toEqual([...spec.env, 'EXTRA=1']);
    expect(p.cmd).toEqual(['claude', '--help']);
    expect(p.workdir).toBe('/work');
    expect(p.passwd).toContain(':someone else:');
    expect(p.claudeCodeVersion).toBe('9.9.9');
    expect(p.nodeVersion).toBe('24.99.0');
  });

  it('are not also written into build-agent.sh (no value of the definition outside comments)', () => {
    const code = readFileSync(buildAgent, 'utf8')
      .split('\n')
      .filter((line) => !/^\s*#/.test(line))
      .join('\n');
    const literals = [
      spec.debian.packages.join(','),
      spec.node.version,
      spec.node.path,
      spec.claudeCode.version,
      spec.claudeCode.dir,
      spec.claudeCode.link,
      // package.json: the script reads the CLI package's own package.json (name, version).
      ...spec.claudeCode.files.filter((f) => f !== 'package.json'),
      spec.user.home,
      spec.user.gecos,
      `${spec.user.uid}:${spec.user.gid}`,
      spec.workdir,
      ...spec.env,
      ...Object.keys(spec.labels),
      spec.cmd.join(' '),
    ];
    for (const literal of literals) expect(code, literal).not.toContain(literal);
  });

  it('fail with a clear error when the definition is missing', () => {
    const r = run(buildAgent, ['--plan'], { CK8S_AGENT_SPEC: join(scratch, 'absent.json') });
    expect(r.status).not.toBe(0);
    expect(r.stderr).toContain('absent.json is missing');
  });
});

describe('the versions pinned elsewhere are the definition’s', () => {
  const read = (...p: string[]) => readFileSync(join(repoRoot, ...p), 'utf8');

  it('Node: scripts/toolchain.sh and the workflows', () => {
    expect(read('scripts', 'toolchain.sh')).toContain(
      `CK8S_NODE_VERSION="\${CK8S_NODE_VERSION:-${spec.node.version}}"`,
    );
    for (const wf of ['ci.yml', 'release.yml', 'verify-changesets.yml', 'agent-image.yml']) {
      expect(read('.github', 'workflows', wf), wf).toContain(`NODE_VERSION: ${spec.node.version}\n`);
    }
  });

  it('Claude Code: scripts/ensure-claude-cli.sh', () => {
    expect(read('scripts', 'ensure-claude-cli.sh')).toContain(
      `version="\${CLAUDE_CODE_VERSION:-${spec.claudeCode.version}}"`,
    );
  });

  it('Debian suite: internal/local-cluster/images/lib.sh', () => {
    expect(read('internal', 'local-cluster', 'images', 'lib.sh')).toContain(
      `CK8S_DEBIAN_SUITE="\${CK8S_DEBIAN_SUITE:-${spec.debian.suite}}"`,
    );
  });
});
