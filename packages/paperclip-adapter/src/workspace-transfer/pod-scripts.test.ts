// The container's entry of the transfer mode, run by the real /bin/sh with a stand-in for claude.
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildClaudeCommand } from '../invocation/claude-args.ts';
import { CONTROL_FILE, TRANSFER_CONTROL_DIR, TRANSFER_LAUNCH_SCRIPT } from './pod-scripts.ts';

let root: string;
let control: string;
let work: string;
let prompt: string;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'entry-test-'));
  control = join(root, 'control');
  work = join(root, 'work');
  mkdirSync(control);
  prompt = join(root, 'prompt.md');
  writeFileSync(prompt, 'the prompt\n');
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

/** Starts the entry with `claude` = `sh -c <script>`; resolves its exit code and stdout. */
function startEntry(claudeScript: string, collectSec = 30) {
  const child = spawn(
    '/bin/sh',
    [
      '-c',
      TRANSFER_LAUNCH_SCRIPT,
      'ck8s-launch',
      control,
      '20',
      String(collectSec),
      prompt,
      work,
      'sh',
      '-c',
      claudeScript,
    ],
    { env: { ...process.env, PAPERCLIP_RUN_SCRATCH_DIR: join(root, 'scratch') }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const ended = new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) =>
    child.on('close', (code) => resolve({ code, stdout, stderr })),
  );
  return { child, ended };
}

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));
async function until(check: () => boolean, what: string): Promise<void> {
  for (let i = 0; i < 100 && !check(); i += 1) await sleep(100);
  if (!check()) throw new Error(`timed out waiting for ${what}`);
}

describe('the transfer entry', () => {
  it('starts claude only after ready, in the working directory with the prompt on stdin, then waits for the collection', async () => {
    const entry = startEntry('pwd; cat; exit 3');
    await sleep(1500);
    expect(existsSync(join(control, CONTROL_FILE.exited))).toBe(false);
    expect(existsSync(work)).toBe(false);
    writeFileSync(join(control, CONTROL_FILE.ready), '');
    await until(() => existsSync(join(control, CONTROL_FILE.exited)), 'claude to end');
    expect(readFileSync(join(control, CONTROL_FILE.exited), 'utf8')).toBe('3\n');
    await sleep(1200);
    expect(entry.child.exitCode).toBeNull(); // still up: the changes are not collected yet
    writeFileSync(join(control, CONTROL_FILE.collected), '');
    const result = await entry.ended;
    expect(result.code).toBe(3);
    expect(result.stdout).toBe(`${work}\nthe prompt\n`);
  });

  it('ends without starting claude when the copy-in failed', async () => {
    const entry = startEntry('echo claude ran');
    writeFileSync(join(control, CONTROL_FILE.abort), '');
    const result = await entry.ended;
    expect(result.code).toBe(125);
    expect(result.stdout).toBe('');
    expect(result.stderr).toContain('could not be copied into the pod');
  });

  it('on SIGTERM stops claude, reports its exit and still waits for the collection', async () => {
    const entry = startEntry('trap "exit 42" TERM; while :; do sleep 1; done');
    writeFileSync(join(control, CONTROL_FILE.ready), '');
    await sleep(1500);
    entry.child.kill('SIGTERM');
    await until(() => existsSync(join(control, CONTROL_FILE.exited)), 'claude to stop');
    expect(readFileSync(join(control, CONTROL_FILE.exited), 'utf8')).toBe('42\n');
    entry.child.kill('SIGTERM'); // a second TERM during the collection window does not end it
    await sleep(1200);
    expect(entry.child.exitCode).toBeNull();
    writeFileSync(join(control, CONTROL_FILE.collected), '');
    expect((await entry.ended).code).toBe(42);
  });

  it('ends after the collection window when nobody collects', async () => {
    const entry = startEntry('exit 0', 1);
    writeFileSync(join(control, CONTROL_FILE.ready), '');
    expect((await entry.ended).code).toBe(0);
  });

  it('is the command of a transfer-mode run', () => {
    const command = buildClaudeCommand({
      config: { dangerouslySkipPermissions: true, maxTurnsPerRun: 0, extraArgs: [] },
      budgetArgs: [],
      resume: { resume: false } as never,
      shipped: { instructions: false, mcpConfig: false, skills: false },
      cwd: '/srv/app',
      transfer: { collectSec: 180 },
    }).command;
    expect(command.slice(0, 10)).toEqual([
      '/bin/sh',
      '-c',
      TRANSFER_LAUNCH_SCRIPT,
      'ck8s-launch',
      TRANSFER_CONTROL_DIR,
      '900',
      '180',
      '/run/ck8s/files/prompt.md',
      '/srv/app',
      'claude',
    ]);
  });
});
