// End to end (issue 12, transfer mode): no shared storage. A real Paperclip server with a project whose workspace is a
// real git repository with history, an uncommitted edit and an untracked file; the workspace goes into the pod and the
// agent's changes come back through the Kubernetes API only (pods/exec, with the adapter's own RBAC); the real Claude
// Code CLI, scripted by the fake model API to run git in the pod.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import {
  resolveServerUser,
  type Company,
  type HeartbeatRun,
  type Issue,
  type ServiceUser,
} from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import { waitFor } from '@claude-k8s/test-utils';
import { callApi } from '../raw-api.ts';
import {
  adminClients,
  podsOfJob,
  restartPaperclip,
  startTestStack,
  stopTestStack,
  storedStdout,
  testProgress,
} from './harness.ts';

const namespace = `${process.env['CK8S_E2E_NAMESPACE_PREFIX'] ?? 'ck8s-e2e'}-transfer-${process.pid}`;
let stack: Stack;
let company: Company;
let serverUser: ServiceUser;
let root: string;
let repo: string;
let projectId: string;

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

/** What Paperclip's `GET /issues/:id` says holds the issue's execution (its board recovery action). */
interface ExecutionBlocker {
  recoveryActionId: string;
  runId: string | null;
  cause: string;
  nextAction: string;
}

const msSince = (start: number): number => Math.round(performance.now() - start);

/** git in `dir` as the Paperclip server's user (it owns the workspace, as Paperclip's own git calls would). */
function gitIn(dir: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], {
    cwd: dir,
    uid: serverUser.uid,
    gid: serverUser.gid,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: serverUser.home },
    encoding: 'utf8',
  });
}

const gitAsServer = (...args: string[]): string => gitIn(repo, ...args);

function writeIn(dir: string, relative: string, content: string): void {
  const path = join(dir, relative);
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  execFileSync('chown', ['-R', `${serverUser.uid}:${serverUser.gid}`, dir]);
}

const writeAsServer = (relative: string, content: string): void => writeIn(repo, relative, content);

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

// Earlier tests' agents can still have a run: Paperclip follows a successful run that left its issue in progress with
// a corrective one (the fake model replays the issue's script on the same repository). Each test starts without one:
// the board cancels them (their changes come back first), so no test's assertions meet another test's late changes,
// and the restart test's restart orphans only its own run.
beforeEach(async () => {
  await cancelRunsInFlight();
}, 600_000);

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
    // A log read while Paperclip appends to it can end in half a line: read again on the next poll.
    if (String(error).includes('404') || String(error).includes('parse run log')) return { records: [] };
    throw error;
  });
  const records = log.records;
  return [...records]
    .sort((a, b) => a.seq - b.seq)
    .map((record) => record.chunk)
    .join('');
}

/**
 * The run's log once it holds every one of `texts` (read again for up to 60 s: a read can meet a line Paperclip is
 * still appending); then the last read, for the assertions to show.
 */
async function logWith(runId: string, ...texts: string[]): Promise<string> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const log = await logOf(runId);
    if (texts.every((text) => log.includes(text)) || Date.now() > deadline) return log;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
}

/**
 * Cancels every run of the company still in flight and waits for each to end (its changes come back), until none has
 * been in flight for 5 s (a follow-up Paperclip enqueues as a run ends comes within that).
 */
