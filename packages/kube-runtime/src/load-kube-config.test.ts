import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { KubeconfigRefusedError, loadKubeConfig } from './load-kube-config.ts';

function kubeconfig(user: string): string {
  return [
    'apiVersion: v1',
    'kind: Config',
    'clusters: [{ name: c, cluster: { server: "https://127.0.0.1:1" } }]',
    'contexts: [{ name: x, context: { cluster: c, user: u } }]',
    'current-context: x',
    `users: [{ name: u, user: ${user} }]`,
    '',
  ].join('\n');
}

describe('loadKubeConfig with a server-side policy', () => {
  let root: string;
  let allowed: string;
  let outside: string;
  beforeEach(() => {
    root = mkdtempSync(join(tmpdir(), 'kubeconfig-policy-'));
    allowed = join(root, 'allowed');
    outside = join(root, 'outside');
    mkdirSync(allowed);
    mkdirSync(outside);
  });
  afterEach(() => rmSync(root, { recursive: true, force: true }));

  it('loads a token kubeconfig inside an allow-listed directory', () => {
    writeFileSync(join(allowed, 'k'), kubeconfig('{ token: t }'));
    const config = loadKubeConfig({ path: join(allowed, 'k'), policy: { allowedDirectories: [allowed] } });
    expect(config.getCurrentCluster()?.server).toBe('https://127.0.0.1:1');
  });

  it('refuses a path outside the directories, a symlink out of them, a ".." path, and any path when none is listed', () => {
    writeFileSync(join(outside, 'k'), kubeconfig('{ token: t }'));
    symlinkSync(join(outside, 'k'), join(allowed, 'link'));
    const policy = { allowedDirectories: [allowed] };
    for (const path of [join(outside, 'k'), join(allowed, 'link'), `${allowed}/../outside/k`]) {
      expect(() => loadKubeConfig({ path, policy })).toThrow(KubeconfigRefusedError);
      expect(() => loadKubeConfig({ path, policy })).toThrow(/refused by the server's kubeconfig policy/);
    }
    expect(() => loadKubeConfig({ path: join(outside, 'k'), policy: { allowedDirectories: [] } })).toThrow(
      /no kubeconfig directory is allow-listed/,
    );
  });

  it('refuses an exec user before anything runs: the script never creates its marker', async () => {
    const marker = join(root, 'marker');
    const script = join(root, 'plugin.sh');
    writeFileSync(
      script,
      `#!/bin/sh\ntouch ${marker}\necho '{"apiVersion":"client.authentication.k8s.io/v1","kind":"ExecCredential","status":{"token":"t"}}'\n`,
    );
    chmodSync(script, 0o755);
    writeFileSync(
      join(allowed, 'exec'),
      kubeconfig(
        `{ exec: { apiVersion: client.authentication.k8s.io/v1, command: ${script}, interactiveMode: Never } }`,
      ),
    );
    const attempt = () => loadKubeConfig({ path: join(allowed, 'exec'), policy: { allowedDirectories: [allowed] } });
    expect(attempt).toThrow(KubeconfigRefusedError);
    expect(attempt).toThrow(/uses an exec credential plugin, refused by the server's kubeconfig policy/);
    writeFileSync(join(allowed, 'provider'), kubeconfig('{ auth-provider: { name: oidc, config: {} } }'));
    expect(() =>
      loadKubeConfig({ path: join(allowed, 'provider'), policy: { allowedDirectories: [allowed] } }),
    ).toThrow(/uses an auth-provider/);
    // Enabled server-side, the same file loads; its credentials are applied per request, so still nothing ran here.
    const enabled = loadKubeConfig({
      path: join(allowed, 'exec'),
      policy: { allowedDirectories: [allowed], allowExecUsers: true },
    });
    expect(enabled.getCurrentUser()?.exec).toBeDefined();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(existsSync(marker)).toBe(false);
  });

  it('never echoes the content of a file that is not a kubeconfig', () => {
    writeFileSync(join(allowed, '.env'), 'DB_PASSWORD=hunter2\n');
    writeFileSync(join(allowed, 'broken'), 'users: [ { name: "hunter2" \n  - : : hunter2');
    for (const name of ['.env', 'broken']) {
      let message = '';
      try {
        loadKubeConfig({ path: join(allowed, name), policy: { allowedDirectories: [allowed] } });
      } catch (error) {
        message = String(error);
      }
      expect(message).toContain(join(allowed, name));
      expect(message).not.toContain('hunter2');
    }
  });
});
