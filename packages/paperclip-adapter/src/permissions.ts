/**
 * The Kubernetes permissions the adapter uses in the Job namespace, verb by verb, each with its purpose. The same
 * list is in `deploy/rbac.yaml` (a test keeps the two equal) and the environment test checks each one with a
 * SelfSubjectAccessReview (allowed to every authenticated user by default, so it needs no rule itself).
 */
export interface RequiredPermission {
  /** API group: `''` for the core group. */
  group: '' | 'batch' | 'coordination.k8s.io';
  resource: string;
  subresource?: string;
  verb: 'create' | 'get' | 'list' | 'watch' | 'update' | 'patch' | 'delete';
  /** Why the adapter needs it. */
  purpose: string;
  /** Needed only by agents in this workspace mode (`transfer`: also `auto`, which may pick it); absent: always. */
  workspaceMode?: 'transfer';
}

export const REQUIRED_PERMISSIONS: readonly RequiredPermission[] = Object.freeze([
  { group: 'batch', resource: 'jobs', verb: 'create', purpose: 'create the Job of a run' },
  {
    group: 'batch',
    resource: 'jobs',
    verb: 'get',
    purpose: 'read the existing Job of the same run (lock policy adopt)',
  },
  {
    group: 'batch',
    resource: 'jobs',
    verb: 'list',
    purpose: 'find Jobs of an agent or run by label (adopt after restart, lock holder)',
  },
  { group: 'batch', resource: 'jobs', verb: 'watch', purpose: 'follow Job conditions instead of polling' },
  {
    group: 'batch',
    resource: 'jobs',
    verb: 'patch',
    purpose: 'set ttlSecondsAfterFinished of a kept failed Job; relabel an adopted Job',
  },
  { group: 'batch', resource: 'jobs', verb: 'delete', purpose: 'cancel a run, apply the retention policy' },
  { group: '', resource: 'pods', verb: 'list', purpose: 'find the pod of a Job by its job-name label' },
  {
    group: '',
    resource: 'pods',
    verb: 'create',
    purpose: 'dry-run the agent pod in the environment test (Pod Security enforces on pods only; nothing is created)',
  },
  { group: '', resource: 'pods', verb: 'watch', purpose: 'follow scheduling, image pull and container state' },
  { group: '', resource: 'pods', subresource: 'log', verb: 'get', purpose: 'stream the claude container output' },
  {
    group: '',
    resource: 'pods',
    subresource: 'exec',
    verb: 'create',
    purpose: "workspace.mode transfer: copy the workspace into the run's container and collect the agent's changes",
    workspaceMode: 'transfer',
  },
  {
    group: '',
    resource: 'pods',
    subresource: 'exec',
    verb: 'get',
    purpose:
      'workspace.mode transfer: the WebSocket upgrade of an exec is a GET (older apiservers authorize it as get)',
    workspaceMode: 'transfer',
  },
  {
    group: '',
    resource: 'secrets',
    verb: 'create',
    purpose: 'create the per-run Secret (prompt, run token, files), owned by the Job',
  },
  {
    group: '',
    resource: 'secrets',
    verb: 'get',
    purpose: 'check that the model API key Secret exists (environment test)',
  },
  {
    group: '',
    resource: 'secrets',
    verb: 'delete',
    purpose:
      'delete the per-run Secret once the container has ended when the Job is kept, or when the Job could not be started',
  },
  {
    group: '',
    resource: 'events',
    verb: 'list',
    purpose: 'name the reason of a failure (FailedScheduling, FailedMount, quota)',
  },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'create', purpose: "take an agent's run lock" },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'get', purpose: 'read the lock holder' },
  {
    group: 'coordination.k8s.io',
    resource: 'leases',
    verb: 'watch',
    purpose: "wait for an agent's lock to be released (lock policy wait)",
  },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'update', purpose: 'renew or take over an expired lock' },
  { group: 'coordination.k8s.io', resource: 'leases', verb: 'delete', purpose: 'release the lock when the run ends' },
  {
    group: '',
    resource: 'persistentvolumeclaims',
    verb: 'get',
    purpose: 'check that the session volume claim exists (environment test)',
  },
]);
