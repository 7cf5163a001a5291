import { spawn } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { postMessages } from './test/sse-client.ts';

const cliPath = fileURLToPath(new URL('./cli.ts', import.meta.url));

function startCli(args: string[]): {
  ready: Promise<{ url: string; port: number; pid: number }>;
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  stderr: () => string;
  kill: (signal: NodeJS.Signals) => void;
} {
  const child = spawn(process.execPath, [cliPath, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  const ready = new Promise<{ url: string; port: number; pid: number }>((resolve, reject) => {
    child.stdout.setEncoding('utf8').on('data', (chunk: string) => {
      stdout += chunk;
      const newline = stdout.indexOf('\n');
      if (newline !== -1) resolve(JSON.parse(stdout.slice(0, newline)) as { url: string; port: number; pid: number });
    });
    child.on('exit', () => reject(new Error(`fake-model-api CLI exited before listening: ${stderr}`)));
  });
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
    child.on('exit', (code, signal) => resolve({ code, signal }));
  });
  return { ready, exited, stderr: () => stderr, kill: (signal) => child.kill(signal) };
}

describe('cli.ts', () => {
  it.each(['SIGTERM', 'SIGINT'] as const)(
    'prints {url,port,pid}, logs requests to stderr and exits 0 on %s',
    async (signal) => {
      const cli = startCli(['--port', '0']);
      const info = await cli.ready;
      expect(info.url).toBe(`http://127.0.0.1:${info.port}`);
      expect(info.pid).toBeGreaterThan(0);
      const response = await postMessages(info.url, 'Hello [[text:from the cli]]', { stream: false });
      expect(((await response.json()) as { content: { text: string }[] }).content[0]?.text).toBe('from the cli');
      await expect
        .poll(() => cli.stderr())
        .toContain('POST /v1/messages?beta=true -> 200 completed [[text:from the cli]] (marker)');
      cli.kill(signal);
      expect(await cli.exited).toEqual({ code: 0, signal: null });
    },
  );

  it('exits 1 with a message for a bad port', async () => {
    const cli = startCli(['--port', 'abc']);
    await expect(cli.ready).rejects.toThrow('--port abc');
    expect((await cli.exited).code).toBe(1);
  });
});
