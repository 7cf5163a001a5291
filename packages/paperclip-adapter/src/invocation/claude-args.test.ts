import { describe, expect, it } from 'vitest';
import { buildClaudeCommand, LAUNCH_SCRIPT, type ClaudeCommandInput } from './claude-args.ts';

const none = { instructions: false, mcpConfig: false, skills: false };
const minimal: ClaudeCommandInput = {
  config: { dangerouslySkipPermissions: false, model: undefined, effort: undefined, maxTurnsPerRun: 0, extraArgs: [] },
  resume: { resume: false, reason: null },
  shipped: none,
  cwd: '/w',
  budgetArgs: [],
};

describe('buildClaudeCommand', () => {
  it.each([
    ['instructions', ['--append-system-prompt-file', '/run/ck8s/files/instructions.md']],
    ['mcpConfig', ['--mcp-config', '/run/ck8s/files/mcp-config.json', '--strict-mcp-config']],
    ['skills', ['--add-dir', '/run/ck8s/files/skills']],
  ] as const)('a shipped %s file adds the flags that read it, and nothing else', (file, flags) => {
    expect(buildClaudeCommand({ ...minimal, shipped: { ...none, [file]: true } }).args.slice(5)).toEqual(flags);
  });

  it('always prints stream-json; the container runs it through the launch script in the working directory', () => {
    const claude = buildClaudeCommand(minimal);
    expect(claude.args).toEqual(['claude', '--print', '--output-format', 'stream-json', '--verbose']);
    expect(claude.command).toEqual(['/bin/sh', '-c', LAUNCH_SCRIPT, 'ck8s-launch', '/w', ...claude.args]);
    expect(LAUNCH_SCRIPT).toContain('exec "$@" < /run/ck8s/files/prompt.md');
    expect(claude.notes).toEqual([]);
  });

  it('adds each flag in a fixed order, one per shipped file, and extraArgs last', () => {
    const claude = buildClaudeCommand({
      config: {
        dangerouslySkipPermissions: true,
        model: 'm',
        effort: 'high',
        maxTurnsPerRun: 7,
        extraArgs: ['--append-system-prompt', 'x'],
      },
      resume: { resume: true, sessionId: 's1' },
      shipped: { instructions: true, mcpConfig: true, skills: true },
      cwd: '/w',
      budgetArgs: ['--max-budget-usd', '0.5'],
    });
    expect(claude.args.join(' ')).toBe(
      'claude --print --output-format stream-json --verbose --resume s1 --dangerously-skip-permissions --model m' +
        ' --effort high --max-turns 7 --max-budget-usd 0.5 --append-system-prompt-file /run/ck8s/files/instructions.md' +
        ' --mcp-config /run/ck8s/files/mcp-config.json --strict-mcp-config --add-dir /run/ck8s/files/skills' +
        ' --append-system-prompt x',
    );
    expect(claude.args.at(-1)).toBe('x');
  });
});
