import { existsSync, mkdtempSync, readFileSync, realpathSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { LockHeldError } from '@claude-k8s/kube-runtime';
import { describe, expect, it, onTestFinished, vi } from 'vitest';
import {
  createFakeContext,
  createFakeRuntime,
  createMemoryHostFiles,
  loadTranscript,
  admittingPolicy,
  createScriptedAdapter,
  fakeContextSessionTarget,
} from '../test/fakes.ts';
import { createServerAdapter } from './create-server-adapter.ts';
import { deriveBilling } from './execute.ts';
import { encodeSessionParams } from './session-codec.ts';
import { createManualClock } from '@claude-k8s/test-utils';

const FIRST_SESSION = 'ef4396a5-b2f7-468b-9c86-9d272562d804';
const UNKNOWN_SESSION = '00000000-0000-4000-8000-000000000000';

function stdoutOf(records: ReturnType<typeof createFakeContext>['records']): string {
  return records
    .flatMap((record) => (record.kind === 'log' && record.stream === 'stdout' ? [record.chunk] : []))
    .join('');
}

describe('execute', () => {
  it('calls back in order, streams stdout unchanged, and maps a successful run', async () => {
    const { adapter, launcher } = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const context = createFakeContext();
    const result = await adapter.execute(context);

    const kinds = context.records.map((record) => record.kind).filter((kind, index, all) => kind !== all[index - 1]);
    expect(kinds).toEqual(['cancellation-ready', 'dispatch', 'meta', 'log']);
    expect(stdoutOf(context.records)).toBe(loadTranscript('a_plain_text').stdout);
    expect(context.records.filter((record) => record.kind === 'log').length).toBeGreaterThan(10);

    expect(launcher.requests).toHaveLength(1);
    // Attempt 1 runs under the Paperclip run id itself (the retry's Job gets `-attempt-2`).
    expect(launcher.requests[0]).toMatchObject({ runId: context.runId, agentId: 'agent-1' });
    expect(launcher.targets[0]).toMatchObject({ namespace: 'agents' });
    // The run's signal reaches kube-runtime (filtered of Paperclip's controller-lease aborts): an operator's cancel
    // aborts it.
    const passed = launcher.requests[0]?.signal;
    expect(passed?.aborted).toBe(false);
    context.controller.abort(new Error('cancelled by the operator'));
    expect(passed?.aborted).toBe(true);
    expect(result).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      sessionId: '0b84e97d-3abb-4507-9c93-d061ff77aec6',
      usageBasis: 'per_run',
      provider: 'anthropic',
      billingType: 'metered_api',
    });
    expect(result.errorCode).toBeUndefined();
    expect(result.sessionParams).toMatchObject({
      v: 1,
      cwd: '/home/agent/workspaces/agent-1/issue-1',
      sessionVolume: fakeContextSessionTarget.sessionVolume,
      image: 'registry.example/claude:2.1.331',
    });
    // No workspace volume: the agent worked in the pod's own directory, and the result says so.
    expect(result.resultJson?.['workspace']).toEqual({ mode: 'none', cwd: '/home/agent/workspaces/agent-1/issue-1' });

    const meta = context.records.find((record) => record.kind === 'meta');
    expect(meta?.kind === 'meta' && meta.meta.context).toMatchObject({
      jobName: 'run-5d0c5a8e-1',
      namespace: 'agents',
      attempt: 1,
    });
    expect(JSON.stringify(meta)).not.toContain(context.authToken);
  });

  it('keeps multi-byte text intact through arbitrary chunking', async () => {
    const { adapter } = createScriptedAdapter([{ transcript: 'k_unicode' }]);
    const context = createFakeContext();
    await adapter.execute(context);
    expect(stdoutOf(context.records)).toBe(loadTranscript('k_unicode').stdout);
  });

  it('returns every config issue before touching the cluster', async () => {
    const { adapter, launcher } = createScriptedAdapter([]);
    const context = createFakeContext({ configOverrides: { image: '', 'resources.limits.memory': 'lots' } });
    const result = await adapter.execute(context);
    expect(result).toMatchObject({
      errorCode: 'adapter_config_invalid',
      errorMessage:
        'invalid claude_k8s configuration: image: required; resources.limits.memory: expected a Kubernetes quantity such as 512Mi, got "lots"',
    });
    expect(launcher.requests).toHaveLength(0);
    expect(context.records).toEqual([]);
  });

  it('reports config warnings as run events', async () => {
    const { adapter } = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const context = createFakeContext({ configOverrides: { retainJobs: true } });
    await adapter.execute(context);
    expect(
      context.records
        .filter((record) => record.kind === 'event')
        .map((record) => record.kind === 'event' && record.message),
    ).toContain('config: retainJobs: deprecated predecessor setting, mapped to retention.onSuccess');
  });

  it('retries once without --resume when the session is unknown, and stores the new session', async () => {
    const { adapter, launcher } = createScriptedAdapter([
      { transcript: 'f_resume_3_unknown_id' },
      { transcript: 'f_resume_1_first' },
    ]);
    const context = createFakeContext();
    context.runtime = {
      sessionId: UNKNOWN_SESSION,
      sessionDisplayId: UNKNOWN_SESSION,
      taskKey: 'issue-1',
      sessionParams: encodeSessionParams({ sessionId: UNKNOWN_SESSION, ...fakeContextSessionTarget }),
    };
    const result = await adapter.execute(context);

    expect(launcher.requests.map((request) => request.runId)).toEqual([
      launcher.requests[0]?.runId,
      `${launcher.requests[0]?.runId}-attempt-2`,
    ]);
    expect(launcher.requests[0]?.command).toContain('--resume');
    expect(launcher.requests[1]?.command).not.toContain('--resume');
    expect(context.records.filter((record) => record.kind === 'dispatch')).toHaveLength(1);
    expect(context.records.filter((record) => record.kind === 'meta')).toHaveLength(2);
    expect(context.records).toContainEqual({
      kind: 'log',
      stream: 'stderr',
      chunk: `[claude-k8s] session ${UNKNOWN_SESSION} was not found on the session volume; retrying with a fresh session\n`,
    });
    expect(result.errorCode).toBeUndefined();
    expect(result.sessionId).toBe(FIRST_SESSION);
    expect(result.clearSession).toBeUndefined();
    expect(result.resultJson?.['freshSessionRetry']).toBe(true);
  });

  it('does not rerun an attempt that made turns, even when its words match an unknown session', async () => {
    // A real run (assistant text, a Bash tool call, tokens and cost) whose failed result mentions a missing session.
    const lines = readFileSync(new URL('./__fixtures__/b_tool_bash.jsonl', import.meta.url), 'utf8')
      .trimEnd()
      .split('\n');
    const result = JSON.parse(lines.at(-1) ?? '{}') as Record<string, unknown>;
    lines[lines.length - 1] = JSON.stringify({
      ...result,
      subtype: 'error_during_execution',
      is_error: true,
      result: null,
      errors: ['the deploy script failed: session 42 not found in the cache'],
    });
    const { adapter, launcher } = createScriptedAdapter([
      { stdout: `${lines.join('\n')}\n`, outcome: { code: 'exit-code', exitCode: 1 } },
      { transcript: 'f_resume_1_first' },
    ]);
    const context = createFakeContext();
    context.runtime = {
      sessionId: FIRST_SESSION,
      sessionDisplayId: FIRST_SESSION,
      taskKey: 'issue-1',
      sessionParams: encodeSessionParams({ sessionId: FIRST_SESSION, ...fakeContextSessionTarget }),
    };
    const start = performance.now();
    const outcome = await adapter.execute(context);
    console.log(
      `fault: unknown-session text after real work -> ${outcome.errorCode ?? 'ok'} without a rerun in ${Math.round(performance.now() - start)} ms`,
    );
    expect((outcome.resultJson?.['claude'] as { failure: { code: string } }).failure.code).toBe('unknown-session');
    expect(launcher.requests).toHaveLength(1);
    expect(outcome.resultJson?.['freshSessionRetry']).toBeUndefined();
  });

  it('clears the session when the fresh retry produced none', async () => {
    const { adapter } = createScriptedAdapter([
      { transcript: 'f_resume_3_unknown_id' },
      { stdout: '', outcome: { code: 'exit-code', exitCode: 1 } },
    ]);
    const context = createFakeContext();
    context.runtime = {
      sessionId: null,
      sessionDisplayId: null,
      taskKey: 'issue-1',
      sessionParams: encodeSessionParams({ sessionId: UNKNOWN_SESSION, ...fakeContextSessionTarget }),
    };
    const result = await adapter.execute(context);
    expect(result.clearSession).toBe(true);
    expect(result.errorCode).toBe('k8s_exit_code');
  });

  it.each([
    ['d_max_turns', 'max_turns_exhausted', 'claude_max_turns', true],
    ['e_api_error_529', 'claude_overloaded', 'claude_overloaded', false],
    ['e_api_error_401', 'claude_auth_required', 'claude_auth_required', false],
  ])('maps the recorded %s run to %s (ours: %s)', async (transcript, errorCode, failureClass, clear) => {
    const { adapter } = createScriptedAdapter([{ transcript }]);
    const result = await adapter.execute(createFakeContext());
    expect(result.errorCode).toBe(errorCode);
    expect(result.resultJson?.['claudeK8s']).toEqual({ failureClass });
    expect(result.exitCode).toBe(1);
    expect(result.clearSession === true).toBe(clear);
  });

  it('cancels: the abort reaches the launcher and the result acknowledges the cancellation', async () => {
    const { adapter, launcher } = createScriptedAdapter([{ transcript: 'a_plain_text', waitForAbort: true }]);
    const context = createFakeContext();
    const pending = adapter.execute(context);
    await vi.waitFor(() => expect(context.records.some((record) => record.kind === 'meta')).toBe(true));
    context.controller.abort(new Error('Cancelled by a board operator'));
    const result = await pending;
    expect(launcher.requests[0]?.signal?.aborted).toBe(true);
    expect(result).toMatchObject({ errorCode: 'cancelled', signal: 'SIGTERM', exitCode: null, timedOut: false });
    expect(result.resultJson?.['executionCancellation']).toMatchObject({
      state: 'acknowledged',
      acknowledgedAt: '2026-11-24T15:00:00.000Z',
    });
  });

  it('a stdout line over the parser limit (17 MiB, no newline for long) is reported and dropped; the run goes on', async () => {
    const [init, ...rest] = loadTranscript('a_plain_text').stdout.split('\n');
    const huge = 'x'.repeat(17 * 1024 * 1024);
    const stdout = `${init}\n${huge}\n${rest.join('\n')}`;
    const { adapter } = createScriptedAdapter([
      { stdout, outcome: { code: 'succeeded', exitCode: 0 }, chunkSize: 1024 * 1024 },
    ]);
    const context = createFakeContext();
    const start = performance.now();
    const result = await adapter.execute(context);
    const ms = Math.round(performance.now() - start);
    console.log(
      `fault: 17 MiB stdout line -> reported and dropped, run ${result.errorCode ?? 'succeeded'} in ${ms} ms`,
    );
    expect(result.errorCode).toBeUndefined();
    expect(result.summary).toBeTruthy();
    expect((result.resultJson?.['claude'] as { droppedLines: unknown }).droppedLines).toEqual([
      { lineNumber: 2, length: huge.length },
    ]);
    const notices = context.records.flatMap((r) => (r.kind === 'log' && r.stream === 'stderr' ? [r.chunk] : []));
    expect(notices).toContain(
      `[claude-k8s] line too long: stdout line 2 (${huge.length} characters) is over the stream parser's limit and was not parsed (it stays in the raw log); the lines after it were parsed\n`,
    );
  });

  it('cancelled before dispatch: no Job, acknowledged at once', async () => {
    const { adapter, launcher } = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const context = createFakeContext();
    context.onCancellationReady = () => {
      context.controller.abort();
      return Promise.resolve();
    };
    const result = await adapter.execute(context);
    expect(launcher.requests).toHaveLength(0);
    expect(result.errorCode).toBe('cancelled');
    expect(result.resultJson?.['executionCancellation']).toMatchObject({
      state: 'acknowledged',
      proof: 'cancelled before any Job was created',
    });
    expect(context.records.some((record) => record.kind === 'dispatch')).toBe(false);
  });

  it('a Job that outlives timeoutSec + graceSec is cancelled and reported as timed out', async () => {
    const { adapter, launcher, clock } = createScriptedAdapter([
      // The recorded CLI's first line (its init message), then nothing: the CLI hangs.
      { stdout: `${loadTranscript('a_plain_text').stdout.split('\n')[0]}\n`, hang: true },
    ]);
    const context = createFakeContext({ configOverrides: { timeoutSec: 10, graceSec: 5 } });
    const pending = adapter.execute(context);
    await vi.waitFor(() => expect(context.records.some((record) => record.kind === 'meta')).toBe(true));
    clock.advance(44_999);
    expect(launcher.cancelled).toEqual([]);
    clock.advance(1);
    const result = await pending;
    expect(launcher.cancelled).toEqual(['deadline exceeded']);
    expect(result).toMatchObject({ timedOut: true, errorCode: 'timeout' });
  });

  it('a CLI still running resultGraceSec after its result is stopped, and the run ends with that result', async () => {
    // The whole recorded run (its result line included), then the process lingers.
    const { adapter, launcher, clock } = createScriptedAdapter([{ transcript: 'a_plain_text', hang: true }]);
    const context = createFakeContext({ configOverrides: { resultGraceSec: 7 } });
    const pending = adapter.execute(context);
    await vi.waitFor(() => expect(stdoutOf(context.records)).toBe(loadTranscript('a_plain_text').stdout));
    clock.advance(6_999);
    expect(launcher.cancelled).toEqual([]);
    clock.advance(1);
    const result = await pending;
    expect(launcher.cancelled).toEqual(['claude did not exit within resultGraceSec (7s) after its result']);
    expect(result).toMatchObject({
      exitCode: 0,
      signal: null,
      timedOut: false,
      sessionId: '0b84e97d-3abb-4507-9c93-d061ff77aec6',
    });
    expect(result.errorCode).toBeUndefined();
    expect(result.resultJson).toMatchObject({
      stopReason: 'completed',
      kubernetes: { outcome: 'cancelled' },
      unmanagedBackgroundTask: {
        kind: 'terminal_result_cleanup',
        stopped: true,
        stopReason: 'unmanaged_background_task_stopped',
        terminalResultSeen: true,
        graceMs: 7_000,
      },
    });
  });

  it('a CLI that exits after its result is not stopped', async () => {
    const { adapter, launcher, clock } = createScriptedAdapter([{ transcript: 'a_plain_text' }]);
    const result = await adapter.execute(createFakeContext({ configOverrides: { resultGraceSec: 1 } }));
    clock.advance(60_000);
    expect(launcher.cancelled).toEqual([]);
    expect(result.resultJson?.['unmanagedBackgroundTask']).toBeUndefined();
  });

  it('a Job that could not be created is safe to retry', async () => {
    const { adapter } = createScriptedAdapter([{ startError: new Error('create job agents/run-1: 403 Forbidden') }]);
    const result = await adapter.execute(createFakeContext());
    expect(result).toMatchObject({
      errorCode: 'k8s_api_error',
      executionRecovery: { kind: 'bootstrap', providerWorkStarted: false },
    });
    expect(result.errorMessage).toMatch(/403 Forbidden/);
  });

  it('a run that cannot be followed after its Job exists is an API error, never "provider work not started"', async () => {
    const { adapter } = createScriptedAdapter([
      {
        stdout: `${loadTranscript('a_plain_text').stdout.split('\n')[0]}\n`,
        outcomeError: new Error('watch run agents/run-1 failed: list job agents: 403 Forbidden'),
      },
    ]);
    const result = await adapter.execute(createFakeContext());
    expect(result.errorCode).toBe('k8s_api_error');
    expect(result.errorMessage).toMatch(/^follow the Job agents\/run-\S+: .*403 Forbidden/);
    expect(result.executionRecovery).toBeUndefined();
    expect(result.resultJson?.['executionRecovery']).toBeUndefined();
  });

  it('a pod that never started is safe to retry', async () => {
    const { adapter } = createScriptedAdapter([
      { stdout: '', outcome: { code: 'image-pull', exitCode: null, reason: 'ImagePullBackOff' } },
    ]);
    const result = await adapter.execute(createFakeContext());
    expect(result).toMatchObject({
      errorCode: 'k8s_image_pull',
      executionRecovery: { kind: 'bootstrap', providerWorkStarted: false },
    });
  });

  it.each([
    ['lock-conflict', 'k8s_lock_conflict'],
    ['lock-timeout', 'k8s_lock_timeout'],
  ] as const)(
    "kube-runtime's LockHeldError %s (recognised by its class marker) → %s, safe to retry",
    async (code, errorCode) => {
      const { adapter } = createScriptedAdapter([{ startError: new LockHeldError('agent-1', 'run-0', code, 30) }]);
      const result = await adapter.execute(createFakeContext());
      expect(result).toMatchObject({
        errorCode,
        exitCode: null,
        executionRecovery: { kind: 'bootstrap', providerWorkStarted: false },
      });
      expect(result.errorMessage).toContain('run-0');
      expect(result.usage).toBeUndefined();
    },
  );

  it('an error that merely looks like a lock refusal (no marker) is an API error, not a lock code', async () => {
    const lookalike = Object.assign(new Error('held'), { holderRunId: 'run-0', code: 'lock-conflict' });
    const { adapter } = createScriptedAdapter([{ startError: lookalike }]);
    expect((await adapter.execute(createFakeContext())).errorCode).toBe('k8s_api_error');
  });

  it('fails clearly, before any Job, when the configured kubeconfig does not exist (the default Kubernetes launcher)', async () => {
    const adapter = createServerAdapter({
      ...admittingPolicy,
      hostFiles: createMemoryHostFiles({}),
      serverEnv: {},
    });
    const context = createFakeContext();
    const result = await adapter.execute({
      ...context,
      config: { ...context.config, kubeconfig: '/nonexistent/claude-k8s/kubeconfig' },
    });
    expect(result.exitCode).toBeNull();
    expect(result.errorMessage).toContain('/nonexistent/claude-k8s/kubeconfig');
    expect(result.errorCode).toMatch(/^(k8s|adapter)_/);
  });

  it('never runs a kubeconfig exec plugin on the Paperclip host unless the operator enables it (issue 15)', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'exec-kubeconfig-')));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    const marker = join(dir, 'ran-on-host');
    const plugin = join(dir, 'plugin.sh');
    writeFileSync(plugin, `#!/bin/sh\ntouch ${marker}\nexit 1\n`, { mode: 0o755 });
    const kubeconfig = join(dir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
        'contexts: [{ name: x, context: { cluster: c, user: u } }]',
        'current-context: x',
        `users: [{ name: u, user: { exec: { apiVersion: client.authentication.k8s.io/v1, command: ${plugin}, interactiveMode: Never } } }]`,
        '',
      ].join('\n'),
    );
    // The directory is allow-listed, so only the exec rule stands between the agent's config and the host.
    const adapter = createServerAdapter({
      ...admittingPolicy,
      hostFiles: createMemoryHostFiles({}),
      serverEnv: { CLAUDE_K8S_KUBECONFIG_DIR: dir },
    });
    const context = createFakeContext();
    const result = await adapter.execute({ ...context, config: { ...context.config, kubeconfig } });
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(existsSync(marker)).toBe(false);
    expect(result.exitCode).toBeNull();
    expect(result.errorMessage).toContain("uses an exec credential plugin, refused by the server's kubeconfig policy");
  });

  it('refuses a kubeconfig outside the allow-listed directories without reading it', async () => {
    const dir = realpathSync(mkdtempSync(join(tmpdir(), 'env-kubeconfig-')));
    onTestFinished(() => rmSync(dir, { recursive: true, force: true }));
    writeFileSync(join(dir, '.env'), 'DB_PASSWORD=hunter2\n');
    const adapter = createServerAdapter({
      ...admittingPolicy,
      hostFiles: createMemoryHostFiles({}),
      serverEnv: {},
    });
    const context = createFakeContext();
    const result = await adapter.execute({ ...context, config: { ...context.config, kubeconfig: join(dir, '.env') } });
    expect(result.errorMessage).toContain('no kubeconfig directory is allow-listed');
    expect(JSON.stringify(result)).not.toContain('hunter2');
  });
});

