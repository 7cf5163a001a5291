import { execFile } from 'node:child_process';
import { cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const script = join(repoRoot, 'scripts/check-package.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'ck8s-check-package-test-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

/** Copies a fixture package outside the workspace (so pnpm packs it on its own) and runs the check on it. */
async function checkFixture(name: string): Promise<{ code: number; output: string }> {
  const directory = join(scratch, name);
  cpSync(join(import.meta.dirname, '__fixtures__', name), directory, { recursive: true });
  try {
    const { stdout, stderr } = await run(process.execPath, [script, directory], { cwd: directory });
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

describe('scripts/check-package.mjs', () => {
  it('passes a well-formed ESM package', async () => {
    const { code, output } = await checkFixture('package-good');
    expect(output).toContain(
      'check:package @fixture/good@1.0.0: 4 files packed; publint --strict and attw --profile esm-only clean',
    );
    expect(code).toBe(0);
  });

  it('fails a package that ships tests, lacks a README and has broken exports and types', async () => {
    const { code, output } = await checkFixture('package-bad');
    expect(code).toBe(1);
    expect(output).toContain('check:package @fixture/bad@1.0.0: FAILED');
    expect(output).toContain('tarball contains src/index.test.ts');
    expect(output).toContain('tarball lacks README.md');
    expect(output).toContain('publint --strict failed');
    expect(output).toContain('@arethetypeswrong/cli --profile esm-only failed');
  });
});
