// The README's first command in its run-once mode: against the local cluster, then against the same cluster given
// through KUBECONFIG, then with Paperclip in the cluster. Checks the exit code and the printed summary, and that the
// agent's commit is really in the demo project's repository where Paperclip's server runs (read with git there, not
// from the demo's printout).
import { execFileSync, spawn } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { clusterStatus } from '@claude-k8s/local-cluster';
import { podWorkspaceShell, type WorkspaceShell } from '../demo-project.ts';
import { findKubectl } from '../in-cluster.ts';
import { repoRoot } from '../start-stack.ts';
import { deleteNamespaceAndVolumes } from '../tenant.ts';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

/**
 * Runs the demo. With `whileRunning`, the demo runs without `--once`: once it says the server keeps running, the
 * callback runs (Paperclip and its workspace are still there), then the demo gets SIGINT as from Ctrl-C.
 */
function runDemo(
  args: readonly string[],
  env: NodeJS.ProcessEnv,
  whileRunning?: (output: { stdout: string; stderr: string }) => Promise<void>,
): Promise<Finished & { inspected?: Error }> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, 'scripts', 'demo.sh'), [...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    let inspection: Promise<Error | undefined> | undefined;
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk.replace(/^/gm, '[demo] '));
      if (whileRunning && !inspection && stderr.includes('press Ctrl-C to stop everything')) {
        inspection = whileRunning({ stdout, stderr }).then(
          () => undefined,
          (error: unknown) => (error instanceof Error ? error : new Error(String(error))),
        );
        void inspection.finally(() => child.kill('SIGINT'));
      }
    });
    child.on('error', reject);
    child.on('close', (code) => {
      void (inspection ?? Promise.resolve(undefined)).then((inspected) =>
        resolve({ code, stdout, stderr, ...(inspected === undefined ? {} : { inspected }) }),
      );
    });
  });
}

/**
 * Asserts that the demo's repository holds the agent's commit, read with git where Paperclip's server runs: on top of
 * the demo's two commits, on `main`, with the scripted edit and the added file, nothing left uncommitted; and that the
 * summary names that commit and those files.
 */
async function expectCommitInWorkspace(shell: WorkspaceShell, dir: string, stdout: string): Promise<void> {
  const git = (args: string) => shell(`cd '${dir}' && git -c safe.directory='*' ${args}`);
  expect((await git('log --format=%s main')).trim().split('\n')).toEqual([
    'Greet with an exclamation mark',
    'Add greet.js',
    'Add the README',
  ]);
  expect((await git('log -1 --format=%an main')).trim()).toBe('claude-k8s demo agent');
  expect((await git('rev-parse --abbrev-ref HEAD')).trim()).toBe('main');
  expect((await git('show --name-status --format= HEAD')).trim().split('\n').sort()).toEqual([
    'A\tCHANGELOG.md',
    'M\tsrc/greet.js',
  ]);
  expect(await git('show HEAD:src/greet.js')).toContain("console.log('Hello, ' + name + '!');");
  expect(await shell(`cat '${dir}/src/greet.js' '${dir}/CHANGELOG.md'`)).toContain(
    "console.log('Hello, ' + name + '!');\n- greet.js: the greeting ends with an exclamation mark.\n",
  );
  expect((await git('status --porcelain')).trim()).toBe('');
  const head = (await git('rev-parse --short=7 HEAD')).trim();
  const parent = (await git('rev-parse --short=7 HEAD~1')).trim();
  expect(stdout).toMatch(new RegExp(`^project:\\s+${dir} \\(.+\\); workspace mode transfer: \\d+ bytes in`, 'm'));
  expect(stdout).toMatch(
    new RegExp(`^commit:\\s+${head} Greet with an exclamation mark \\(main, on top of ${parent}\\)$`, 'm'),
  );
  expect(stdout).toMatch(/^changed:\s+A CHANGELOG\.md, M src\/greet\.js$/m);
  expect(stdout).toMatch(/^uncommitted:\s+none$/m);
  // The agent ran the scripted command once, in the project's checkout, and the edited program runs.
  expect(stdout).toContain('Hello, Kubernetes!');
  expect(stdout.match(/Exit code \d+/g) ?? []).toEqual([]);
}

/** A shell on this machine (as root: git reads the server user's repository with safe.directory). */
const hostShell: WorkspaceShell = (script) => Promise.resolve(execFileSync('sh', ['-c', script], { encoding: 'utf8' }));

