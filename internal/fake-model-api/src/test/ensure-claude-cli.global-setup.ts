// Vitest globalSetup: install the pinned real Claude Code CLI through scripts/ensure-claude-cli.sh (instant when it is
// already in .cache/claude-code/<version>) and hand its path to the *.cli.test.ts files. A failed install fails the
// run with the script's output; it never skips the real-CLI tests.
import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

declare module 'vitest' {
  export interface ProvidedContext {
    claudeCliPath: string;
  }
}

export function setup(project: TestProject): void {
  const script = fileURLToPath(new URL('../../../../scripts/ensure-claude-cli.sh', import.meta.url));
  const started = Date.now();
  const result = spawnSync('bash', [script], { encoding: 'utf8', timeout: 15 * 60_000, maxBuffer: 64 * 1024 * 1024 });
  const lines = (result.stdout ?? '').trim().split('\n');
  const path = lines.at(-1) ?? '';
  if (result.status !== 0 || path === '') {
    throw new Error(
      `install the real Claude Code CLI: ${script} exited with ${String(result.status ?? result.signal ?? result.error?.message)}; ` +
        `the *.cli.test.ts tests need it (npm registry reachable? system npm installed?).\n${result.stderr ?? ''}`,
    );
  }
  const seconds = (Date.now() - started) / 1000;
  if (seconds > 2)
    process.stderr.write(`[fake-model-api tests] installed the Claude Code CLI in ${seconds.toFixed(1)} s: ${path}\n`);
  project.provide('claudeCliPath', path);
}
