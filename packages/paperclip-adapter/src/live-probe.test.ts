/**
 * The live probe's script, run by a real `/bin/sh` with a stand-in `claude` on PATH (printing recorded CLI output)
 * and a real HTTP server as Paperclip; its output is turned into checks as the environment test does.
 */
import { execFile } from 'node:child_process';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTranscript } from '../test/fakes.ts';
import {
  LIVE_PROBE_SCRIPT,
  liveProbeChecks,
  liveProbeClaudeArgs,
  liveProbeSpec,
  parseLiveProbeOutput,
} from './live-probe.ts';
import { parseAdapterConfig } from './config-schema.ts';
import { createStreamJsonAccumulator } from './stream-json-accumulator.ts';

let dir: string;
let server: Server;
let healthStatus = 200;
let paperclipUrl: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), 'ck8s-probe-'));
  server = createServer((request, response) => {
    response.statusCode = request.url === '/api/health' ? healthStatus : 404;
    response.end('{}');
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  paperclipUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/`;
});

afterAll(async () => {
  await new Promise((resolve) => server.close(resolve));
  rmSync(dir, { recursive: true, force: true });
});

/** A `claude` that answers `--version` and replays `transcript` (with its exit code) for the hello request. */
function fakeClaude(transcript: string | null): string {
  const bin = mkdtempSync(join(dir, 'bin-'));
  const recorded = transcript === null ? null : loadTranscript(transcript);
  if (recorded !== null) writeFileSync(join(bin, 'reply.jsonl'), recorded.stdout);
  writeFileSync(
    join(bin, 'claude'),
    [
      '#!/bin/sh',
      'if [ "$1" = "--version" ]; then echo "2.1.331 (Claude Code)"; exit 0; fi',
      // The prompt arrives on stdin, as in the pod.
      `prompt=$(cat); [ "$prompt" = "Respond with hello." ] || { echo "unexpected prompt: $prompt" >&2; exit 9; }`,
      // Few retries, so that a refused key is reported in seconds, not after the CLI's 10 retries.
      '[ "${CLAUDE_CODE_MAX_RETRIES:-}" = 2 ] || { echo "CLAUDE_CODE_MAX_RETRIES is ${CLAUDE_CODE_MAX_RETRIES:-unset}" >&2; exit 8; }',
      `cat "${join(bin, 'reply.jsonl')}"`,
      `exit ${recorded?.exitCode ?? 0}`,
    ].join('\n'),
  );
  chmodSync(join(bin, 'claude'), 0o755);
  return bin;
}

function runScript(bin: string | null, env: Record<string, string | undefined>): Promise<string> {
  const config = parseAdapterConfig({ image: 'img', model: 'claude-sonnet-4-6' });
  if (!config.success) throw new Error('config');
  return new Promise((resolve) => {
    execFile(
      '/bin/sh',
      ['-c', LIVE_PROBE_SCRIPT, 'ck8s-probe', join(dir, 'work'), ...liveProbeClaudeArgs(config.value)],
      {
        env: {
          PATH: bin === null ? (process.env['PATH'] ?? '') : `${bin}:${process.env['PATH'] ?? ''}`,
          ...env,
        },
      },
      (_error, stdout) => resolve(stdout),
    );
  });
}

const checksOf = (output: string) =>
  liveProbeChecks(
    { output, code: 'succeeded', message: null, jobName: 'job-1' },
    createStreamJsonAccumulator,
    paperclipUrl,
  );

describe('the live probe script in a real shell', () => {
  it('all three steps pass: CLI version, Paperclip health, hello answered', async () => {
    const output = await runScript(fakeClaude('a_plain_text'), { PAPERCLIP_API_URL: paperclipUrl });
    const checks = checksOf(output);
    expect(checks.map((check) => [check.code, check.level])).toEqual([
      ['claude_k8s_probe_cli_ok', 'info'],
      ['claude_k8s_probe_paperclip_ok', 'info'],
      ['claude_k8s_probe_model_ok', 'info'],
    ]);
    expect(checks[0]!.message).toContain('2.1.331 (Claude Code)');
    expect(checks[1]!.message).toContain('HTTP 200');
  });

  it('credentials refused (401): its own check, with the CLI message', async () => {
    healthStatus = 200;
    const output = await runScript(fakeClaude('e_api_error_401'), { PAPERCLIP_API_URL: paperclipUrl });
    const checks = checksOf(output);
    expect(checks.map((check) => check.code)).toEqual([
      'claude_k8s_probe_cli_ok',
      'claude_k8s_probe_paperclip_ok',
      'claude_k8s_probe_model_auth_failed',
    ]);
    expect(checks[2]!.level).toBe('error');
  });

  it('Paperclip answers 503, or the URL is unset: unreachable, and the other steps still run', async () => {
    healthStatus = 503;
    try {
      const failing = checksOf(await runScript(fakeClaude('a_plain_text'), { PAPERCLIP_API_URL: paperclipUrl }));
      expect(failing.map((check) => check.code)).toEqual([
        'claude_k8s_probe_cli_ok',
        'claude_k8s_probe_paperclip_unreachable',
        'claude_k8s_probe_model_ok',
      ]);
      expect(failing[1]!.message).toContain('HTTP 503');
    } finally {
      healthStatus = 200;
    }
    const unset = checksOf(await runScript(fakeClaude('a_plain_text'), {}));
    expect(unset[1]).toMatchObject({ code: 'claude_k8s_probe_paperclip_unreachable', level: 'error' });
    expect(unset[1]!.message).toContain('PAPERCLIP_API_URL is not set in the pod');
    // A closed port: the request's own error is named.
    const probe = createServer();
    await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', resolve));
    const closedPort = (probe.address() as AddressInfo).port;
    await new Promise((resolve) => probe.close(resolve));
    const closed = checksOf(
      await runScript(fakeClaude('a_plain_text'), { PAPERCLIP_API_URL: `http://127.0.0.1:${closedPort}/` }),
    );
    expect(closed[1]).toMatchObject({ code: 'claude_k8s_probe_paperclip_unreachable' });
    expect(closed[1]!.message).toMatch(/ECONNREFUSED|refused/i);
  });

  it('no claude in the image: the CLI and model checks fail, Paperclip is still checked', async () => {
    const output = await runScript(null, { PAPERCLIP_API_URL: paperclipUrl });
    const checks = checksOf(output);
    expect(checks.map((check) => [check.code, check.level])).toEqual([
      ['claude_k8s_probe_cli_failed', 'error'],
      ['claude_k8s_probe_paperclip_ok', 'info'],
      ['claude_k8s_probe_model_failed', 'error'],
    ]);
    expect(checks[0]!.message).toContain('exit 127');
  });
});