async function cancelRunsInFlight(): Promise<void> {
  let quietSince = Date.now();
  while (Date.now() - quietSince < 5000) {
    const runs = await stack.client.listCompanyRuns(company.id, { limit: 50 });
    const inFlight = runs.filter((candidate) => !(TERMINAL as readonly string[]).includes(candidate.status));
    for (const run of inFlight) {
      testProgress.info(`cancelling run ${run.id} of agent ${run.agentId} (${run.status}) left by an earlier test`);
      await stack.client.cancelRun(run.id).catch(() => undefined);
      await finished(run);
    }
    if (inFlight.length > 0) quietSince = Date.now();
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Waits until no run of the agent has been in flight for 5 s (at most 240 s). */
async function runsSettled(agentId: string): Promise<void> {
  const deadline = Date.now() + 240_000;
  let quietSince = Date.now();
  while (Date.now() - quietSince < 5000) {
    const runs = await stack.client.listCompanyRuns(company.id, { agentId, limit: 50 });
    if (runs.some((candidate) => !(TERMINAL as readonly string[]).includes(candidate.status))) quietSince = Date.now();
    if (Date.now() > deadline) throw new Error(`runs of agent ${agentId} still in flight after 240 s`);
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** An issue of the project assigned to the agent; the fake model's script (one Bash call) is a marker in its text. */
async function startIssue(agentId: string, title: string, command: string, project = projectId): Promise<HeartbeatRun> {
  return (await createIssue(agentId, title, command, project)).run;
}

async function createIssue(
  agentId: string,
  title: string,
  command: string,
  project = projectId,
): Promise<{ issue: Issue; run: HeartbeatRun }> {
  stack.fakeModel!.clearForcedScenarios();
  const issue = await stack.client.createIssue(company.id, {
    title,
    description: `Work on the repository. [[bash:${command}]]`,
    projectId: project,
    assigneeAgentId: agentId,
    status: 'todo',
  });
  return { issue, run: await runOf(agentId) };
}

/** The first run of `agentId` newer than `runIds` that `accept` takes (polls for up to `timeoutMs`). */
async function laterRunOf(
  agentId: string,
  runIds: readonly string[],
  timeoutMs: number,
  accept: (run: HeartbeatRun) => boolean = () => true,
): Promise<HeartbeatRun> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const runs = await stack.client.listCompanyRuns(company.id, { agentId, limit: 10 });
    const found = runs.find((run) => !runIds.includes(run.id) && accept(run));
    if (found) return found;
    if (Date.now() > deadline)
      throw new Error(
        `no new run of agent ${agentId} within ${timeoutMs} ms: ${JSON.stringify(runs.map((r) => [r.id, r.status]))}`,
      );
    await new Promise((resolve) => setTimeout(resolve, 1000));
  }
}

/** Waits until the run's log says the workspace is in the pod (claude starts). */
async function copiedIn(run: HeartbeatRun): Promise<void> {
  const deadline = Date.now() + 180_000;
  while (!(await logOf(run.id)).includes('copied into the pod')) {
    if (Date.now() > deadline) throw new Error('the workspace was not copied in within 180 s');
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
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
    const { issue, run: started } = await createIssue(agent.id, 'Change the app', AGENT_SCRIPT);
    const run = await finished(started);
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
    expect(await logWith(run.id, "the agent's changes came back")).toContain("the agent's changes came back");

    // The next run on the same issue (woken by a comment) works on that state: the commit, the uncommitted change.
    // Paperclip may already have queued its own follow-up of the issue (left in progress): it ends first (a run the
    // board cancels holds the issue, and the comment would wake nothing), so the run the comment wakes is the next one.
    await runsSettled(agent.id);
    const earlier = (await stack.client.listCompanyRuns(company.id, { agentId: agent.id, limit: 50 })).map(
      (candidate) => candidate.id,
    );
    const headAfter = gitAsServer('rev-parse', 'HEAD').trim();
    const check = 'git log --format=%s -1; git status --porcelain; cat notes.txt; echo NEXT-RUN-$((40 + 2))';
    stack.fakeModel!.clearForcedScenarios();
    stack.fakeModel!.forceScenario(`bash:${check}`, { count: 2, match: agent.id });
    await stack.client.addIssueComment(issue.id, `Check the state of the repository. [[bash:${check}]]`);
    const next = await finished(await laterRunOf(agent.id, earlier, 120_000));
    expect(next.status, String(next['error'] ?? '')).toBe('succeeded');
    const seen = await toolOutput(next);
    expect(seen).toContain('NEXT-RUN-42');
    expect(seen).toContain('agent: edit, add, delete');
    expect(seen).toContain(' M notes.txt');
    expect(seen).toContain('?? untracked.txt');
    expect(seen).toContain('uncommitted by the agent');
    // It changed nothing, so nothing moved.
    expect(gitAsServer('rev-parse', 'HEAD').trim()).toBe(headAfter);
    expect(transferOf(next)).toMatchObject({ commits: 0, applied: [], conflicts: [] });
  });

  it('a file changed on the server during the run is a named conflict, kept as a git ref; nothing is overwritten', async () => {
    const agent = await createAgent('transfer-conflict-agent');
    const script = 'sleep 20; echo "README line by the agent" >> README.md; echo "agent file" > agent-only.txt';
    const started = await startIssue(agent.id, 'Edit the README slowly', script);
    // Once the workspace is in the pod, the server's README changes.
    await copiedIn(started);
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
    const log = await logWith(run.id, 'workspace conflict', `refs/claude-k8s/runs/${run.id}/worktree`);
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
    await copiedIn(started);
    // Once the agent's tool call is under way (its `tool_use` is in the transcript), give its first command a moment
    // to write the file, then cancel. (A fixed wait after the copy-in was too short when claude started slowly.)
    const toolUse = await logWith(started.id, '"type":"tool_use"', 'BEFORE-CANCEL');
    expect(toolUse).toContain('"type":"tool_use"');
    await new Promise((resolve) => setTimeout(resolve, 3000));
    await stack.client.cancelRun(started.id);
    const run = await finished(started);
    expect(run.status).toBe('cancelled');
    // The adapter collected after claude was stopped: the file the agent wrote before the cancel is back.
    const collectedBy = Date.now() + 60_000;
    while (!existsSync(join(repo, 'cancelled-work.txt')) && Date.now() < collectedBy)
      await new Promise((resolve) => setTimeout(resolve, 500));
    expect(readFileSync(join(repo, 'cancelled-work.txt'), 'utf8')).toBe('BEFORE-CANCEL-42\n');
    expect(await logWith(run.id, "the agent's changes came back")).toContain("the agent's changes came back");
  });

  it('a run that fails half-way still brings back what it changed', async () => {
    // The agent writes a file in its first turn, then hits its turn limit: the run fails (claude_max_turns).
    const agent = await createAgent('transfer-halfway-agent', { maxTurnsPerRun: 1 });
    const run = await finished(
      await startIssue(agent.id, 'Fail half-way', 'echo "PARTIAL-WORK-$((40 + 2))" > partial.txt; git add partial.txt'),
    );
    expect(run.status).toBe('failed');
    expect(readFileSync(join(repo, 'partial.txt'), 'utf8')).toBe('PARTIAL-WORK-42\n');
    // Staged in the pod, staged here.
    expect(gitAsServer('status', '--porcelain', '--', 'partial.txt').trim()).toBe('A  partial.txt');
    expect(transferOf(run)).toMatchObject({ conflicts: [], claudeExitCode: expect.any(Number) as unknown });
  });

  it('a run that hits its Job deadline (timed out) still brings back what it changed', async () => {
    const agent = await createAgent('transfer-timeout-agent', { timeoutSec: 30 });
    const run = await finished(
      await startIssue(agent.id, 'Time out', 'echo "BEFORE-TIMEOUT-$((40 + 2))" > timeout-work.txt; sleep 300'),
    );
    expect(run.status).toBe('timed_out');
    expect(readFileSync(join(repo, 'timeout-work.txt'), 'utf8')).toBe('BEFORE-TIMEOUT-42\n');
    expect(await logWith(run.id, "the agent's changes came back")).toContain("the agent's changes came back");
    expect(transferOf(run)).toMatchObject({ conflicts: [], applied: ['timeout-work.txt'] });
  });

  it("a second agent's pod cannot read the first agent's workspace (asserted from inside the second pod)", async () => {
    // Agent A works on the first project and keeps its pod up; agent B, on a project of its own, looks for A's files.
    const other = join(root, 'other');
    mkdirSync(other);
    writeIn(other, 'OTHER.md', 'the other project\n');
    gitIn(other, 'init', '-q', '-b', 'main');
    gitIn(other, 'add', '-A');
    gitIn(other, 'commit', '-q', '-m', 'other: first');
    const otherProject = await stack.client.createProject(company.id, {
      name: 'other',
      workspace: { name: 'other', sourceType: 'local_path', cwd: other, isPrimary: true },
    });
    writeAsServer('only-in-a-7d21.txt', 'A-SERVER-SECRET\n');
    const agentA = await createAgent('transfer-isolation-a');
    const runA = await startIssue(
      agentA.id,
      'Hold the workspace',
      'echo A-POD-SECRET > only-in-a-pod-7d21.txt; sleep 90',
    );
    await copiedIn(runA);
    const look = [
      `test -e ${repo} && echo A-WORKSPACE-VISIBLE || echo A-WORKSPACE-ABSENT-$((40 + 2))`,
      "find / \\( -path /proc -o -path /sys -o -path /dev \\) -prune -o -name 'only-in-a*7d21.txt' -print 2>/dev/null | sed 's/^/FOUND: /'",
      'test -e /var/run/secrets/kubernetes.io/serviceaccount/token && echo SA-TOKEN-PRESENT || echo NO-SA-TOKEN-$((40 + 2))',
      'pwd; ls',
      'echo LOOKED-$((40 + 2))',
    ].join('; ');
    const agentB = await createAgent('transfer-isolation-b');
    const runB = await finished(await startIssue(agentB.id, 'Look around', look, otherProject.id));
    expect(runB.status, String(runB['error'] ?? '')).toBe('succeeded');
    const seen = await toolOutput(runB);
    testProgress.info(`what B saw:\n${seen}`);
    expect(seen).toContain('LOOKED-42');
    expect(seen).toContain(other); // B works in its own workspace
    expect(seen).toContain('OTHER.md');
    expect(seen).toContain('A-WORKSPACE-ABSENT-42');
    expect(seen).toContain('NO-SA-TOKEN-42');
    expect(seen).not.toContain('FOUND:');
    expect(seen).not.toContain('A-WORKSPACE-VISIBLE');
    // A's run still worked (its pod was up while B looked) and brings its file back to A's workspace only.
    const doneA = await finished(runA);
    expect(doneA.status, String(doneA['error'] ?? '')).toBe('succeeded');
    expect(readFileSync(join(repo, 'only-in-a-pod-7d21.txt'), 'utf8')).toBe('A-POD-SECRET\n');
    expect(existsSync(join(other, 'only-in-a-pod-7d21.txt'))).toBe(false);
  });

  it('Paperclip restarts (SIGTERM) during a run: the board reconciles, the next run adopts the Job and brings the changes back', async () => {
    const agent = await createAgent('transfer-restart-agent');
    const headBefore = gitAsServer('rev-parse', 'HEAD').trim();
    // What else the workspace holds (earlier tests' leftovers): it must be the same afterwards.
    const others = (): string[] =>
      gitAsServer('status', '--porcelain')
        .split('\n')
        .filter((line) => line !== '' && !line.includes('restart-'));
    const othersBefore = others();
    // Before the restart: a commit and an uncommitted edit on top; after it (the same claude, in the same pod): one more
    // edit and an untracked file.
    const script = [
      'set -e',
      'echo "COMMITTED-BEFORE-RESTART-$((40 + 2))" > restart-work.txt',
      'git add restart-work.txt',
      'git -c user.name=Agent -c user.email=agent@example.com commit -q -m "agent: before the restart" -- restart-work.txt',
      'echo "UNCOMMITTED-BEFORE-RESTART-$((40 + 2))" >> restart-work.txt',
      'sleep 45',
      'echo "AFTER-RESTART-$((40 + 2))" >> restart-work.txt',
      'echo "UNTRACKED-AFTER-RESTART-$((40 + 2))" > restart-untracked.txt',
    ].join('; ');
    const requestsBefore = stack.fakeModel!.requests.length;
    const { issue, run: orphan } = await createIssue(agent.id, 'Work across a restart', script);
    await copiedIn(orphan);
    // The model answered the agent's first turn (its Bash call): the commit is made within a few seconds.
    await waitFor('the agent asked the model', 120_000, () =>
      stack
        .fakeModel!.requests.slice(requestsBefore)
        .some((request) => JSON.stringify(request.body).includes(agent.id)),
    );
    await new Promise((resolve) => setTimeout(resolve, 8000));
    const { core, batch } = adminClients(stack);
    const jobsOfAgent = async (): Promise<string[]> =>
      (await batch.listNamespacedJob({ namespace, labelSelector: `claude-k8s.io/agent-id=${agent.id}` })).items.map(
        (job) => job.metadata!.name!,
      );
    const [jobName, ...moreJobs] = await jobsOfAgent();
    expect(jobName).toBeDefined();
    expect(moreJobs).toEqual([]);

    const restartedAt = await restartPaperclip(stack, 'SIGTERM', 0);
    const ended = await stack.client.waitForRun(orphan.id, { timeoutMs: 60_000, until: TERMINAL });
    testProgress.info(`the orphan was ended by the shutdown as ${ended.status} (${String(ended['errorCode'])})`);
    expect(ended.status).toBe('interrupted');
    // Nothing came back yet: the shut-down run left its pod waiting (no collection by a process going away).
    expect(gitAsServer('rev-parse', 'HEAD').trim()).toBe(headBefore);
    expect(existsSync(join(repo, 'restart-work.txt'))).toBe(false);

    // Paperclip does not run the task again by itself (a legacy run whose provider started needs the board): it holds
    // the issue with a board recovery action. The board reconciles it as a user would: the recorded run's outcome, and
    // the task back to `todo`; Paperclip then wakes the agent for the issue (its reconciled continuation).
    const blocker = await waitFor('the recovery action of the interrupted run', 120_000, async () => {
      const read = await callApi<{ executionBlocker?: ExecutionBlocker | null }>(
        `${stack.server.apiUrl}/issues/${issue.id}`,
        'GET',
      );
      return read.body.executionBlocker ?? undefined;
    });
    testProgress.info(`recovery action: ${JSON.stringify(blocker)}`);
    expect(blocker).toMatchObject({ runId: orphan.id, cause: 'legacy_execution_requires_reconciliation' });
    expect(await stack.client.listCompanyRuns(company.id, { agentId: agent.id, limit: 5 })).toHaveLength(1);
    const resolved = await callApi<{ issue?: Issue; recoveryAction?: { status?: string; outcome?: string } }>(
      `${stack.server.apiUrl}/issues/${issue.id}/recovery-actions/resolve`,
      'POST',
      {
        actionId: blocker.recoveryActionId,
        outcome: 'restored',
        sourceIssueStatus: 'todo',
        resolutionNote: 'Continue: the agent pod kept working; the next run adopts it.',
        executionReconciliation: {
          runId: orphan.id,
          providerStopped: true,
          actionOutcome: 'mixed',
          outcomeEvidence: 'The run was interrupted by a server restart; its Kubernetes Job kept the work.',
        },
      },
    );
    expect(resolved.status, JSON.stringify(resolved.body)).toBe(200);
    expect(resolved.body.recoveryAction).toMatchObject({ status: 'resolved' });

    const continuation = await laterRunOf(agent.id, [orphan.id], 120_000);
    testProgress.info(
      `the continuation run ${continuation.id} was queued ${msSince(restartedAt)} ms after the restart`,
    );
    const adopting = await finished(continuation);
    testProgress.info(`the adopting run ended ${msSince(restartedAt)} ms after the restart`);
    expect(adopting.status, String(adopting['error'] ?? '')).toBe('succeeded');
    // Paperclip's reconciled continuation of the held run, on the same issue (so the same task key).
    expect(adopting['contextSnapshot']).toMatchObject({
      issueId: issue.id,
      previousRunId: orphan.id,
      wakeReason: 'issue_recovery_action_restored',
    });
    const resultJson = (adopting['resultJson'] ?? {}) as { adoptedFrom?: { runId?: string; jobName?: string } };
    expect(resultJson.adoptedFrom).toMatchObject({ runId: orphan.id, jobName });
    const log = await logWith(adopting.id, 'adopted Job', "the agent's changes came back");
    expect(log).toContain(`adopted Job ${namespace}/${jobName} of run ${orphan.id}`);
    expect(log).toContain("the agent's changes came back");
    expect(transferOf(adopting)).toMatchObject({ commits: 1, conflicts: [], keptRefs: [], claudeExitCode: 0 });

    // Nothing lost, nothing twice: the one commit on the branch (fast-forward), the edits before and after the restart
    // once each, the untracked file; the rest of the workspace as it was.
    testProgress.info(`history after the adoption:\n${gitAsServer('log', '--format=%H %P %s', '-3')}`);
    expect(gitAsServer('log', '--format=%s', `${headBefore}..HEAD`).trim()).toBe('agent: before the restart');
    expect(gitAsServer('rev-parse', 'HEAD~1').trim()).toBe(headBefore);
    expect(gitAsServer('show', 'HEAD:restart-work.txt')).toBe('COMMITTED-BEFORE-RESTART-42\n');
    expect(readFileSync(join(repo, 'restart-work.txt'), 'utf8')).toBe(
      'COMMITTED-BEFORE-RESTART-42\nUNCOMMITTED-BEFORE-RESTART-42\nAFTER-RESTART-42\n',
    );
    expect(readFileSync(join(repo, 'restart-untracked.txt'), 'utf8')).toBe('UNTRACKED-AFTER-RESTART-42\n');
    expect(gitAsServer('status', '--porcelain', '--', 'restart-work.txt', 'restart-untracked.txt').split('\n')).toEqual(
      [' M restart-work.txt', '?? restart-untracked.txt', ''],
    );
    expect(others()).toEqual(othersBefore);

    // The run adopted the Job instead of starting its own (one Job, one claude), and the pod is released. No third run:
    // Paperclip makes no corrective follow-up of a run a recovery action drove (`decideSuccessfulRunHandoff`).
    const runs = await stack.client.listCompanyRuns(company.id, { agentId: agent.id, limit: 5 });
    expect(runs.map((run) => run.id).sort()).toEqual([orphan.id, adopting.id].sort());
    await waitFor(`no Job of ${agent.id}`, 120_000, async () => (await jobsOfAgent()).length === 0);
    expect(await podsOfJob(core, namespace, jobName!)).toEqual([]);
  });
});

