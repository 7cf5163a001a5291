// The README's first command in its run-once mode: against the local cluster, then against the same cluster given
// through KUBECONFIG. Checks the exit code and the printed summary.
import { spawn } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { repoRoot } from '../start-stack.ts';

interface Finished {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runDemo(args: readonly string[], env: NodeJS.ProcessEnv): Promise<Finished> {
  return new Promise((resolve, reject) => {
    const child = spawn(join(repoRoot, 'scripts', 'demo.sh'), [...args], {
      cwd: repoRoot,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => {
      stderr += chunk;
      process.stderr.write(chunk.replace(/^/gm, '[demo] '));
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

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

  it('runs one agent run end to end against the local cluster', async () => {
    const env = { ...baseEnv };
    delete env['KUBECONFIG'];
    const finished = await runDemo(['--once', '--no-color', '--namespace', `ck8s-demo-local-${process.pid}`], env);
    expectSummary(finished);
  });

  it('runs again against the same cluster given through KUBECONFIG', async () => {
    if (!baseEnv['KUBECONFIG'])
      throw new Error('KUBECONFIG is not set: run the e2e tier through scripts/with-cluster.sh');
    const finished = await runDemo(
      ['--once', '--no-color', '--namespace', `ck8s-demo-kubeconfig-${process.pid}`],
      baseEnv,
    );
    expectSummary(finished);
    expect(finished.stderr).toContain('checking the cluster of KUBECONFIG');
  });

  it('runs through Paperclip inside the cluster (--in-cluster: the Helm chart with Paperclip enabled)', async () => {
    const namespace = `incluster-demo-${process.pid}`;
    const finished = await runDemo(['--once', '--in-cluster', '--no-color', '--namespace', namespace], baseEnv);
    expectSummary(finished);
    expect(finished.stdout).toMatch(new RegExp(`^job:\\s+${namespace}/\\S+$`, 'm'));
    expect(finished.stdout).toMatch(/; sign in: \S+\.credentials$/m);
    expect(finished.stderr).toContain(`helm install claude-k8s (Paperclip in ${namespace}-paperclip`);
  });
});