describe('liveProbeChecks', () => {
  it('a Job that never ran the script (image pull, deadline) is one error naming the outcome', () => {
    const checks = liveProbeChecks(
      { output: '', code: 'image-pull', message: 'ErrImagePull: not found', jobName: 'job-1' },
      createStreamJsonAccumulator,
      paperclipUrl,
    );
    expect(checks).toHaveLength(1);
    expect(checks[0]).toMatchObject({ code: 'claude_k8s_probe_not_run', level: 'error' });
    expect(checks[0]!.message).toContain('job-1 ended (image-pull) before its script ran: ErrImagePull: not found');
  });

  it('a Job stopped inside a step names that step', () => {
    const output = 'ck8s-probe:cli:begin\n2.1.331\nck8s-probe:cli:end 0\nck8s-probe:paperclip:begin\nGET x\n';
    const checks = liveProbeChecks(
      { output, code: 'deadline-exceeded', message: 'DeadlineExceeded', jobName: 'job-1' },
      createStreamJsonAccumulator,
      paperclipUrl,
    );
    expect(checks.map((check) => check.code)).toEqual([
      'claude_k8s_probe_cli_ok',
      'claude_k8s_probe_paperclip_unreachable',
      'claude_k8s_probe_model_failed',
    ]);
    expect(checks[1]!.message).toContain('ended (deadline-exceeded) inside the Paperclip step');
  });

  it('parses sections; lines outside them are ignored', () => {
    const sections = parseLiveProbeOutput('noise\nck8s-probe:cli:begin\na\nb\nck8s-probe:cli:end 3\nmore noise\n');
    expect([...sections]).toEqual([['cli', { output: 'a\nb', exitCode: 3 }]]);
  });

  it("the probe Job is the sample run's manifest with the script, the deadline, no lock, deleted either way", () => {
    const config = parseAdapterConfig({ image: 'img', liveProbeTimeoutSec: 60 });
    if (!config.success) throw new Error('config');
    const spec = liveProbeSpec(
      {
        runId: 'sample',
        agentId: 'a',
        command: ['claude'],
        env: [{ name: 'X', value: '1' }],
        lockPolicy: 'wait',
        timeoutSeconds: 14_400,
      },
      config.value,
      '/home/agent/work',
      'probe-1',
    );
    expect(spec).toMatchObject({
      runId: 'probe-1',
      agentId: 'a',
      env: [{ name: 'X', value: '1' }],
      timeoutSeconds: 60,
      lockPolicy: 'none',
      retention: { onSuccess: 'delete', onFailure: 'delete' },
    });
    expect(spec.command.slice(0, 5)).toEqual(['/bin/sh', '-c', LIVE_PROBE_SCRIPT, 'ck8s-probe', '/home/agent/work']);
    expect(spec.command.slice(5)).toEqual([
      'claude',
      '--print',
      '-',
      '--output-format',
      'stream-json',
      '--verbose',
      '--max-turns',
      '1',
    ]);
  });
});
