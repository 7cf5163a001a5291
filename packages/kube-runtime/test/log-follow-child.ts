/**
 * A follower process for the cluster test "follower killed mid-run": follows one pod and appends one JSON record
 * `{ text, checkpoint }` per delivered chunk to OUT (a single write each, so a SIGKILL leaves whole records plus at
 * most one torn last line); resumes from the checkpoint JSON in CHECKPOINT when given. Run with
 * `node --conditions=@claude-k8s/source test/log-follow-child.ts`.
 */
import { appendFileSync } from 'node:fs';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { createPodLogSource, decodeLogCheckpoint, followPodLog } from '../src/internal.ts';

const env = process.env;
const namespace = env['NS'] ?? '';
const pod = env['POD'] ?? '';
const out = env['OUT'] ?? '';
const kubeConfig = new KubeConfig();
kubeConfig.loadFromDefault();
const core = kubeConfig.makeApiClient(CoreV1Api);
const decoded = env['CHECKPOINT'] ? decodeLogCheckpoint(JSON.parse(env['CHECKPOINT'])) : null;
if (decoded && !decoded.success) throw new Error(decoded.issues.join('; '));
// The system clock's timers are unref'd (a library must not hold a process open): keep this one alive.
const keepAlive = setInterval(() => {}, 60_000);
const result = await followPodLog({
  source: createPodLogSource({ kubeConfig }),
  namespace,
  pod,
  container: 'agent',
  onOutput: (text, checkpoint) => appendFileSync(out, `${JSON.stringify({ text, checkpoint })}\n`),
  readOutcome: async () =>
    (await core.readNamespacedPodStatus({ name: pod, namespace })).status?.containerStatuses?.[0]?.state?.terminated
      ?.exitCode,
  ...(decoded?.success ? { checkpoint: decoded.value } : {}),
  initialBackoffMs: 100,
});
appendFileSync(out, `${JSON.stringify({ done: true, outcome: result.outcome })}\n`);
clearInterval(keepAlive);
