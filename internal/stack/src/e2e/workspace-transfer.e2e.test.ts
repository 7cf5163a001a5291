// End to end (issue 12, transfer mode): no shared storage. A real Paperclip server with a project whose workspace is a
// real git repository with history, an uncommitted edit and an untracked file; the workspace goes into the pod and the
// agent's changes come back through the Kubernetes API only (pods/exec, with the adapter's own RBAC); the real Claude
// Code CLI, scripted by the fake model API to run git in the pod.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { resolveServerUser, type Company, type HeartbeatRun, type ServiceUser } from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import { startTestStack, stopTestStack, storedStdout, testProgress } from './harness.ts';

const namespace = `${process.env['CK8S_E2E_NAMESPACE_PREFIX'] ?? 'ck8s-e2e'}-transfer-${process.pid}`;
let stack: Stack;
let company: Company;
let serverUser: ServiceUser;
let root: string;
let repo: string;
let projectId: string;

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

/** git as the Paperclip server's user (it owns the workspace, as Paperclip's own git calls would). */
function gitAsServer(...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], {
    cwd: repo,
    uid: serverUser.uid,
    gid: serverUser.gid,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: serverUser.home },
    encoding: 'utf8',
  });
}

function writeAsServer(relative: string, content: string): void {
  const path = join(repo, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  execFileSync('chown', ['-R', `${serverUser.uid}:${serverUser.gid}`, repo]);
}

beforeAll(async () => {
  stack = await startTestStack(namespace);
  serverUser = await resolveServerUser();
  company = await stack.client.createCompany({ name: `e2e transfer ${process.pid}` });
  // A repository on the server only (no volume the cluster could mount), owned by the server's user.
  root = mkdtempSync(join(tmpdir(), 'ck8s-transfer-e2e-'));
  chmodSync(root, 0o755);
  repo = join(root, 'app');
  mkdirSync(repo);
  writeAsServer('README.md', 'The app of the e2e test.\nREADME-MARKER-9c1d\n');
  writeAsServer('src/app.txt', 'line one\n');
  writeAsServer('obsolete.txt', 'to be deleted\n');
  writeAsServer('notes.txt', 'notes\n');
  writeAsServer('.gitignore', 'build/\n');
  gitAsServer('init', '-q', '-b', 'main');
  gitAsServer('add', '-A');
  gitAsServer('commit', '-q', '-m', 'first commit');
  writeAsServer('src/app.txt', 'line one\nline two\n');
  gitAsServer('commit', '-q', '-am', 'second commit');
  // What only the server's working tree holds: an uncommitted edit, an untracked file, an ignored one.
  writeAsServer('notes.txt', 'notes\nUNCOMMITTED-ON-SERVER-3e8b\n');
  writeAsServer('untracked.txt', 'UNTRACKED-ON-SERVER-5a2f\n');
  writeAsServer('build/cache.bin', 'IGNORED-ON-SERVER\n');
  const project = await stack.client.createProject(company.id, {
    name: 'app',
    workspace: { name: 'app', sourceType: 'local_path', cwd: repo, isPrimary: true },
  });
  projectId = project.id;
}, 300_000);

afterAll(async () => {
  await stopTestStack(stack, namespace);
  if (root) rmSync(root, { recursive: true, force: true });
});

async function createAgent(name: string, overrides: Record<string, unknown> = {}) {
  return stack.client.createAgent(company.id, {
    name,
    adapterType: ADAPTER_TYPE,
    adapterConfig: { ...stack.adapterConfig, workspace: { mode: 'transfer' }, ...overrides },
  });
}

/** The newest run of `agentId` (not yet terminal unless `until` says so). */
async function runOf(agentId: string): Promise<HeartbeatRun> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const run = (await stack.client.listCompanyRuns(company.id, { agentId, limit: 1 }))[0];
    if (run) return run;
    if (Date.now() > deadline) throw new Error(`no run of agent ${agentId} was queued within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The run's stored log (both streams, in order). */
async function logOf(runId: string): Promise<string> {
  // Before its first line a run has no log (404).
  const log = await stack.client.getRunLog(runId).catch((error: unknown) => {
    if (String(error).includes('404')) return { records: [] };
    throw error;
  });
  const records = log.records;
  return [...records]
    .sort((a, b) => a.seq - b.seq)
    .map((record) => record.chunk)
    .join('');
}

/** An issue of the project assigned to the agent; the fake model's script (one Bash call) is a marker in its text. */
async function startIssue(agentId: string, title: string, command: string): Promise<HeartbeatRun> {
  stack.fakeModel!.clearForcedScenarios();
  await stack.client.createIssue(company.id, {
    title,
    description: `Work on the repository. [[bash:${command}]]`,
    projectId,
    assigneeAgentId: agentId,
    status: 'todo',
  });
  return runOf(agentId);
}

async function finished(run: HeartbeatRun): Promise<HeartbeatRun> {
  const done = await stack.client.waitForRun(run.id, { timeoutMs: 300_000, until: TERMINAL });
  testProgress.info(`run ${done.id}: ${done.status} ${String(done['errorCode'] ?? '')} ${String(done['error'] ?? '')}`);
  return done;
}

/** The output of the run's tool calls (the `tool_result` blocks of the CLI's stream-json). */
async function toolOutput(run: HeartbeatRun): Promise<string> {
  const stdout = storedStdout((await stack.client.getRunLog(run.id)).records);
  const results: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type?: string; message?: { content?: unknown } };
    if (event.type !== 'user' || !Array.isArray(event.message?.content)) continue;
    for (const block of event.message.content as { type?: string; content?: unknown }[])
      if (block.type === 'tool_result')
        results.push(typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? ''));
  }
  return results.join('\n');
}

function transferOf(run: HeartbeatRun): Record<string, unknown> {
  const resultJson = (run['resultJson'] ?? {}) as { workspace?: { transfer?: Record<string, unknown> } };
  return resultJson.workspace?.transfer ?? {};
}

const AGENT_SCRIPT = [
  'set -e',
  'pwd',
  'git log --format=%s -1',
  'cat notes.txt untracked.txt',
  'ls build 2>&1 || echo NO-BUILD-DIR-$((40 + 2))',
  'echo "line three by the agent" >> src/app.txt',
  'echo "added by the agent" > added.txt',
  'git rm -q obsolete.txt',
  'git add src/app.txt added.txt',
  'git -c user.name=Agent -c user.email=agent@example.com commit -q -m "agent: edit, add, delete"',
  'echo "uncommitted by the agent" >> notes.txt',
  'echo SCRIPT-DONE-$((40 + 2))',
].join('; ');

describe(`the workspace goes into the pod and comes back through the Kubernetes API (transfer mode, ${namespace})`, () => {
  it('the agent sees HEAD, the uncommitted and untracked files; its commit, edits and deletion come back', async () => {
    const agent = await createAgent('transfer-agent');
    const headBefore = gitAsServer('rev-parse', 'HEAD').trim();
    testProgress.info(`history before the run:\n${gitAsServer('log', '--format=%H %P %s', '-6')}`);
    const run = await finished(await startIssue(agent.id, 'Change the app', AGENT_SCRIPT));
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    const output = await toolOutput(run);
    expect(output).toContain(repo); // the pod works at the server's path
    expect(output).toContain('second commit');
    expect(output).toContain('UNCOMMITTED-ON-SERVER-3e8b');
    expect(output).toContain('UNTRACKED-ON-SERVER-5a2f');
    expect(output).toContain('NO-BUILD-DIR-42'); // ignored files stay on the server
    expect(output).toContain('SCRIPT-DONE-42');

    testProgress.info(`history after the run:\n${gitAsServer('log', '--format=%H %P %s', '-6')}`);
    testProgress.info(`transfer: ${JSON.stringify(transferOf(run))}`);
    // The commit is on the branch (fast-forward), the uncommitted and untracked changes are in the working tree.
    expect(gitAsServer('log', '-1', '--format=%s').trim()).toBe('agent: edit, add, delete');
    expect(gitAsServer('rev-parse', 'HEAD~1').trim()).toBe(headBefore);
    expect(gitAsServer('show', 'HEAD:added.txt').trim()).toBe('added by the agent');
    expect(existsSync(join(repo, 'obsolete.txt'))).toBe(false);
    expect(readFileSync(join(repo, 'src/app.txt'), 'utf8')).toBe('line one\nline two\nline three by the agent\n');
    expect(readFileSync(join(repo, 'notes.txt'), 'utf8')).toBe(
      'notes\nUNCOMMITTED-ON-SERVER-3e8b\nuncommitted by the agent\n',
    );
    expect(gitAsServer('status', '--porcelain').split('\n').filter(Boolean).sort()).toEqual([
      ' M notes.txt',
      '?? untracked.txt',
    ]);
    expect(readFileSync(join(repo, 'build/cache.bin'), 'utf8')).toBe('IGNORED-ON-SERVER\n');
    const transfer = transferOf(run);
    expect(transfer).toMatchObject({ commits: 1, conflicts: [], keptRefs: [], commitConflict: null });
    // Only what changed came back: a bundle of a few objects.
    expect(Number(transfer['bytesOut'])).toBeLessThan(16 * 1024);
    expect(await logOf(run.id)).toContain("the agent's changes came back");
  });

  it('a file changed on the server during the run is a named conflict, kept as a git ref; nothing is overwritten', async () => {
    const agent = await createAgent('transfer-conflict-agent');
    const script = 'sleep 20; echo "README line by the agent" >> README.md; echo "agent file" > agent-only.txt';
    const started = await startIssue(agent.id, 'Edit the README slowly', script);
    // Once the workspace is in the pod, the server's README changes.
    const deadline = Date.now() + 180_000;
    while (!(await logOf(started.id)).includes('copied into the pod')) {
      if (Date.now() > deadline) throw new Error('the workspace was not copied in within 180 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    writeAsServer('README.md', 'The README as the server changed it during the run.\n');
    const run = await finished(started);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    expect(readFileSync(join(repo, 'README.md'), 'utf8')).toBe('The README as the server changed it during the run.\n');
    expect(readFileSync(join(repo, 'agent-only.txt'), 'utf8')).toBe('agent file\n');
    const transfer = transferOf(run);
    expect(transfer['conflicts']).toEqual(['README.md']);
    const refs = transfer['keptRefs'] as string[];
    expect(refs).toContain(`refs/claude-k8s/runs/${run.id}/worktree`);
    // No lost byte: the agent's README is in the kept ref, and the run's log names it.
    expect(gitAsServer('show', `refs/claude-k8s/runs/${run.id}/worktree:README.md`)).toContain(
      'README line by the agent',
    );
    const log = await logOf(run.id);
    expect(log).toContain('workspace conflict');
    expect(log).toContain(`refs/claude-k8s/runs/${run.id}/worktree`);
    gitAsServer('checkout', '--', '.');
    gitAsServer('clean', '-fdq', '-e', 'untracked.txt', '-e', 'build');
  });

  it('a cancelled run: the pod stays up until its changes are collected, then they are in the workspace', async () => {
    const agent = await createAgent('transfer-cancel-agent');
    const started = await startIssue(
      agent.id,
      'Work, then be cancelled',
      'echo "BEFORE-CANCEL-$((40 + 2))" > cancelled-work.txt; sleep 120',
    );
    const deadline = Date.now() + 180_000;
    while (!(await logOf(started.id)).includes('copied into the pod')) {
      if (Date.now() > deadline) throw new Error('the workspace was not copied in within 180 s');
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
    // Give the agent's first tool call time to write its file, then cancel.
    await new Promise((resolve) => setTimeout(resolve, 8000));
    await stack.client.cancelRun(started.id);
    const run = await finished(started);
    expect(run.status).toBe('cancelled');
    // The adapter collected after claude was stopped: the file the agent wrote before the cancel is back.
    const collectedBy = Date.now() + 60_000;
    while (!existsSync(join(repo, 'cancelled-work.txt')) && Date.now() < collectedBy)
      await new Promise((resolve) => setTimeout(resolve, 500));
    expect(readFileSync(join(repo, 'cancelled-work.txt'), 'utf8')).toBe('BEFORE-CANCEL-42\n');
    expect(await logOf(run.id)).toContain("the agent's changes came back");
  });

  it('a run that fails half-way still brings back what it changed', async () => {
    // The agent writes a file in its first turn, then hits its turn limit: the run fails (claude_max_turns).
    const agent = await createAgent('transfer-halfway-agent', { maxTurnsPerRun: 1 });
    const run = await finished(
      await startIssue(agent.id, 'Fail half-way', 'echo "PARTIAL-WORK-$((40 + 2))" > partial.txt; git add partial.txt'),
    );
    expect(run.status).toBe('failed');
    expect(readFileSync(join(repo, 'partial.txt'), 'utf8')).toBe('PARTIAL-WORK-42\n');
    expect(gitAsServer('status', '--porcelain', '--', 'partial.txt').trim()).toBe('?? partial.txt');
    expect(transferOf(run)).toMatchObject({ conflicts: [], claudeExitCode: expect.any(Number) as unknown });
  });
});
