/**
 * kubectl for the chart's cluster tests: the binary built with the local cluster's Kubernetes (same pinned version as
 * the API server), else `CK8S_KUBECTL`, else `kubectl` on the PATH.
 */
import { spawnSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { repoRoot } from './helm.ts';

/** The pinned Kubernetes version of the local cluster (internal/local-cluster/scripts/lib.sh). */
function pinnedKubernetesVersion(): string {
  const lib = readFileSync(join(repoRoot, 'internal', 'local-cluster', 'scripts', 'lib.sh'), 'utf8');
  const version = /K8S_VERSION="\$\{K8S_VERSION:-(v[0-9.]+)\}"/.exec(lib)?.[1];
  if (!version) throw new Error('cannot read K8S_VERSION from internal/local-cluster/scripts/lib.sh');
  return version;
}

function findKubectl(env: NodeJS.ProcessEnv = process.env): string {
  if (env['CK8S_KUBECTL']) return env['CK8S_KUBECTL'];
  const cache = env['CLAUDE_K8S_CACHE'] ?? join(env['XDG_CACHE_HOME'] ?? join(homedir(), '.cache'), 'claude-k8s');
  const built = join(cache, 'bin', `kubernetes-${pinnedKubernetesVersion()}`, 'kubectl');
  return existsSync(built) ? built : 'kubectl';
}

export interface KubectlResult {
  status: number;
  stdout: string;
  stderr: string;
}

/** Runs kubectl against KUBECONFIG; never throws on a non-zero exit. */
export function kubectl(args: string[], input?: string): KubectlResult {
  const r = spawnSync(findKubectl(), args, { encoding: 'utf8', input, timeout: 120_000 });
  if (r.error) {
    throw new Error(
      `cannot run kubectl (${r.error.message}): build the local cluster (it builds kubectl), set CK8S_KUBECTL, or put kubectl on the PATH`,
    );
  }
  return { status: r.status ?? -1, stdout: r.stdout, stderr: r.stderr };
}

/** kubectl that must succeed; throws with its stderr otherwise. */
export function kubectlOk(args: string[], input?: string): string {
  const r = kubectl(args, input);
  if (r.status !== 0) throw new Error(`kubectl ${args.join(' ')} failed (exit ${r.status}): ${r.stderr}`);
  return r.stdout;
}
