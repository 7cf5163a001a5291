// The main job: one Claude Code agent run as a Kubernetes Job through a real Paperclip server, streamed to the
// terminal. Run by scripts/demo.sh; `--help` lists the options.
import { chmod, chown, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { KubeConfig } from '@kubernetes/client-node';
import { createFakeModelApi } from '@claude-k8s/fake-model-api';
import { clusterDown, clusterStatus, clusterUp, exposeToPods, PORTAL_HOST } from '@claude-k8s/local-cluster';
import { resolveServerUser, type PaperclipClient } from '@claude-k8s/paperclip-server';
import { createFormatter, createRunAccumulator, createStreamParser, type RunSummary } from '@claude-k8s/stream-json';
import {
  createDemoRepository,
  DEMO_FAKE_COMMAND,
  DEMO_PROJECT_NAME,
  DEMO_TASK,
  formatDemoChanges,
  localWorkspaceShell,
  podWorkspaceShell,
  readDemoChanges,
  type WorkspaceShell,
} from './demo-project.ts';
import { installInClusterPaperclip } from './in-cluster.ts';
import { ADAPTER_TYPE, startStack, type StackProgress } from './start-stack.ts';

const HELP = `Usage: scripts/demo.sh [options]

Runs one Claude Code agent run as a Kubernetes Job through a real Paperclip server and streams its transcript.
The task is on a Paperclip project whose workspace is a small git repository the demo creates; the agent works on a
copy of it in its pod (the transfer workspace mode), and the summary shows the commit and files that came back.
Without KUBECONFIG it builds (or reuses) and starts the repository's local cluster; with KUBECONFIG it uses that
cluster and creates nothing outside the namespace but a ClusterRole and binding to read its Pod Security label
(deleted on exit).

Options:
  --once                 run once, print the summary and stop everything (default: keep the server running until Ctrl-C)
  --in-cluster           run Paperclip inside the local cluster: install the Helm chart (deploy/helm/claude-k8s) with
                         Paperclip enabled (the pinned release in the agent image, this checkout's adapter mounted),
                         sign up a board user, and reach it through kubectl port-forward; stopping uninstalls the release
  --namespace NAME       namespace for the agent Jobs (default: claude-k8s-agents; with --in-cluster:
                         claude-k8s-in-cluster, Paperclip in NAME-paperclip)
  --image REF            agent image on an external cluster (default: the local cluster's imported image)
  --paperclip-url URL    URL at which pods of an external cluster reach this Paperclip server
  --task TEXT            the task given to the agent (default: edit a file of the demo's repository, add one, commit)
  --project-dir DIR      create the demo's git repository in DIR (must not exist or be empty; kept on exit); default: a
                         temporary directory, removed on exit (not with --in-cluster: there it is in Paperclip's pod)
  --budget-usd N         the agent's dollar limit per run (budget.usdPerRun; default 1; 0 = none): the adapter stops
                         the pod when the run's spend crosses it, and prints its spend at each quarter of the limit
  --budget-tokens N      the agent's token limit per run (budget.tokensPerRun; default 0 = none)
  --no-color             plain text output
  -h, --help             this text

Environment:
  KUBECONFIG             use this cluster instead of the local one (with --in-cluster: only the local cluster's own)
  ANTHROPIC_API_KEY      use the real model (stored in a Secret in the namespace, never printed); otherwise a fake
                         model API on this machine answers with a scripted task
`;

interface Timing {
  name: string;
  ms: number;
}

function createProgress(timings: Timing[]): StackProgress {
  const started = new Map<string, number>();
  return {
    step(name) {
      started.set(name, performance.now());
      process.stderr.write(`\u25b8 ${name} ...\n`);
    },
    done(name, detail) {
      const ms = Math.round(performance.now() - (started.get(name) ?? performance.now()));
      timings.push({ name, ms });
      process.stderr.write(`\u2714 ${name} (${(ms / 1000).toFixed(1)} s)${detail ? `: ${detail}` : ''}\n`);
    },
    info(line) {
      process.stderr.write(`    ${line}\n`);
    },
  };
}

/** A string or number as text; anything else as `fallback`. */
function text(value: unknown, fallback = 'unknown'): string {
  return typeof value === 'string' || typeof value === 'number' ? String(value) : fallback;
}

function formatUsd(value: number | null | undefined): string {
  return typeof value === 'number' ? `$${value.toFixed(4)}` : 'unknown';
}

/**
 * The summary's budget line: spend against the agent's per-run limits, and which meter stopped the run if one did
 * (`resultJson.budget` of a `budget_exceeded` run).
 */
function formatBudget(
  limits: { usdPerRun: number; tokensPerRun: number },
  resultJson: unknown,
  costUsd: number | null | undefined,
  tokens: number,
): string {
  const parts: string[] = [];
  if (limits.usdPerRun > 0) {
    const spent = typeof costUsd === 'number' ? costUsd : 0;
    parts.push(
      `${formatUsd(spent)} of $${limits.usdPerRun.toFixed(2)} (${Math.round((spent / limits.usdPerRun) * 100)}%)`,
    );
  }
  if (limits.tokensPerRun > 0)
    parts.push(`${tokens} of ${limits.tokensPerRun} tokens (${Math.round((tokens / limits.tokensPerRun) * 100)}%)`);
  const stop =
    typeof resultJson === 'object' && resultJson !== null && 'budget' in resultJson
      ? (resultJson as { budget: { meter?: unknown; stoppedBy?: unknown } }).budget
      : null;
  if (stop !== null) parts.push(`stopped by the ${text(stop.meter)} meter (${text(stop.stoppedBy)})`);
  return parts.length > 0 ? parts.join(', ') : 'no per-run limit';
}

/** The summary's workspace part: the mode the adapter chose, and for a transfer its figures (`resultJson.workspace`). */
function formatWorkspace(resultJson: unknown): string {
  const workspace =
    typeof resultJson === 'object' && resultJson !== null && 'workspace' in resultJson
      ? (resultJson as { workspace: { mode?: unknown; transfer?: Record<string, unknown> } }).workspace
      : undefined;
  if (!workspace) return 'workspace mode unknown';
  const transfer = workspace.transfer;
  if (!transfer) return `workspace mode ${text(workspace.mode)}`;
  const seconds = (ms: unknown) => (typeof ms === 'number' ? `${(ms / 1000).toFixed(1)} s` : '?');
  const conflicts = Array.isArray(transfer['conflicts'])
    ? (transfer['conflicts'] as unknown[]).map((c) => text(c))
    : [];
  const kept = Array.isArray(transfer['keptRefs']) ? (transfer['keptRefs'] as unknown[]).map((r) => text(r)) : [];
  const error = transfer['error'] as { message?: unknown } | undefined;
  return [
    `workspace mode ${text(workspace.mode)}: ${text(transfer['bytesIn'], '?')} bytes in (${seconds(transfer['inMs'])}), ${text(transfer['bytesOut'], '?')} bytes back (${seconds(transfer['backMs'])})`,
    ...(conflicts.length > 0 ? [`conflicts ${conflicts.join(', ')}`] : []),
    ...(kept.length > 0 ? [`kept as ${kept.join(', ')}`] : []),
    ...(error ? [`transfer failed: ${text(error.message)}`] : []),
  ].join('; ');
}

/** What the demo runs against: Paperclip on this machine (startStack) or in the cluster (--in-cluster). */
interface DemoTarget {
  client: PaperclipClient;
  fakeModel?: Awaited<ReturnType<typeof createFakeModelApi>>;
  adapterConfig: Record<string, unknown>;
  /** Where the agent Jobs run. */
  jobNamespace: string;
  /** The Paperclip UI this machine opens. */
  url: string;
  /** Where the board user's credentials are (in-cluster: authenticated mode). */
  signIn?: string;
  /** Where the demo's git repository is created, as Paperclip's server sees it, and a shell there as its user. */
  project: { dir: string; shell: WorkspaceShell; where: string };
  stop(options?: { keepCluster?: boolean }): Promise<void>;
}

/**
 * `--in-cluster`: the local cluster (started when needed), the fake model API unless a key is given, and the chart
 * with Paperclip installed into it (in-cluster.ts).
 */
async function startInCluster(options: {
  namespace: string;
  kubeconfig?: string;
  modelApiKey?: string;
  progress: StackProgress;
}): Promise<DemoTarget> {
  const { progress } = options;
  const cleanups: (() => Promise<void>)[] = [];
  let startedCluster = false;
  const stop = async (stopOptions: { keepCluster?: boolean } = {}): Promise<void> => {
    for (const cleanup of cleanups.reverse())
      await cleanup().catch((error: unknown) => progress.info(`cleanup: ${(error as Error).message}`));
    cleanups.length = 0;
    if (!stopOptions.keepCluster && startedCluster) {
      await clusterDown({ onProgress: () => undefined });
    }
  };
  try {
    let status = await clusterStatus();
    if (options.kubeconfig) {
      const given = new KubeConfig();
      given.loadFromFile(options.kubeconfig);
      if (!status?.running || status.server !== given.getCurrentCluster()?.server)
        throw new Error(
          "--in-cluster mounts this machine's Paperclip install and checkout into the pod: it needs the local cluster, and KUBECONFIG names another one (unset KUBECONFIG, or use `helm install` as the README shows)",
        );
    } else if (!status?.running) {
      progress.step('local cluster: build or reuse Kubernetes, images, bring up');
      status = await clusterUp({ onProgress: (line) => progress.info(line) });
      startedCluster = true;
      progress.done('local cluster: build or reuse Kubernetes, images, bring up', status.server);
    }
    if (!status?.images) throw new Error('the local cluster reports no images');
    let fakeModel: DemoTarget['fakeModel'];
    let modelUrl: string | undefined;
    if (!options.modelApiKey) {
      fakeModel = await createFakeModelApi({ host: '127.0.0.1', port: 0 });
      const model = fakeModel;
      cleanups.push(() => model.close());
      modelUrl = await exposeToPods(fakeModel.port);
    }
    const pc = await installInClusterPaperclip({
      adminKubeconfig: status.kubeconfig,
      localState: status.state,
      agentImage: status.images.agent.ref,
      releaseNamespace: `${options.namespace}-paperclip`,
      agentsNamespace: options.namespace,
      modelApiKey: options.modelApiKey ?? 'fake-model-key',
      allowedModelHosts: fakeModel ? [PORTAL_HOST] : [],
      progress,
    });
    cleanups.push(() => pc.stop());
    // The board user's sign-in, for the UI: a file only root reads, never the terminal.
    const credentials = join(status.state, `in-cluster-${options.namespace}.credentials`);
    await writeFile(credentials, `email: ${pc.boardEmail}\npassword: ${pc.boardPassword}\n`, { mode: 0o600 });
    cleanups.push(() => rm(credentials, { force: true }));
    return {
      client: pc.client,
      ...(fakeModel ? { fakeModel } : {}),
      adapterConfig: { ...pc.adapterConfig, ...(modelUrl ? { anthropicBaseUrl: modelUrl } : {}) },
      jobNamespace: pc.agentsNamespace,
      url: pc.url,
      signIn: credentials,
      // Paperclip's home in its pod (an emptyDir, gone with the release), written as Paperclip's user.
      project: {
        dir: `/paperclip/projects/${DEMO_PROJECT_NAME}`,
        shell: podWorkspaceShell({
          kubectl: pc.kubectl,
          kubeconfig: status.kubeconfig,
          namespace: pc.releaseNamespace,
        }),
        where: `in Paperclip's pod, ${pc.releaseNamespace}/deploy/paperclip`,
      },
      stop,
    };
  } catch (error) {
    await stop();
    throw error;
  }
}

async function main(): Promise<number> {
  const { values } = parseArgs({
    options: {
      once: { type: 'boolean', default: false },
      'in-cluster': { type: 'boolean', default: false },
      namespace: { type: 'string' },
      image: { type: 'string' },
      'paperclip-url': { type: 'string' },
      task: { type: 'string' },
      'project-dir': { type: 'string' },
      'budget-usd': { type: 'string', default: '1' },
      'budget-tokens': { type: 'string', default: '0' },
      'no-color': { type: 'boolean', default: false },
      help: { type: 'boolean', short: 'h', default: false },
    },
    strict: true,
  });
  if (values.help) {
    process.stdout.write(HELP);
    return 0;
  }
  const budget = { usdPerRun: Number(values['budget-usd']), tokensPerRun: Number(values['budget-tokens']) };
  if (!(budget.usdPerRun >= 0) || !Number.isInteger(budget.tokensPerRun) || budget.tokensPerRun < 0) {
    process.stderr.write(
      `--budget-usd must be a number >= 0 and --budget-tokens an integer >= 0 (got ${values['budget-usd']}, ${values['budget-tokens']})\n`,
    );
    return 2;
  }
  const timings: Timing[] = [];
  const progress = createProgress(timings);
  const color = !values['no-color'] && process.stdout.isTTY === true;
  const modelApiKey = process.env['ANTHROPIC_API_KEY'];
  const kubeconfig = process.env['KUBECONFIG'];
  const image = values.image ?? process.env['CK8S_AGENT_IMAGE'];
  const started = performance.now();

  if (!modelApiKey) {
    process.stderr.write(
      '\nNote: no ANTHROPIC_API_KEY given, so the agent talks to a FAKE model API on this machine that answers with a scripted task.\n\n',
    );
  }
  if (values['in-cluster'] && (image || values['paperclip-url'] || values['project-dir'])) {
    process.stderr.write(
      '--in-cluster runs on the local cluster: --image, --paperclip-url and --project-dir do not apply\n',
    );
    return 2;
  }
  const projectDir = values['project-dir'] === undefined ? undefined : resolve(values['project-dir']);
  if (projectDir !== undefined) {
    const entries = await readdir(projectDir).catch((error: NodeJS.ErrnoException) => {
      if (error.code === 'ENOENT') return [];
      throw new Error(`--project-dir ${projectDir}: ${error.message}`, { cause: error });
    });
    if (entries.length > 0) {
      process.stderr.write(`--project-dir ${projectDir} is not empty: give a new or empty directory\n`);
      return 2;
    }
  }
  const stack: DemoTarget = values['in-cluster']
    ? await startInCluster({
        namespace: values.namespace ?? 'claude-k8s-in-cluster',
        ...(kubeconfig ? { kubeconfig } : {}),
        ...(modelApiKey ? { modelApiKey } : {}),
        progress,
      })
    : await (async () => {
        // The demo's repository on this machine, owned by Paperclip's user (the workspace's owner).
        const serverUser = await resolveServerUser();
        const temporary = projectDir === undefined ? await mkdtemp(join(tmpdir(), 'ck8s-demo-')) : undefined;
        const dir = projectDir ?? join(temporary!, DEMO_PROJECT_NAME);
        const owned = projectDir ?? temporary!;
        await mkdir(owned, { recursive: true });
        await chmod(owned, 0o755);
        await chown(owned, serverUser.uid, serverUser.gid);
        const removeTemporary = async () => {
          if (temporary) await rm(temporary, { recursive: true, force: true });
        };
        const started = await startStack({
          ...(kubeconfig ? { kubeconfig } : {}),
          ...(image ? { image } : {}),
          ...(values.namespace ? { namespace: values.namespace } : {}),
          ...(modelApiKey ? { modelApiKey } : {}),
          ...(values['paperclip-url'] ? { paperclipUrlForPods: values['paperclip-url'] } : {}),
          progress,
        });
        return {
          client: started.client,
          ...(started.fakeModel ? { fakeModel: started.fakeModel } : {}),
          adapterConfig: started.adapterConfig,
          jobNamespace: started.tenant.namespace,
          url: started.server.url,
          project: {
            dir,
            shell: localWorkspaceShell(serverUser),
            where: `on this machine, owned by ${serverUser.name}`,
          },
          stop: async (stopOptions?: { keepCluster?: boolean }) => {
            await started.stop(stopOptions);
            await removeTemporary();
          },
        };
      })();
  let stopping = false;
  const stopAll = async () => {
    if (stopping) return;
    stopping = true;
    progress.step('stopping');
    await stack.stop({ keepCluster: !values.once });
    progress.done('stopping');
  };
  process.once('SIGINT', () => void stopAll().then(() => process.exit(130)));
  process.once('SIGTERM', () => void stopAll().then(() => process.exit(143)));

  try {
    const { client } = stack;
    progress.step('demo company, project, agent and task');
    const company = await client.createCompany({ name: 'claude-k8s demo' });
    // The project: a small git repository with history where Paperclip's server runs, as its primary workspace.
    const { project: demoProject } = stack;
    const baseHead = await createDemoRepository(demoProject.shell, demoProject.dir);
    const project = await client.createProject(company.id, {
      name: DEMO_PROJECT_NAME,
      workspace: { name: DEMO_PROJECT_NAME, sourceType: 'local_path', cwd: demoProject.dir, isPrimary: true },
    });
    const task = values.task ?? DEMO_TASK;
    if (stack.fakeModel) {
      // The fake model's script for this task: a Bash tool call, then an answer quoting its output (two requests).
      stack.fakeModel.clearForcedScenarios();
      stack.fakeModel.forceScenario(`bash:${DEMO_FAKE_COMMAND}`, { count: 2 });
    }
    const agent = await client.createAgent(company.id, {
      name: 'k8s-agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: {
        ...stack.adapterConfig,
        budget,
      },
    });
    // The task is a Paperclip issue of the project assigned to the agent: Paperclip queues the agent's run itself,
    // in the project's workspace.
    const issue = await client.createIssue(company.id, {
      title: 'claude-k8s demo task',
      description: task,
      projectId: project.id,
      assigneeAgentId: agent.id,
      status: 'todo',
    });
    progress.done(
      'demo company, project, agent and task',
      `company ${company.id}, project ${demoProject.dir} (${baseHead.slice(0, 7)}), agent ${agent.id}, task ${text(issue['identifier'], issue.id)}`,
    );

    progress.step('running the agent as a Kubernetes Job');
    const run = await (async () => {
      const deadline = Date.now() + 60_000;
      for (;;) {
        const runs = await client.listCompanyRuns(company.id, { agentId: agent.id, limit: 5 });
        const first = runs.at(-1);
        if (first) return first;
        if (Date.now() > deadline) throw new Error('Paperclip queued no run for the assigned task within 60 s');
        await new Promise((resolve) => setTimeout(resolve, 250));
      }
    })();
    process.stderr.write(`    run ${run.id}: transcript follows\n\n`);

    const formatter = createFormatter({ color, width: process.stdout.columns ?? 100 });
    const parser = createStreamParser();
    const accumulator = createRunAccumulator();
    let seen = 0;
    let finalRun = run;
    for (;;) {
      const log = await client.getRunLog(run.id).catch(() => undefined);
      for (const record of (log?.records ?? []).slice(seen)) {
        seen += 1;
        if (record.stream === 'stdout' && record.chunk.startsWith('[paperclip] ')) {
          // The server's own notes share the run's stdout log; they are not the agent's output.
          process.stdout.write(record.chunk.replace(/^/gm, '  '));
        } else if (record.stream === 'stdout') {
          for (const event of parser.push(record.chunk)) {
            accumulator.add(event);
            process.stdout.write(formatter.format(event));
          }
        } else if (record.stream === 'stderr') {
          process.stdout.write(record.chunk.replace(/^/gm, '  [stderr] '));
        }
      }
      finalRun = await client.getRun(run.id);
      if (['succeeded', 'failed', 'timed_out', 'cancelled', 'interrupted'].includes(String(finalRun.status))) {
        const tail = await client.getRunLog(run.id).catch(() => undefined);
        if ((tail?.records.length ?? 0) === seen) break;
      }
      await new Promise((resolve) => setTimeout(resolve, 300));
    }
    for (const event of parser.end()) {
      accumulator.add(event);
      process.stdout.write(formatter.format(event));
    }
    const summary: RunSummary = accumulator.summary();
    process.stdout.write(formatter.formatSummary(summary));
    progress.done('running the agent as a Kubernetes Job');

    const events = await client.getRunEvents(run.id).catch(() => []);
    const invoke = events.find((event) => event.eventType === 'adapter.invoke');
    const invokePayload = (invoke?.['payload'] ?? {}) as Record<string, unknown>;
    const jobName =
      /"jobName":"([a-z0-9-]+)"/.exec(JSON.stringify([invokePayload, finalRun['resultJson'] ?? null]))?.[1] ??
      'unknown';
    const usage = (finalRun['usageJson'] ?? {}) as Record<string, unknown>;
    // What came back into Paperclip's workspace, read with git where the server runs.
    const changes = await readDemoChanges(demoProject.shell, demoProject.dir, baseHead).then(
      (read) => formatDemoChanges(read, baseHead),
      (error: unknown) => [`changes:     could not be read: ${(error as Error).message}`],
    );
    const seconds = (Date.parse(text(finalRun['finishedAt'], '')) - Date.parse(text(finalRun['startedAt'], ''))) / 1000;
    const lines = [
      '',
      '── summary ─────────────────────────────────────────────',
      `status:      ${text(finalRun.status)}${finalRun['errorCode'] ? ` (${text(finalRun['errorCode'])}: ${text(finalRun['error'], '')})` : ''}`,
      `job:         ${stack.jobNamespace}/${jobName}`,
      `session id:  ${text(finalRun['sessionIdAfter'], summary.sessionId ?? 'none')}`,
      `tokens:      input ${text(usage['inputTokens'], String(summary.usage.inputTokens))}, output ${text(usage['outputTokens'], String(summary.usage.outputTokens))}, cached ${text(usage['cachedInputTokens'], String(summary.usage.cacheReadInputTokens))}`,
      `cost:        ${formatUsd((usage['costUsd'] as number | undefined) ?? summary.costUsd)}`,
      `budget:      ${formatBudget(budget, finalRun['resultJson'], (usage['costUsd'] as number | undefined) ?? summary.costUsd, Number(usage['inputTokens'] ?? summary.usage.inputTokens + summary.usage.cacheCreationInputTokens) + Number(usage['outputTokens'] ?? summary.usage.outputTokens))}`,
      `duration:    ${Number.isFinite(seconds) ? `${seconds.toFixed(1)} s` : 'unknown'}`,
      `model:       ${modelApiKey ? 'real (ANTHROPIC_API_KEY)' : 'FAKE model API (scripted task)'}`,
      `project:     ${demoProject.dir} (${demoProject.where}); ${formatWorkspace(finalRun['resultJson'])}`,
      ...changes,
      `open:        ${stack.url}/ (company ${company.id}, run ${run.id})${stack.signIn ? `; sign in: ${stack.signIn}` : ''}`,
      `steps:       ${timings.map((timing) => `${timing.name.split(':')[0]} ${(timing.ms / 1000).toFixed(1)} s`).join('; ')}`,
      `total:       ${((performance.now() - started) / 1000).toFixed(1)} s`,
      '',
    ];
    process.stdout.write(lines.join('\n'));
    const ok = finalRun.status === 'succeeded';
    if (values.once) {
      await stopAll();
      return ok ? 0 : 1;
    }
    process.stderr.write(`Paperclip keeps running at ${stack.url}/ - press Ctrl-C to stop everything.\n`);
    await new Promise<never>(() => undefined);
    return 0;
  } catch (error) {
    await stopAll();
    throw error;
  }
}

/** One clear line for an error: a Kubernetes Status body's message when there is one, never a stack trace. */
function describeError(error: unknown): string {
  if (typeof error === 'object' && error !== null && 'body' in error && typeof error.body === 'string') {
    try {
      const status = JSON.parse(error.body) as { code?: number; reason?: string; message?: string };
      if (status.message)
        return `Kubernetes API: ${status.code ?? ''} ${status.reason ?? ''}: ${status.message}`.replace(/\s+/g, ' ');
    } catch {
      // not a Status body
    }
  }
  if (typeof error === 'object' && error !== null && 'code' in error && error.code === 'ECONNREFUSED') {
    return `connection refused: ${error instanceof Error ? error.message : 'no answer'}`;
  }
  return error instanceof Error ? error.message : String(error);
}

main().then(
  (code) => process.exit(code),
  (error: unknown) => {
    process.stderr.write(`\nclaude-k8s demo failed: ${describeError(error)}\n`);
    process.exit(1);
  },
);
