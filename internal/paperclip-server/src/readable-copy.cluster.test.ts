import { chmod, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { assertReadableBy, ensureReadableCopy, resolveServerUser } from './index.ts';

const cleanup: string[] = [];
afterEach(async () => {
  for (const path of cleanup.splice(0)) await rm(path, { recursive: true, force: true });
});

async function tempDir(mode: number): Promise<string> {
  const path = await mkdtemp(join(tmpdir(), 'ck8s-readable-'));
  await chmod(path, mode);
  cleanup.push(path);
  return path;
}

// Only meaningful as root: then the server runs as the separate, unprivileged service user. The cluster tier runs as
// root (in CI too), which is why this file is a `*.cluster.test.ts`: the unit tier runs as an ordinary user and would
// only ever skip it.
describe.skipIf(process.getuid?.() !== 0)('ensureReadableCopy', () => {
  it('returns a readable path unchanged', async () => {
    const user = await resolveServerUser();
    const open = await tempDir(0o755);
    await writeFile(join(open, 'file.txt'), 'x', { mode: 0o644 });
    expect(await ensureReadableCopy(join(open, 'file.txt'), { user, mirrorRoot: open })).toBe(join(open, 'file.txt'));
  });

  it('copies a tree below a private directory to a reachable place, readable by the server user only through its group', async () => {
    const user = await resolveServerUser();
    const privateParent = await tempDir(0o700);
    const tree = join(privateParent, 'adapter');
    await mkdir(join(tree, 'dist'), { recursive: true, mode: 0o700 });
    await writeFile(join(tree, 'dist', 'index.js'), 'export {};\n', { mode: 0o600 });
    await expect(assertReadableBy(user, join(tree, 'dist', 'index.js'))).rejects.toThrow(
      new RegExp(`directory ${privateParent} is not traversable`),
    );

    const mirrorRoot = await tempDir(0o755);
    const copy = await ensureReadableCopy(tree, { user, mirrorRoot });
    expect(copy.startsWith(mirrorRoot)).toBe(true);
    await assertReadableBy(user, join(copy, 'dist', 'index.js'));
    expect(await readFile(join(copy, 'dist', 'index.js'), 'utf8')).toBe('export {};\n');
  });
});
