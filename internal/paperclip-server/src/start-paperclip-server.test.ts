// End to end against a real Paperclip server (no cluster needed). The first run installs Paperclip with npm
// (about 1 minute, 1.5 GB into <repo>/.cache/paperclip); later runs reuse the cache.
import { mkdir, mkdtemp, rm, writeFile } from 'node:fs/promises';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createPaperclipClient,
  defaultArtifactsDir,
  ensurePaperclipInstalled,
  grantReadAccess,
  isPortFree,
  isRunning,
  launchBrowser,
  PortInUseError,
  startPaperclipServer,
  type Company,
  type PaperclipClient,
  type PaperclipInstall,
  type PaperclipServer,
  type TrackedProcess,
} from './index.ts';

const ADAPTER_TYPE = 'ck8s_harness_echo';

/** A throwaway external adapter: two stream-json-like stdout lines, one stderr line, then a result. */
async function writeEchoAdapter(directory: string): Promise<void> {
  await mkdir(join(directory, 'dist'), { recursive: true });
  await writeFile(
    join(directory, 'package.json'),
    JSON.stringify(
      { name: 'ck8s-harness-echo', version: '0.0.1', type: 'module', exports: { '.': './dist/index.js' } },
      null,
      2,
    ),
  );
  await writeFile(
    join(directory, 'dist', 'index.js'),
    `export function createServerAdapter() {
  return {
    type: '${ADAPTER_TYPE}',
    supportsLocalAgentJwt: true,
    models: [{ id: 'echo-1', label: 'Echo 1' }],
    async execute(ctx) {
      await ctx.onLog('stdout', JSON.stringify({ type: 'system', subtype: 'init', session_id: 'echo-session', model: 'echo-1' }) + '\\n');
      await ctx.onLog('stdout', JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: 'hello from ' + ctx.runId }] } }) + '\\n');
      await ctx.onLog('stderr', 'echo: done\\n');
      return { exitCode: 0, signal: null, timedOut: false, summary: 'echo finished', hadToken: typeof ctx.authToken === 'string', resultJson: { echoed: true, hadToken: typeof ctx.authToken === 'string' } };
    },
    async testEnvironment(ctx) {
      return { adapterType: ctx.adapterType, status: 'pass', checks: [{ code: 'echo_ok', level: 'info', message: 'echo adapter ready' }], testedAt: new Date().toISOString() };
    },
  };
}
`,
  );
}

