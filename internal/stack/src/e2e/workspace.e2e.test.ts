// End to end (issue 12): the agent works on the project's code in the pod, and its changes are in Paperclip's
// workspace afterwards. A real Paperclip server with a project whose workspace is a real git repository with history
// and per-issue git worktrees; the shared workspace mode over a host-path volume of the local cluster (the cluster
// runs on this machine, so the server's paths are the node's); the real Claude Code CLI, scripted by the fake model
// API to run git in the pod.
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exposeToPods } from '@claude-k8s/local-cluster';
import { resolveServerUser, type Company, type HeartbeatRun, type ServiceUser } from '@claude-k8s/paperclip-server';
import { ADAPTER_TYPE, type Stack } from '../start-stack.ts';
import { startGitHttpServer, type GitHttpServer } from './git-http-server.ts';
import {
  adminClients,
  jobNameOf,
  podsOfJob,
  startTestStack,
  stopTestStack,
  storedStdout,
  testProgress,
} from './harness.ts';

// CK8S_E2E_NAMESPACE_PREFIX lets a shared cluster's users keep their namespaces apart.
const namespace = `${process.env['CK8S_E2E_NAMESPACE_PREFIX'] ?? 'ck8s-e2e'}-workspace-${process.pid}`;
let stack: Stack;
let company: Company;
let serverUser: ServiceUser;
let repo: string;
let projectId: string;

/** The Secret with the agents' git credentials (workspace.gitCredentialsEnv), admitted by the operator policy. */
const GIT_SECRET = 'git-push-credentials';

const TERMINAL = ['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'] as const;

/** git as the Paperclip server's user (it owns the workspace, as Paperclip's own git calls would). */
function gitAsServer(cwd: string, ...args: string[]): string {
  return execFileSync('git', ['-c', 'user.name=Dev', '-c', 'user.email=dev@example.com', ...args], {
    cwd,
    uid: serverUser.uid,
    gid: serverUser.gid,
    env: { PATH: '/usr/local/bin:/usr/bin:/bin', HOME: serverUser.home },
    encoding: 'utf8',
  });
}

function writeAsServer(path: string, content: string): void {
  mkdirSync(join(path, '..'), { recursive: true });
  writeFileSync(path, content);
  execFileSync('chown', ['-R', `${serverUser.uid}:${serverUser.gid}`, join(path, '..')]);
}

beforeAll(async () => {
  stack = await startTestStack(namespace, { sharedWorkspaces: true, allowedSecrets: [GIT_SECRET] });
  serverUser = await resolveServerUser();
  // Per-issue git worktrees are an experimental Paperclip feature.
  await stack.client.patchExperimentalSettings({ enableIsolatedWorkspaces: true });
  company = await stack.client.createCompany({ name: `e2e workspace ${process.pid}` });
  // A real repository with history, owned by the server's user, under the shared workspace root.
  repo = join(stack.workspaceVolume!.hostPath, 'projects', 'app');
  writeAsServer(join(repo, 'README.md'), 'The app of the e2e test.\nREADME-MARKER-7f3a\n');
  writeAsServer(join(repo, 'src', 'app.txt'), 'line one\n');
  writeAsServer(join(repo, 'obsolete.txt'), 'to be deleted\n');
  writeAsServer(join(repo, 'notes.txt'), 'notes\n');
  gitAsServer(repo, 'init', '-q', '-b', 'main');
  gitAsServer(repo, 'add', 'README.md');
  gitAsServer(repo, 'commit', '-q', '-m', 'first commit');
  gitAsServer(repo, 'add', '.');
  gitAsServer(repo, 'commit', '-q', '-m', 'second commit');
  const project = await stack.client.createProject(company.id, {
    name: 'app',
    workspace: { name: 'app', sourceType: 'local_path', cwd: repo, isPrimary: true },
    executionWorkspacePolicy: {
      enabled: true,
      defaultMode: 'isolated_workspace',
      workspaceStrategy: { type: 'git_worktree' },
    },
  });
  projectId = project.id;
}, 300_000);

let gitServer: GitHttpServer | undefined;
let gitRoot: string | undefined;
afterAll(async () => {
  await gitServer?.close();
  if (gitRoot) rmSync(gitRoot, { recursive: true, force: true });
  await stopTestStack(stack, namespace);
});

