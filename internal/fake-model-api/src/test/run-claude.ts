import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** A finished `claude` run. */
export interface ClaudeRun {
  code: number | null;
  signal: NodeJS.Signals | null;
  stdout: string;
  stderr: string;
  /** Every stdout line parsed as JSON (a line that is not JSON makes `runClaude` throw). */
  lines: Record<string, unknown>[];
  /** The last `result` line, if any. */
  result: Record<string, unknown> | undefined;
}

export interface RunClaudeOptions {
  claudePath: string;
  /** Fake API base URL, also used as HTTPS_PROXY/HTTP_PROXY so every other host is a refused CONNECT. */
  baseUrl: string;
  prompt: string;
  args?: string[];
  env?: Record<string, string>;
  /** Called once the process is running; use it to send a signal. */
  onSpawn?: (signal: (name: NodeJS.Signals) => void) => void;
  timeoutMs?: number;
}

/**
 * Run the real CLI as `claude -p --output-format stream-json --verbose [args] PROMPT` in a fresh HOME and cwd with a
 * clean environment (the transcripts' command line), and collect its output.
 */
export async function runClaude(options: RunClaudeOptions): Promise<ClaudeRun> {
  const home = await mkdtemp(join(tmpdir(), 'fake-model-api-home-'));
  const cwd = await mkdtemp(join(tmpdir(), 'fake-model-api-cwd-'));
  try {
    const env: Record<string, string> = {
      PATH: '/usr/local/bin:/usr/bin:/bin',
      HOME: home,
      TERM: 'dumb',
      LANG: 'C.UTF-8',
      ANTHROPIC_BASE_URL: options.baseUrl,
      ANTHROPIC_API_KEY: 'test',
      CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC: '1',
      DISABLE_TELEMETRY: '1',
      DISABLE_AUTOUPDATER: '1',
      DISABLE_ERROR_REPORTING: '1',
      HTTPS_PROXY: options.baseUrl,
      HTTP_PROXY: options.baseUrl,
      NO_PROXY: '127.0.0.1,localhost',
      ...options.env,
    };
    const args = ['-p', '--output-format', 'stream-json', '--verbose', ...(options.args ?? []), options.prompt];
    const child = spawn(options.claudePath, args, { cwd, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
    child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
    const timer = setTimeout(() => child.kill('SIGKILL'), options.timeoutMs ?? 60_000);
    options.onSpawn?.((name) => child.kill(name));
    const [code, signal] = await new Promise<[number | null, NodeJS.Signals | null]>((resolve, reject) => {
      child.on('error', reject);
      child.on('close', (exitCode, exitSignal) => resolve([exitCode, exitSignal]));
    });
    clearTimeout(timer);
    const lines = stdout
      .split('\n')
      .filter((line) => line !== '')
      .map((line, index) => {
        try {
          return JSON.parse(line) as Record<string, unknown>;
        } catch (error) {
          throw new Error(`claude stdout line ${index + 1} is not JSON: ${line.slice(0, 200)}`, { cause: error });
        }
      });
    const result = lines.filter((line) => line['type'] === 'result').at(-1);
    return { code, signal, stdout, stderr, lines, result };
  } finally {
    await rm(home, { recursive: true, force: true });
    await rm(cwd, { recursive: true, force: true });
  }
}