describe('a real Paperclip server', { timeout: 300_000 }, () => {
  let install: PaperclipInstall;
  let server: PaperclipServer;
  let client: PaperclipClient;
  let company: Company;
  let adapterDir: string;
  let processesBeforeStop: TrackedProcess[] = [];

  beforeAll(async () => {
    install = await ensurePaperclipInstalled();
    server = await startPaperclipServer({ install });
    client = createPaperclipClient(server.apiUrl);
  }, 600_000);

  afterAll(async () => {
    await server?.stop();
    if (adapterDir) await rm(adapterDir, { recursive: true, force: true });
  }, 60_000);

  it('installs once and reuses the cache', async () => {
    expect(install.entry).toMatch(/node_modules\/paperclipai\/dist\/index\.js$/);
    expect(install.postgresVersion).toMatch(/postgres \(PostgreSQL\) \d+/);
    const again = await ensurePaperclipInstalled();
    expect(again.cached).toBe(true);
    expect(again.dir).toBe(install.dir);
  });

  it('answers /api/health on its own free ports, as the non-root user', async () => {
    const health = await client.health();
    expect(health).toMatchObject({ status: 'ok', version: install.version, deploymentMode: 'local_trusted' });
    expect(server.port).not.toBe(3100);
    expect(server.databasePort).not.toBe(54329);
    expect(server.user.uid).not.toBe(0);
    expect(server.processes().some((item) => item.command.includes(`-p ${server.databasePort}`))).toBe(true);
  });

  it('refuses a port that is in use with a clear error', async () => {
    const blocker: Server = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    const port = (blocker.address() as { port: number }).port;
    try {
      await expect(startPaperclipServer({ install, port })).rejects.toSatisfy(
        (error: unknown) => error instanceof PortInUseError && error.port === port && /in use/.test(error.message),
      );
    } finally {
      blocker.close();
    }
  });

  it('installs a local-path adapter and runs an agent of it to success', async () => {
    company = await client.createCompany({ name: `ck8s harness ${Date.now()}` });
    expect(company.id).toBeTruthy();

    adapterDir = await mkdtemp(join(tmpdir(), 'ck8s-echo-adapter-'));
    await writeEchoAdapter(adapterDir);
    await grantReadAccess(adapterDir, { user: server.user });
    const installed = await client.installLocalAdapter(adapterDir);
    expect(installed).toMatchObject({ type: ADAPTER_TYPE, requiresRestart: false });
    const adapters = await client.listAdapters();
    expect(adapters.find((adapter) => adapter.type === ADAPTER_TYPE)).toMatchObject({
      source: 'external',
      isLocalPath: true,
    });
    expect(await client.getAdapterUiParser(ADAPTER_TYPE)).toBeUndefined();
    expect(await client.listModels(company.id, ADAPTER_TYPE)).toEqual([{ id: 'echo-1', label: 'Echo 1' }]);
    expect(await client.testEnvironment(company.id, ADAPTER_TYPE, { adapterConfig: {} })).toMatchObject({
      status: 'pass',
    });

    const agent = await client.createAgent(company.id, {
      name: 'echo agent',
      adapterType: ADAPTER_TYPE,
      adapterConfig: { greeting: 'hi' },
    });
    expect(agent.adapterType).toBe(ADAPTER_TYPE);
    const patched = await client.patchAgent(agent.id, { adapterConfig: { extra: 1 } });
    expect(patched.adapterConfig).toMatchObject({ greeting: 'hi', extra: 1 });

    const queued = await client.wakeupAgent(agent.id, { reason: 'harness test' });
    const run = await client.waitForRun(queued.id, { until: ['succeeded'], timeoutMs: 60_000 });
    expect(run).toMatchObject({ status: 'succeeded', exitCode: 0 });
    expect(run.resultJson).toMatchObject({ echoed: true, hadToken: true, summary: 'echo finished' });

    const log = await client.getRunLog(run.id);
    const adapterChunks = log.records.filter((record) => !record.chunk.startsWith('[paperclip]'));
    expect(adapterChunks.map((record) => [record.stream, record.chunk])).toEqual([
      [
        'stdout',
        `${JSON.stringify({ type: 'system', subtype: 'init', session_id: 'echo-session', model: 'echo-1' })}\n`,
      ],
      [
        'stdout',
        `${JSON.stringify({ type: 'assistant', message: { content: [{ type: 'text', text: `hello from ${run.id}` }] } })}\n`,
      ],
      ['stderr', 'echo: done\n'],
    ]);
    const seqs = log.records.map((record) => record.seq);
    expect(seqs).toEqual([...seqs].sort((a, b) => a - b));

    const events = await client.getRunEvents(run.id);
    expect(events.map((event) => event.eventType)).toContain('lifecycle');
    const runs = await client.listCompanyRuns(company.id, { agentId: agent.id, limit: 5 });
    expect(runs.map((item) => item.id)).toContain(run.id);
    // The runtime state is updated just after the run row turns terminal.
    await expect
      .poll(() => client.getRuntimeState(agent.id), { timeout: 10_000 })
      .toMatchObject({ agentId: agent.id, lastRunId: run.id });
    expect(Array.isArray(await client.getTaskSessions(agent.id))).toBe(true);
    expect(await client.getSkills(agent.id)).toMatchObject({ supported: false });
  });

  it('renders the UI in headless Chromium', async () => {
    await using browser = await launchBrowser();
    const page = await browser.newPage();
    const response = await page.goto(server.url, { waitUntil: 'domcontentloaded' });
    expect(response?.status()).toBe(200);
    // The SPA routes to the (only) company's dashboard and sets the title to "Dashboard • <company> • Paperclip".
    await expect.poll(() => page.title(), { timeout: 30_000 }).toBe(`Dashboard • ${company.name} • Paperclip`);
    await page.getByRole('link', { name: 'Agents', exact: true }).first().waitFor({ state: 'visible' });
    await page.getByText(company.name).first().waitFor({ state: 'visible' });
    // The agent created through the API shows on the dashboard.
    await page.getByText('echo agent').first().waitFor({ state: 'visible' });
    expect(new URL(page.url()).pathname).toBe(`/${company.issuePrefix}/dashboard`);
    const screenshot = join(defaultArtifactsDir(), 'paperclip-ui.png');
    await mkdir(defaultArtifactsDir(), { recursive: true });
    await page.screenshot({ path: screenshot, fullPage: true });
  });

  it('stops without leaving a process or a bound port behind', async () => {
    processesBeforeStop = server.processes();
    expect(processesBeforeStop.length).toBeGreaterThan(1);
    const rss = server.readRss();
    expect(rss.server).toBeGreaterThan(50 * 1024 * 1024);
    console.info(
      `paperclip ${server.install.version}: started in ${server.startDurationMs} ms; RSS node ${(rss.server / 2 ** 20).toFixed(0)} MiB, all ${processesBeforeStop.length} processes ${(rss.total / 2 ** 20).toFixed(0)} MiB`,
    );
    const report = await server.stop();
    expect(report.processes.length).toBeGreaterThanOrEqual(processesBeforeStop.length);
    expect(processesBeforeStop.filter(isRunning)).toEqual([]);
    expect(await isPortFree(server.port)).toBe(true);
    expect(await isPortFree(server.databasePort)).toBe(true);
    expect(report.dataDirRemoved).toBe(true);
  });
});

describe('two servers side by side, one SIGKILLed', { timeout: 300_000 }, () => {
  it('run on distinct free ports, and stop stops the orphaned embedded PostgreSQL by its postmaster pid', async () => {
    const install = await ensurePaperclipInstalled();
    const [server, neighbour] = await Promise.all([
      startPaperclipServer({ install }),
      startPaperclipServer({ install }),
    ]);
    await using _neighbour = neighbour;
    expect(new Set([server.port, server.databasePort, neighbour.port, neighbour.databasePort]).size).toBe(4);
    expect((await createPaperclipClient(neighbour.apiUrl).health()).status).toBe('ok');

    const before = server.processes();
    const postmaster = before.find((item) => item.command.includes(`-p ${server.databasePort}`));
    expect(postmaster).toBeDefined();
    process.kill(server.pid, 'SIGKILL');
    await expect
      .poll(() => before.find((item) => item.pid === server.pid && isRunning(item)), { timeout: 10_000 })
      .toBeUndefined();
    // PostgreSQL survives the SIGKILL of its parent (re-parented to init).
    expect(isRunning(postmaster!)).toBe(true);
    const report = await server.stop();
    expect(report.graceful).toBe(false);
    expect(report.forced.map((item) => item.pid)).toContain(postmaster!.pid);
    expect(before.filter(isRunning)).toEqual([]);
    expect(await isPortFree(server.databasePort)).toBe(true);
    // The neighbour is untouched.
    expect((await createPaperclipClient(neighbour.apiUrl).health()).status).toBe('ok');
    expect(neighbour.processes().length).toBeGreaterThan(1);
  });
});