describe(`a workspace that is not a git repository goes into the pod and comes back (transfer mode, ${namespace})`, () => {
  it('a plain directory: the agent reads, edits, adds and deletes; a file the server changed meanwhile is kept and named', async () => {
    // A Paperclip project whose workspace is a plain local folder (no git anywhere), owned by the server's user.
    const plain = join(root, 'notes');
    mkdirSync(plain);
    writeIn(plain, 'README.md', 'Plain folder.\nPLAIN-README-MARKER-7f3a\n');
    writeIn(plain, 'notes.md', 'notes\n');
    writeIn(plain, 'shared.txt', 'shared as it went in\n');
    writeIn(plain, 'obsolete.txt', 'to be deleted\n');
    writeIn(plain, 'node_modules/dep/index.js', 'HEAVY-ON-SERVER\n');
    const project = await stack.client.createProject(company.id, {
      name: 'notes',
      workspace: { name: 'notes', sourceType: 'local_path', cwd: plain, isPrimary: true },
    });
    const agent = await createAgent('transfer-directory-agent');
    const script = [
      'pwd',
      'cat README.md',
      'test -e .git || echo NO-GIT-DIR-$((40 + 2))',
      'ls node_modules 2>&1 || echo NO-NODE-MODULES-$((40 + 2))',
      'sleep 20',
      'echo "edited by the agent" >> notes.md',
      'echo "the agent version" > shared.txt',
      'echo "added by the agent" > added.txt',
      'rm -f obsolete.txt',
      'echo SCRIPT-DONE-$((40 + 2))',
    ].join('; ');
    const started = performance.now();
    const run0 = await startIssue(agent.id, 'Tidy the notes', script, project.id);
    // Once the folder is in the pod, the server changes a file the agent also edits.
    await copiedIn(run0);
    testProgress.info(`copied in after ${msSince(started)} ms`);
    writeIn(plain, 'shared.txt', 'SERVER-EDIT-DURING-THE-RUN\n');
    const run = await finished(run0);
    testProgress.info(`run ended after ${msSince(started)} ms; transfer: ${JSON.stringify(transferOf(run))}`);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    const output = await toolOutput(run);
    expect(output).toContain(plain); // the pod works at the server's path
    expect(output).toContain('PLAIN-README-MARKER-7f3a');
    expect(output).toContain('NO-GIT-DIR-42'); // the pod's bookkeeping is outside the workspace
    expect(output).toContain('NO-NODE-MODULES-42'); // Paperclip's heavy directories stay on the server
    expect(output).toContain('SCRIPT-DONE-42');

    // The agent's edit, addition and deletion are in the server's folder; the server's change is intact.
    expect(readFileSync(join(plain, 'notes.md'), 'utf8')).toBe('notes\nedited by the agent\n');
    expect(readFileSync(join(plain, 'added.txt'), 'utf8')).toBe('added by the agent\n');
    expect(existsSync(join(plain, 'obsolete.txt'))).toBe(false);
    expect(readFileSync(join(plain, 'shared.txt'), 'utf8')).toBe('SERVER-EDIT-DURING-THE-RUN\n');
    expect(readFileSync(join(plain, 'node_modules/dep/index.js'), 'utf8')).toBe('HEAVY-ON-SERVER\n');
    expect(existsSync(join(plain, '.git'))).toBe(false);
    // The agent's version of the conflicting file is kept, and named in resultJson and the log.
    const transfer = transferOf(run);
    expect(transfer).toMatchObject({
      kind: 'directory',
      conflicts: ['shared.txt'],
      keptIn: `.claude-k8s/conflicts/${run.id}`,
      refused: [],
    });
    expect((transfer['applied'] as string[]).sort()).toEqual(['added.txt', 'notes.md', 'obsolete.txt']);
    expect(readFileSync(join(plain, '.claude-k8s', 'conflicts', run.id, 'shared.txt'), 'utf8')).toBe(
      'the agent version\n',
    );
    expect(Number(transfer['bytesOut'])).toBeLessThan(4096);
    const log = await logWith(run.id, 'workspace conflict', "the agent's changes came back");
    expect(log).toContain('workspace conflict');
    expect(log).toContain(`the agent's versions are kept in ${plain}/.claude-k8s/conflicts/${run.id}`);
  });
});