function expectSummary(finished: Finished): void {
  expect(finished.code, finished.stderr.slice(-3000)).toBe(0);
  expect(finished.stdout).toMatch(/^status:\s+succeeded$/m);
  expect(finished.stdout).toMatch(/^job:\s+\S+\/\S+$/m);
  expect(finished.stdout).toMatch(/^session id:\s+[0-9a-f-]{36}$/m);
  expect(finished.stdout).toMatch(/^tokens:\s+input [1-9]\d*, output [1-9]\d*, cached \d+$/m);
  expect(finished.stdout).toMatch(/^cost:\s+\$\d+\.\d{4}$/m);
  // The demo's default $1 limit per run, with the run's spend against it (issue 18).
  expect(finished.stdout).toMatch(/^budget:\s+\$\d+\.\d{4} of \$1\.00 \(\d+%\)$/m);
  expect(finished.stdout).toMatch(/^model:\s+FAKE model API/m);
  expect(finished.stdout).toMatch(/^open:\s+http:\/\/127\.0\.0\.1:\d+\//m);
  expect(finished.stderr).toContain('FAKE model API');
  // The transcript was streamed through the formatter: the scripted shell command and its output are in it.
  expect(finished.stdout).toContain('hello from a Kubernetes Job');
}

describe('the main job (scripts/demo.sh --once)', () => {
  const baseEnv = { ...process.env };
  delete baseEnv['ANTHROPIC_API_KEY'];
  const prefix = process.env['CK8S_E2E_NAMESPACE_PREFIX'] ?? 'ck8s';
  // The demo's repositories (--project-dir keeps them after --once), under a directory the server's user traverses.
  const projects = mkdtempSync(join(tmpdir(), 'ck8s-demo-e2e-'));
  chmodSync(projects, 0o755);
  // The demo keeps its namespace (a user inspects it, and its sessions resume); the test's go, with their volumes.
  const namespaces: string[] = [];
  function demoNamespace(name: string): string {
    namespaces.push(name);
    return name;
  }
  afterAll(async () => {
    rmSync(projects, { recursive: true, force: true });
    const state = (await clusterStatus())?.state;
    if (!baseEnv['KUBECONFIG'] || process.env['CK8S_KEEP_NAMESPACE'] === '1') return;
    for (const namespace of namespaces)
      await deleteNamespaceAndVolumes(baseEnv['KUBECONFIG'], namespace, {
        ...(state ? { hostRoot: join(state, 'sessions') } : {}),
      });
  });

  it('runs one agent run end to end against the local cluster; its commit is in the demo project', async () => {
    const env = { ...baseEnv };
    delete env['KUBECONFIG'];
    const dir = join(projects, 'local');
    const finished = await runDemo(
      [
        '--once',
        '--no-color',
        '--namespace',
        demoNamespace(`${prefix}-demo-local-${process.pid}`),
        '--project-dir',
        dir,
      ],
      env,
    );
    expectSummary(finished);
    await expectCommitInWorkspace(hostShell, dir, finished.stdout);
    expect(readFileSync(join(dir, 'CHANGELOG.md'), 'utf8')).toBe(
      '- greet.js: the greeting ends with an exclamation mark.\n',
    );
  });

  it('runs again against the same cluster given through KUBECONFIG', async () => {
    if (!baseEnv['KUBECONFIG'])
      throw new Error('KUBECONFIG is not set: run the e2e tier through scripts/with-cluster.sh');
    const dir = join(projects, 'kubeconfig');
    const finished = await runDemo(
      [
        '--once',
        '--no-color',
        '--namespace',
        demoNamespace(`${prefix}-demo-kubeconfig-${process.pid}`),
        '--project-dir',
        dir,
      ],
      baseEnv,
    );
    expectSummary(finished);
    expect(finished.stderr).toContain('checking the cluster of KUBECONFIG');
    await expectCommitInWorkspace(hostShell, dir, finished.stdout);
  });

  it('runs through Paperclip inside the cluster (--in-cluster: the Helm chart with Paperclip enabled)', async () => {
    const namespace = demoNamespace(`incluster-demo-${process.pid}`);
    demoNamespace(`${namespace}-paperclip`);
    // Paperclip's workspace is in its pod: read it there while the demo keeps the server running, then Ctrl-C.
    const shell = podWorkspaceShell({
      kubectl: findKubectl((await clusterStatus())?.version ?? 'v0'),
      kubeconfig: baseEnv['KUBECONFIG'] ?? '',
      namespace: `${namespace}-paperclip`,
    });
    const finished = await runDemo(['--in-cluster', '--no-color', '--namespace', namespace], baseEnv, ({ stdout }) =>
      expectCommitInWorkspace(shell, '/paperclip/projects/greeter', stdout),
    );
    if (finished.inspected !== undefined) throw finished.inspected;
    expect(finished.code, finished.stderr.slice(-3000)).toBe(130);
    expectSummary({ ...finished, code: 0 });
    expect(finished.stdout).toMatch(new RegExp(`^job:\\s+${namespace}/\\S+$`, 'm'));
    expect(finished.stdout).toMatch(/; sign in: \S+\.credentials$/m);
    expect(finished.stderr).toContain(`helm install claude-k8s (Paperclip in ${namespace}-paperclip`);
  });
});
