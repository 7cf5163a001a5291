/**
 * The code before the shared Job/Pod streams, for side-by-side benchmarks: `packages/kube-runtime/src` at
 * BENCH_BASELINE_REF (default: the commit the shared streams were built on), extracted with `git archive` into
 * `bench/.baseline/` (git-ignored; inside the package so that its imports resolve) and removed afterwards.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, rmSync } from 'node:fs';
import { fileURLToPath } from 'node:url';

export const BASELINE_REF = process.env['BENCH_BASELINE_REF'] ?? 'd786f7df18588e9e821d88b32173c7b10fa85626';
const benchDir = fileURLToPath(new URL('.', import.meta.url));
const baselineDir = fileURLToPath(new URL('./.baseline', import.meta.url));

/** Extracts the baseline; returns the path of its `src/internal.ts`. */
export function extractBaseline(): string {
  removeBaseline();
  mkdirSync(baselineDir, { recursive: true });
  const top = execFileSync('git', ['rev-parse', '--show-toplevel'], { cwd: benchDir, encoding: 'utf8' }).trim();
  const archive = execFileSync('git', ['archive', BASELINE_REF, 'packages/kube-runtime/src'], {
    cwd: top,
    maxBuffer: 64 * 1024 * 1024,
  });
  execFileSync('tar', ['-x', '--strip-components=2', '-C', baselineDir], { input: archive });
  const entry = `${baselineDir}/src/internal.ts`;
  if (!existsSync(entry)) throw new Error(`no kube-runtime src at ${BASELINE_REF}`);
  return entry;
}

export function removeBaseline(): void {
  rmSync(baselineDir, { recursive: true, force: true });
}
