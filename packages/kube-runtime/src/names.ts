/** Deterministic, DNS-safe names and label values derived from raw ids. */
import { createHash } from 'node:crypto';

/** Label prefix of everything this runtime writes. */
const LABEL_PREFIX = 'claude-k8s.io';
export const LABELS = {
  managedBy: 'app.kubernetes.io/managed-by',
  component: 'app.kubernetes.io/component',
  runId: `${LABEL_PREFIX}/run-id`,
  agentId: `${LABEL_PREFIX}/agent-id`,
  runtimeId: `${LABEL_PREFIX}/runtime-id`,
  /** The caller's key of the work (e.g. a task), sanitised: what a later run adopts by (see `adoption.ts`). */
  taskKey: `${LABEL_PREFIX}/task-key`,
} as const;
export const ANNOTATIONS = {
  runId: `${LABEL_PREFIX}/run-id`,
  agentId: `${LABEL_PREFIX}/agent-id`,
  /** Written on the Job just before this runtime deletes it for a cancel: tells cancel from external deletion. */
  cancelRequested: `${LABEL_PREFIX}/cancel-requested`,
  /** Until when a failed Job is kept (ISO time), read by the sweeper. */
  keepUntil: `${LABEL_PREFIX}/keep-until`,
  /** The raw task key (labels hold a sanitised form). */
  taskKey: `${LABEL_PREFIX}/task-key`,
  /** How long the Job may stay orphaned before the orphan sweep deletes it. Seconds. */
  adoptWithinSeconds: `${LABEL_PREFIX}/adopt-within-seconds`,
  /** Set by the first orphan sweep that found nobody following the Job (ISO time); removed when a run adopts it. */
  orphanedSince: `${LABEL_PREFIX}/orphaned-since`,
  /** Written when a follower delivered the outcome and kept the Job (retention `keep`): nothing left to adopt. */
  settledAt: `${LABEL_PREFIX}/settled-at`,
  /** The run id of the run that adopted the Job last. */
  adoptedBy: `${LABEL_PREFIX}/adopted-by`,
  /** On a Job: the name of the Lease its run holds (absent: the run took no lock). */
  leaseName: `${LABEL_PREFIX}/lease-name`,
  /** On a Lease: the raw lock key it serialises (absent: the agent as a whole). */
  lockKey: `${LABEL_PREFIX}/lock-key`,
} as const;
export const MANAGED_BY = 'claude-k8s';

function shortHash(text: string, length = 8): string {
  return createHash('sha256').update(text).digest('hex').slice(0, length);
}

/** Lower-case `[a-z0-9-]` slug of at most `max` characters, never starting or ending with `-`. */
function slug(text: string, max: number): string {
  const cleaned = text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+/, '')
    .slice(0, max)
    .replace(/-+$/, '');
  return cleaned;
}

/** The Job name of a run: `ck8s-<agent>-<run>-<hash>`, at most 52 characters (pod names add 6, labels allow 63). */
export function jobNameFor(agentId: string, runId: string): string {
  const agent = slug(agentId, 12);
  const run = slug(runId, 24);
  const parts = ['ck8s', agent, run, shortHash(`${agentId}\u0000${runId}`)].filter((part) => part !== '');
  return parts.join('-');
}

/**
 * The Lease name of an agent's lock: `ck8s-agent-<agent>-<hash>` for the agent as a whole (no key, the name of every
 * earlier version), `ck8s-agent-<agent>-<hash>-<key hash>` for one lock key of the agent (e.g. its working directory).
 */
export function leaseNameFor(agentId: string, lockKey?: string): string {
  const agent = slug(agentId, 40);
  const keyed = lockKey === undefined || lockKey === '' ? '' : shortHash(`${agentId}\u0000${lockKey}`, 12);
  return ['ck8s-agent', agent, shortHash(agentId), keyed].filter((part) => part !== '').join('-');
}

const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

/** The raw id when it is a valid label value, else `<slug>-<hash>` (deterministic, so it can be selected on). */
export function labelValue(raw: string): string {
  if (LABEL_VALUE.test(raw)) return raw;
  const base = slug(raw, 50);
  return base === '' ? `h-${shortHash(raw, 12)}` : `${base}-${shortHash(raw, 12)}`;
}

/** True when `value` is a valid label value. */
export function isLabelValue(value: string): boolean {
  return LABEL_VALUE.test(value);
}