describe('execute under the operator policy (issue 15)', () => {
  it('refuses a configuration outside the policy before any Job, naming every setting that refused it', async () => {
    const launcher = createFakeRuntime([{ transcript: 'a_plain_text' }]);
    const adapter = createServerAdapter({
      runtimeFactory: (target) => launcher.at(target),
      hostFiles: createMemoryHostFiles({}),
      clock: createManualClock(),
      serverEnv: { PAPERCLIP_API_URL: 'http://paperclip.paperclip.svc:3100', CLAUDE_K8S_ALLOWED_NAMESPACES: 'agents' },
      namespaceReader: admittingPolicy.namespaceReader,
    });
    const context = createFakeContext({
      configOverrides: {
        envRefs: { TOKEN: { secretKeyRef: { name: 'ck8s-agent-2-run-1-0a1b2c3d', key: 'PAPERCLIP_API_KEY' } } },
      },
    });
    const result = await adapter.execute(context);
    expect(launcher.requests).toHaveLength(0);
    expect(context.records.map((record) => record.kind)).not.toContain('dispatch');
    expect(result.errorCode).toBe('adapter_config_invalid');
    expect(result.errorMessage).toBe(
      "claude_k8s configuration refused by the operator policy: envRefs.TOKEN.secretKeyRef.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret ck8s-agent-2-run-1-0a1b2c3d is a per-run Secret (another run's token and files); it can never be referenced; anthropicApiKeySecret.name: refused by the operator policy (CLAUDE_K8S_ALLOWED_SECRETS): Secret anthropic-api-key is not in the allowed Secrets (none)",
    );
  });

  it("an empty namespace does not fall back to Paperclip's own namespace when that one is not restricted", async () => {
    const launcher = createFakeRuntime([{ transcript: 'a_plain_text' }]);
    const read: string[] = [];
    const adapter = createServerAdapter({
      ...admittingPolicy,
      policy: { ...admittingPolicy.policy, allowedNamespaces: undefined },
      runtimeFactory: (target) => launcher.at(target),
      hostFiles: createMemoryHostFiles({}),
      clock: createManualClock(),
      serverEnv: { POD_NAMESPACE: 'paperclip' },
      namespaceReader: (target) => {
        read.push(target.namespace);
        return Promise.resolve({ state: 'found', labels: { 'kubernetes.io/metadata.name': target.namespace } });
      },
    });
    const context = createFakeContext({ configOverrides: { namespace: undefined } });
    const result = await adapter.execute(context);
    expect(read).toEqual(['paperclip']);
    expect(launcher.requests).toHaveLength(0);
    expect(result.errorCode).toBe('adapter_config_invalid');
    expect(result.errorMessage).toContain(
      'namespace: refused by the operator policy (CLAUDE_K8S_REQUIRE_RESTRICTED_NAMESPACE): namespace paperclip does not enforce Pod Security restricted',
    );
  });

  it('gives the pod the default requests and limits and a bounded /tmp unless configured', async () => {
    const { adapter, launcher } = createScriptedAdapter([
      { transcript: 'a_plain_text' },
      { transcript: 'a_plain_text' },
    ]);
    await adapter.execute(createFakeContext());
    expect(launcher.requests[0]).toMatchObject({
      resources: { requests: { cpu: '250m', memory: '512Mi' }, limits: { memory: '4Gi' } },
      writableSizeLimit: '1Gi',
    });
    await adapter.execute(createFakeContext({ configOverrides: { resources: { limits: { memory: '8Gi' } } } }));
    expect(launcher.requests[1]?.resources).toEqual({
      requests: { cpu: '250m', memory: '512Mi' },
      limits: { memory: '8Gi' },
    });
  });

  it("runs in the operator's default namespace when the configuration names none", async () => {
    const launcher = createFakeRuntime([{ transcript: 'a_plain_text' }]);
    const adapter = createServerAdapter({
      ...admittingPolicy,
      policy: { ...admittingPolicy.policy, allowedNamespaces: undefined },
      runtimeFactory: (target) => launcher.at(target),
      hostFiles: createMemoryHostFiles({}),
      clock: createManualClock(),
      serverEnv: { POD_NAMESPACE: 'paperclip', CLAUDE_K8S_DEFAULT_NAMESPACE: 'agents' },
    });
    const result = await adapter.execute(createFakeContext({ configOverrides: { namespace: undefined } }));
    expect(result.errorMessage ?? null).toBeNull();
    expect(launcher.targets[0]).toMatchObject({ namespace: 'agents' });
  });
});

describe('deriveBilling', () => {
  const none = { env: {}, anthropicApiKeySecret: { key: 'ANTHROPIC_API_KEY' } };
  it.each([
    [
      'an API key Secret',
      { ...none, anthropicApiKeySecret: { name: 'k', key: 'ANTHROPIC_API_KEY' } },
      { biller: 'anthropic', billingType: 'metered_api' },
    ],
    [
      'an API key env reference',
      { ...none, env: { ANTHROPIC_API_KEY: { secretKeyRef: { name: 'k', key: 'v' } } } },
      { biller: 'anthropic', billingType: 'metered_api' },
    ],
    [
      'only an OAuth token',
      { ...none, env: { CLAUDE_CODE_OAUTH_TOKEN: { value: 't' } } },
      { biller: 'anthropic', billingType: 'subscription_included' },
    ],
    [
      'Bedrock',
      { ...none, env: { CLAUDE_CODE_USE_BEDROCK: { value: '1' } } },
      { biller: 'aws_bedrock', billingType: 'metered_api' },
    ],
    ['nothing', none, { biller: 'anthropic', billingType: 'unknown' }],
  ])('%s', (_name, config, expected) => {
    expect(deriveBilling(config)).toEqual(expected);
  });
});
