import { execFile } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';
import { readWorkspacePackages } from './private-dependencies.ts';

const run = promisify(execFile);
const repoRoot = resolve(import.meta.dirname, '../../..');
const script = join(repoRoot, 'scripts/check-changeset-independence.mjs');
const scratch = mkdtempSync(join(tmpdir(), 'ck8s-independence-test-'));

afterAll(() => rmSync(scratch, { recursive: true, force: true }));

async function check(root?: string): Promise<{ code: number; output: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, root === undefined ? [script] : [script, root]);
    return { code: 0, output: stdout + stderr };
  } catch (error) {
    const failure = error as { code: number; stdout: string; stderr: string };
    return { code: failure.code, output: failure.stdout + failure.stderr };
  }
}

/** A copy of this workspace's manifests and changesets config, changed by `edit` (file path -> JSON edit). */
async function copyWorkspace(
  name: string,
  edit: Record<string, (json: Record<string, unknown>) => void>,
): Promise<string> {
  const root = join(scratch, name);
  const files = ['package.json', 'pnpm-workspace.yaml', '.changeset/config.json'];
  for (const { directory } of await readWorkspacePackages(repoRoot)) files.push(`${directory}/package.json`);
  for (const file of files) {
    mkdirSync(dirname(join(root, file)), { recursive: true });
    cpSync(join(repoRoot, file), join(root, file));
  }
  for (const [file, change] of Object.entries(edit)) {
    const json = JSON.parse(readFileSync(join(root, file), 'utf8')) as Record<string, unknown>;
    change(json);
    writeFileSync(join(root, file), JSON.stringify(json, null, 2));
  }
  return root;
}

describe('scripts/check-changeset-independence.mjs', () => {
  it('passes on this repository: a stream-json change moves only stream-json and, out of range, the adapter', async () => {
    const { code, output } = await check();
    expect(output).toMatch(/@claude-k8s\/stream-json +0\.\d+\.\d+ -> 0\.\d+\.0/);
    expect(output).toMatch(/@claude-k8s\/kube-runtime +(\S+) -> \1 \(unchanged\)/);
    expect(output).toContain('changeset independence: OK');
    expect(code).toBe(0);
  });

  it('fails when the packages are versioned together', async () => {
    const root = await copyWorkspace('fixed', {
      '.changeset/config.json': (config) => {
        config['fixed'] = [['@claude-k8s/stream-json', '@claude-k8s/kube-runtime']];
      },
    });
    const { code, output } = await check(root);
    expect(code).toBe(1);
    expect(output).toContain('.changeset/config.json must have no fixed groups');
  });

  it('fails when kube-runtime starts to depend on stream-json (it would move with it)', async () => {
    const root = await copyWorkspace('coupled', {
      'packages/kube-runtime/package.json': (manifest) => {
        manifest['dependencies'] = {
          ...(manifest['dependencies'] as object),
          '@claude-k8s/stream-json': 'workspace:^',
        };
      },
    });
    const { code, output } = await check(root);
    expect(code).toBe(1);
    expect(output).toContain('kube-runtime must not move');
  });
});
