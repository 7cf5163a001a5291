import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { EXIT_CODES, runCli, type CliIo, type TextSink } from './run-cli.ts';
import { FIXTURES_DIR, fixtureBytes, fixtureStderr } from '../../test/fixture-helpers.ts';

class Capture implements TextSink {
  text = '';
  write(text: string): boolean {
    this.text += text;
    return true;
  }
  once(): this {
    return this;
  }
}

function io(
  stdin: AsyncIterable<string | Uint8Array>,
  options: Partial<CliIo> = {},
): CliIo & { stdout: Capture; stderr: Capture } {
  return {
    stdin,
    stdout: new Capture(),
    stderr: new Capture(),
    env: {},
    stdoutIsTty: false,
    columns: 100,
    ...options,
  } as CliIo & { stdout: Capture; stderr: Capture };
}

async function* once(bytes: Uint8Array): AsyncGenerator<Uint8Array> {
  await Promise.resolve();
  yield bytes;
}

describe('runCli', () => {
  it('pretty-prints a fixture from stdin and exits 0 for a successful run', async () => {
    const cli = io(once(fixtureBytes('b_tool_bash')));
    expect(await runCli([], cli)).toBe(EXIT_CODES.ok);
    expect(cli.stdout.text).toContain('⏺ Bash(echo hello)');
    expect(cli.stdout.text).toContain('✓ run succeeded');
    expect(cli.stdout.text).not.toContain('\u001b[');
  });

  it('--summary prints the figures Paperclip needs as JSON', async () => {
    const cli = io(once(fixtureBytes('f_resume_2_second')));
    expect(await runCli(['--summary'], cli)).toBe(EXIT_CODES.ok);
    const summary = JSON.parse(cli.stdout.text) as Record<string, unknown>;
    expect(summary).toMatchObject({
      status: 'succeeded',
      sessionId: 'ef4396a5-b2f7-468b-9c86-9d272562d804',
      summary: 'Answer: second run',
      usage: { inputTokens: 2584, outputTokens: 11, cacheCreationInputTokens: 120, cacheReadInputTokens: 3000 },
      usageBasis: 'per_run',
      costUsd: 0.011755999999999999,
      sessionCumulative: { totalCostUsd: 0.023351999999999998 },
      failure: null,
    });
  });

  it('exits 1 for a failed run and shows the failure class', async () => {
    const cli = io(once(fixtureBytes('d_max_turns')));
    expect(await runCli(['--color'], cli)).toBe(EXIT_CODES.runFailed);
    expect(cli.stdout.text).toContain('run failed: max-turns');
    expect(cli.stdout.text).toContain('\u001b[31m');
  });

  it('exits 2 for malformed input even when the run succeeded; --raw passes unknown lines through', async () => {
    const text = `${new TextDecoder().decode(fixtureBytes('a_plain_text'))}garbage line\n{"type":"brand_new",  "x":1}\n`;
    const cli = io(once(new TextEncoder().encode(text)));
    expect(await runCli(['--raw'], cli)).toBe(EXIT_CODES.malformedInput);
    expect(cli.stdout.text).toContain('line 4: invalid-json: garbage line');
    expect(cli.stdout.text).toContain('{"type":"brand_new",  "x":1}\n');
  });

  it('reads a file argument and a --stderr file (argument errors have no JSON at all)', async () => {
    const cli = io(once(new Uint8Array()));
    const code = await runCli(
      [
        `${FIXTURES_DIR}o_no_verbose_error.jsonl`,
        '--stderr',
        `${FIXTURES_DIR}o_no_verbose_error.stderr.txt`,
        '--summary',
      ],
      cli,
    );
    expect(code).toBe(EXIT_CODES.runFailed);
    expect(JSON.parse(cli.stdout.text)).toMatchObject({
      failure: { code: 'argument-error', message: fixtureStderr('o_no_verbose_error').trim() },
    });
  });

  it('shows thinking only with --thinking', async () => {
    const hidden = io(once(fixtureBytes('g2_thinking')));
    await runCli([], hidden);
    expect(hidden.stdout.text).toContain('thinking (');
    const shown = io(once(fixtureBytes('g2_thinking')));
    await runCli(['--thinking'], shown);
    expect(shown.stdout.text).toMatch(/✻ thinking\n/);
  });

  it('streams: prints each line as it arrives, before the input ends', async () => {
    const lines = new TextDecoder().decode(fixtureBytes('b_tool_bash')).split('\n');
    const gate = Promise.withResolvers<void>();
    const cli = io(
      (async function* () {
        yield `${lines[0]}\n`;
        await gate.promise;
        yield `${lines.slice(1).join('\n')}`;
      })(),
    );
    const running = runCli([], cli);
    await expect.poll(() => cli.stdout.text).toContain('● session 815e2b32');
    expect(cli.stdout.text).not.toContain('Bash(');
    gate.resolve();
    expect(await running).toBe(EXIT_CODES.ok);
    expect(cli.stdout.text).toContain('Bash(echo hello)');
  });

  it('rejects bad usage with 64, answers --help and --version', async () => {
    expect(await runCli(['--bogus'], io(once(new Uint8Array())))).toBe(EXIT_CODES.usage);
    expect(await runCli(['--width', 'x'], io(once(new Uint8Array())))).toBe(EXIT_CODES.usage);
    const help = io(once(new Uint8Array()));
    expect(await runCli(['--help'], help)).toBe(0);
    expect(help.stdout.text).toContain('Usage: claude-stream-json');
    const version = io(once(new Uint8Array()));
    expect(await runCli(['-v'], version)).toBe(0);
    expect(version.stdout.text).toBe('0.0.0-test\n');
  });

  it('reports an unreadable file with 66', async () => {
    const cli = io(once(new Uint8Array()));
    expect(await runCli(['/nonexistent/x.jsonl'], cli)).toBe(EXIT_CODES.ioError);
    expect(cli.stderr.text).toContain('/nonexistent/x.jsonl');
  });
});

describe('the bin as a process', () => {
  it('echo a fixture into it: a readable transcript on stdout, exit status from the run', () => {
    const cli = fileURLToPath(new URL('../cli.ts', import.meta.url));
    const ok = spawnSync(process.execPath, [cli], { input: fixtureBytes('i_subagent_task'), encoding: 'utf8' });
    expect(ok.stderr).toBe('');
    expect(ok.status).toBe(0);
    expect(ok.stdout).toContain('  │ ⏺ Bash(echo from-subagent)');
    const failed = spawnSync(process.execPath, [cli, '--summary'], {
      input: fixtureBytes('e_api_error_401'),
      encoding: 'utf8',
    });
    expect(failed.status).toBe(1);
    expect(JSON.parse(failed.stdout)).toMatchObject({ failure: { code: 'authentication', httpStatus: 401 } });
  });
});