async function createAgent(name: string, overrides: Record<string, unknown> = {}) {
  return stack.client.createAgent(company.id, {
    name,
    adapterType: ADAPTER_TYPE,
    // The pod runs as the workspace's owner (the server's user): HOME is the pod's own (an emptyDir), since the
    // stack's session volume belongs to the default agent user.
    // Succeeded Jobs are kept so the test can read what their pods mounted.
    adapterConfig: {
      ...stack.adapterConfig,
      sessionVolume: { mountAs: 'home' },
      workspace: { mode: 'shared' },
      retention: { onSuccess: 'keep' },
      ...overrides,
    },
  });
}

/** The newest run of `agentId` other than `except`, once it is terminal. */
async function nextRun(agentId: string, except: readonly string[]): Promise<HeartbeatRun> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const runs = await stack.client.listCompanyRuns(company.id, { agentId, limit: 10 });
    const run = runs.find((candidate) => !except.includes(candidate.id));
    if (run) return stack.client.waitForRun(run.id, { timeoutMs: 180_000, until: TERMINAL });
    if (Date.now() > deadline) throw new Error(`no run of agent ${agentId} was queued within 60 s`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/** The worktree Paperclip made for a branch whose name starts with the issue's identifier. */
function worktreeOf(identifier: string): { path: string; branch: string } {
  const listing = gitAsServer(repo, 'worktree', 'list', '--porcelain');
  for (const block of listing.split('\n\n')) {
    const path = /^worktree (.+)$/m.exec(block)?.[1];
    const branch = /^branch refs\/heads\/(.+)$/m.exec(block)?.[1];
    if (path && branch?.startsWith(identifier)) return { path, branch };
  }
  throw new Error(`no worktree for ${identifier} in:\n${listing}`);
}

/**
 * Creates an issue of the project assigned to the agent, and waits for its run. The fake model's script (one Bash call
 * running `command`, then an answer quoting its output) is a marker in the issue's text, which reaches the prompt: no
 * other run (Paperclip may wake agents on its own) can take it from a shared queue.
 */
async function runIssue(agentId: string, title: string, command: string) {
  stack.fakeModel!.clearForcedScenarios();
  const issue = await stack.client.createIssue(company.id, {
    title,
    description: `Work on the repository. [[bash:${command}]]`,
    projectId,
    assigneeAgentId: agentId,
    status: 'todo',
  });
  const run = await nextRun(agentId, []);
  const invoke = (await stack.client.getRunEvents(run.id)).find((event) => event['eventType'] === 'adapter.invoke');
  testProgress.info(`run ${run.id} (${run.status}): ${JSON.stringify(invoke?.['payload'] ?? {}).slice(0, 600)}`);
  return { issue, run };
}

/** The output of the run's tool calls (the `tool_result` blocks of the CLI's stream-json), not the commands' text. */
async function toolOutput(run: HeartbeatRun): Promise<string> {
  const stdout = storedStdout((await stack.client.getRunLog(run.id)).records);
  const results: string[] = [];
  for (const line of stdout.split('\n')) {
    if (!line.startsWith('{')) continue;
    const event = JSON.parse(line) as { type?: string; message?: { content?: unknown } };
    if (event.type !== 'user' || !Array.isArray(event.message?.content)) continue;
    for (const block of event.message.content as { type?: string; content?: unknown }[]) {
      if (block.type !== 'tool_result') continue;
      results.push(typeof block.content === 'string' ? block.content : JSON.stringify(block.content ?? ''));
    }
  }
  const output = results.join('\n');
  testProgress.info(`run ${run.id} tool output:\n${output}`);
  return output;
}

const AGENT_SCRIPT = [
  'set -e',
  'pwd',
  'cat README.md',
  'echo "line two by the agent" >> src/app.txt',
  'echo "added by the agent" > added.txt',
  'git rm -q obsolete.txt',
  'git add -A',
  'git -c user.name=Agent -c user.email=agent@example.com commit -q -m "agent: edit, add, delete"',
  'echo "uncommitted by the agent" >> notes.txt',
  'git status --short',
  // Markers are computed, so the command's own text (also in the log) never matches them.
  'echo SCRIPT-DONE-$((40 + 2))',
].join('; ');

describe(`the agent works in Paperclip's workspace (shared mode, namespace ${namespace})`, () => {
  let first: { issue: { id: string; [key: string]: unknown }; run: HeartbeatRun };
  let agentId: string;
  let worktree: { path: string; branch: string };

  it("an issue's run works in its git worktree in place: the commit is on the issue's branch, the uncommitted change stays", async () => {
    const agent = await createAgent('workspace-agent');
    agentId = agent.id;
    const mainBefore = gitAsServer(repo, 'rev-parse', 'main').trim();
    first = await runIssue(agent.id, 'Change the app', AGENT_SCRIPT);
    expect(first.run.status, String(first.run['error'] ?? '')).toBe('succeeded');
    const stdout = await toolOutput(first.run);
    expect((first.run['resultJson'] as { workspace?: unknown } | null)?.workspace).toEqual({
      mode: 'shared',
      cwd: worktreeOf(String(first.issue['identifier'])).path,
    });
    worktree = worktreeOf(String(first.issue['identifier']));
    testProgress.info(`worktree ${worktree.path} on branch ${worktree.branch}`);
    // The agent read the repository's file and ran in the worktree (the server's path).
    expect(stdout).toContain('README-MARKER-7f3a');
    expect(stdout).toContain(worktree.path);
    expect(stdout).toContain('SCRIPT-DONE-42');

    // Paperclip's workspace: the agent's commit on the issue's branch, on top of main (fast-forward history).
    expect(gitAsServer(worktree.path, 'log', '-1', '--format=%s', worktree.branch).trim()).toBe(
      'agent: edit, add, delete',
    );
    expect(gitAsServer(worktree.path, 'rev-parse', `${worktree.branch}~1`).trim()).toBe(mainBefore);
    expect(gitAsServer(repo, 'rev-parse', 'main').trim()).toBe(mainBefore);
    expect(gitAsServer(worktree.path, 'show', '--name-status', '--format=', 'HEAD').trim().split('\n').sort()).toEqual([
      'A\tadded.txt',
      'D\tobsolete.txt',
      'M\tsrc/app.txt',
    ]);
    // The uncommitted change is there, and nothing else is dirty.
    expect(gitAsServer(worktree.path, 'status', '--porcelain').trim()).toBe('M notes.txt');
    expect(readFileSync(join(worktree.path, 'notes.txt'), 'utf8')).toBe('notes\nuncommitted by the agent\n');
    expect(existsSync(join(worktree.path, 'obsolete.txt'))).toBe(false);
    // Written as the workspace's owner: the server can go on working with it.
    expect(statSync(join(worktree.path, 'added.txt')).uid).toBe(serverUser.uid);

    // The pod mounted only the worktree and the repository's git directory, at the server's paths.
    const jobName = await jobNameOf(stack, first.run);
    const { batch } = adminClients(stack);
    const pod = (await batch.readNamespacedJob({ name: jobName!, namespace })).spec?.template;
    const mounts = (pod?.spec?.containers[0]?.volumeMounts ?? []).filter((mount) => mount.name === 'workspace');
    expect(mounts.map((mount) => [mount.mountPath, mount.subPath])).toEqual([
      [worktree.path, `projects/app/.paperclip/worktrees/${worktree.branch}`],
      [join(repo, '.git'), 'projects/app/.git'],
    ]);
    expect(pod?.spec?.securityContext?.runAsUser).toBe(serverUser.uid);
  });

  it('the next run on the same issue sees that state', async () => {
    // The issue's own marker is still in this run's prompt, so this script goes through the forced queue (which wins).
    stack.fakeModel!.clearForcedScenarios();
    stack.fakeModel!.forceScenario(
      'bash:git log -1 --format=%s; git status --short; cat added.txt; ' +
        'git switch -q -c agent-scratch && git switch -q - && echo NEXT-DONE-$((40 + 2))',
      { count: 2 },
    );
    await stack.client.addIssueComment(first.issue.id, 'Please check what you did.');
    const next = await nextRun(agentId, [first.run.id]);
    stack.fakeModel!.clearForcedScenarios();
    expect(next.status, String(next['error'] ?? '')).toBe('succeeded');
    const stdout = await toolOutput(next);
    expect(stdout).toContain('NEXT-DONE-42');
    expect(stdout).toContain('agent: edit, add, delete');
    expect(stdout).toContain('M notes.txt');
    expect(stdout).toContain('added by the agent');
    // git switch works in the pod: the branch it made is in Paperclip's repository, the worktree is back on its own.
    expect(gitAsServer(repo, 'branch', '--list', 'agent-scratch').trim()).toBe('agent-scratch');
    expect(gitAsServer(worktree.path, 'rev-parse', '--abbrev-ref', 'HEAD').trim()).toBe(worktree.branch);
  });

  it('a run that fails half-way leaves what it changed in the workspace', async () => {
    // The agent writes a file in its first turn, then hits its turn limit: the run fails (claude_max_turns). The
    // script is a marker in the issue's text (which reaches the prompt), so no other run can take it from the queue.
    const agent = await createAgent('workspace-halfway-agent', { maxTurnsPerRun: 1 });
    stack.fakeModel!.clearForcedScenarios();
    const issue = await stack.client.createIssue(company.id, {
      title: 'Fail half-way',
      description: 'Work on the repository. [[bash:cp README.md partial.txt; git add partial.txt]]',
      projectId,
      assigneeAgentId: agent.id,
      status: 'todo',
    });
    const run = await nextRun(agent.id, []);
    stack.fakeModel!.clearForcedScenarios();
    testProgress.info(
      `half-way run ${run.id}: ${run.status} ${String(run['errorCode'] ?? '')} ${String(run['error'] ?? '')}`,
    );
    expect(run.status).toBe('failed');
    const own = worktreeOf(String(issue['identifier']));
    expect(readFileSync(join(own.path, 'partial.txt'), 'utf8')).toContain('README-MARKER-7f3a');
    expect(gitAsServer(own.path, 'status', '--porcelain').trim()).toBe('A  partial.txt');
  });

  it('a file the server changes during the run: the pod works in place, so both changes are in it and no byte is lost', async () => {
    // In the shared mode there is no copy to merge back: the agent reads and writes the server's file itself. What
    // the server writes during the run is what the agent reads next, and the agent's write lands on top of it; the
    // run reports no conflict because none can arise (unlike the transfer mode, which keeps the agent's version).
    const agent = await createAgent('workspace-conflict-agent');
    stack.fakeModel!.clearForcedScenarios();
    const issue = await stack.client.createIssue(company.id, {
      title: 'Edit the README slowly',
      description:
        'Work on the repository. [[bash:echo started > started.txt; sleep 20; cat README.md; ' +
        'echo "README line by the agent" >> README.md; rm started.txt; echo SLOW-DONE-$((40 + 2))]]',
      projectId,
      assigneeAgentId: agent.id,
      status: 'todo',
    });
    // Once the agent's command runs in the issue's worktree, the server changes the README there.
    const deadline = Date.now() + 180_000;
    let own: { path: string; branch: string } | undefined;
    for (;;) {
      try {
        own = worktreeOf(String(issue['identifier']));
      } catch {
        own = undefined;
      }
      if (own && existsSync(join(own.path, 'started.txt'))) break;
      if (Date.now() > deadline) throw new Error("the agent's command did not start within 180 s");
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const before = readFileSync(join(own.path, 'README.md'), 'utf8');
    writeAsServer(join(own.path, 'README.md'), `${before}SERVER-EDIT-DURING-RUN\n`);
    const run = await nextRun(agent.id, []);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    const stdout = await toolOutput(run);
    expect(stdout).toContain('SLOW-DONE-42');
    // The agent read the server's change, and both lines are in the server's file, in the order they were written.
    expect(stdout).toContain('SERVER-EDIT-DURING-RUN');
    expect(readFileSync(join(own.path, 'README.md'), 'utf8')).toBe(
      `${before}SERVER-EDIT-DURING-RUN\nREADME line by the agent\n`,
    );
    expect(existsSync(join(own.path, 'started.txt'))).toBe(false);
    expect((run['resultJson'] as { workspace?: unknown } | null)?.workspace).toEqual({ mode: 'shared', cwd: own.path });
  });

  it("another agent's run on another issue cannot see the first issue's worktree", async () => {
    const other = await createAgent('workspace-other-agent');
    const probe = `ls ${worktree.path} 2>&1 || true; ls ${repo} 2>&1 || true; cat ${worktree.path}/added.txt 2>&1 || echo FIRST-NOT-VISIBLE-$((40 + 2)); pwd`;
    const { issue, run } = await runIssue(other.id, 'Another change', probe);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    const stdout = await toolOutput(run);
    const own = worktreeOf(String(issue['identifier']));
    expect(own.path).not.toBe(worktree.path);
    expect(stdout).toContain('FIRST-NOT-VISIBLE-42');
    expect(stdout).not.toContain('added by the agent');
    // The repository's checkout is not in the pod either (only its git directory and this issue's worktree).
    expect(stdout).not.toContain('README.md');
    expect(stdout).toContain(own.path);
  });
  it("the agent's git push to an authenticated git server works with credentials from a Secret, a plain value in no object", async () => {
    // A git smart-HTTP server on this machine (git http-backend behind basic auth), reached by pods at the portal.
    gitRoot = mkdtempSync(join(tmpdir(), 'ck8s-git-remote-'));
    execFileSync('git', ['init', '-q', '--bare', join(gitRoot, 'remote.git')]);
    execFileSync('git', ['-C', join(gitRoot, 'remote.git'), 'config', 'http.receivepack', 'true']);
    const token = `tok-${randomBytes(12).toString('hex')}`;
    gitServer = await startGitHttpServer({ root: gitRoot, user: 'agent', password: token });
    const remoteUrl = `${await exposeToPods(gitServer.port)}/remote.git`;
    const { core, batch } = adminClients(stack);
    await core.createNamespacedSecret({
      namespace,
      body: { metadata: { name: GIT_SECRET }, type: 'Opaque', stringData: { token } },
    });
    const agent = await createAgent('workspace-git-agent', {
      workspace: {
        mode: 'shared',
        gitCredentialsEnv: { GIT_TOKEN: { secretKeyRef: { name: GIT_SECRET, key: 'token' } } },
      },
    });
    // Without credentials the server refuses; with the Secret's token in a credential helper the push goes through.
    // The command names $GIT_TOKEN, never its value.
    const helper = "credential.helper='!f() { echo username=agent; echo password=$GIT_TOKEN; }; f'";
    const script =
      `GIT_TERMINAL_PROMPT=0 git ls-remote ${remoteUrl} >/dev/null 2>&1 || echo NO-CREDS-REFUSED-$((40 + 2)); ` +
      `git -c ${helper} push -q ${remoteUrl} HEAD:refs/heads/pushed-by-agent && ` +
      `git -c ${helper} ls-remote ${remoteUrl} && echo PUSH-DONE-$((40 + 2))`;
    const { issue, run } = await runIssue(agent.id, 'Push the branch', script);
    expect(run.status, String(run['error'] ?? '')).toBe('succeeded');
    const stdout = await toolOutput(run);
    expect(stdout).toContain('NO-CREDS-REFUSED-42');
    expect(stdout).toContain('PUSH-DONE-42');
    // The remote has the issue's HEAD under the pushed name, and the server saw authorized pushes only after a 401.
    const own = worktreeOf(String(issue['identifier']));
    const remoteHead = execFileSync('git', ['--git-dir', join(gitRoot, 'remote.git'), 'rev-parse', 'pushed-by-agent'], {
      encoding: 'utf8',
    }).trim();
    expect(remoteHead).toBe(gitAsServer(own.path, 'rev-parse', 'HEAD').trim());
    expect(gitServer.requests.some((request) => !request.authorized)).toBe(true);
    expect(gitServer.requests.some((request) => request.authorized && request.path.includes('git-receive-pack'))).toBe(
      true,
    );

    // The token is in no object we create as a plain value: the Job and its Pod reference the Secret, and no other
    // Secret or ConfigMap of the namespace (the per-run Secret included) holds it; nor does the run's log.
    const jobName = await jobNameOf(stack, run);
    const job = await batch.readNamespacedJob({ name: jobName!, namespace });
    const pods = await podsOfJob(core, namespace, jobName!);
    expect(pods.length).toBeGreaterThan(0);
    for (const object of [job, ...pods]) expect(JSON.stringify(object)).not.toContain(token);
    const env = job.spec?.template.spec?.containers[0]?.env ?? [];
    expect(env.find((variable) => variable.name === 'GIT_TOKEN')).toEqual({
      name: 'GIT_TOKEN',
      valueFrom: { secretKeyRef: { name: GIT_SECRET, key: 'token' } },
    });
    const encoded = Buffer.from(token).toString('base64');
    for (const secret of (await core.listNamespacedSecret({ namespace })).items) {
      if (secret.metadata?.name === GIT_SECRET) continue;
      const text = JSON.stringify(secret);
      expect(text, secret.metadata?.name).not.toContain(token);
      expect(text, secret.metadata?.name).not.toContain(encoded);
    }
    for (const map of (await core.listNamespacedConfigMap({ namespace })).items)
      expect(JSON.stringify(map)).not.toContain(token);
    expect(JSON.stringify(await stack.client.getRunLog(run.id))).not.toContain(token);
    expect(JSON.stringify(await stack.client.getRunEvents(run.id))).not.toContain(token);
  });
});
