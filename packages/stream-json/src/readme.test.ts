import { spawnSync } from 'node:child_process';
import { readFileSync, rmSync, writeFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { expect, it } from 'vitest';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

it('the README example runs and prints what it says', () => {
  const readme = readFileSync(`${packageDir}README.md`, 'utf8');
  const example = /```ts\n([\s\S]*?)```/.exec(readme)?.[1];
  expect(example).toBeDefined();
  const promised = /\/\/ (succeeded .*)\n/.exec(example ?? '')?.[1];
  // Inside the package folder, so the package's own name resolves (to the source, through the dev condition).
  const file = `${packageDir}.readme-example-${process.pid}.mts`;
  writeFileSync(file, example ?? '');
  try {
    const result = spawnSync(process.execPath, ['--conditions=@claude-k8s/source', file], { encoding: 'utf8' });
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(result.stdout.trim().split('\n').at(-1)).toBe(promised);
  } finally {
    rmSync(file, { force: true });
  }
});
