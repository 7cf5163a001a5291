import type { V1Job, V1Pod } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import { classifyJobOutcome, type ClassifyInput } from './internal.ts';

const T0 = Date.parse('2026-01-01T00:00:00Z');

function job(
  conditions: { type: string; reason?: string; message?: string }[] = [],
  extra: Partial<V1Job['metadata']> = {},
): V1Job {
  return {
    metadata: { name: 'ck8s-a-r-1', ...extra },
    spec: { activeDeadlineSeconds: 60, template: {} },
    status: { conditions: conditions.map((c) => ({ status: 'True', ...c })) },
  };
}

function pod(options: {
  phase?: string;
  waiting?: { reason: string; message?: string };
  terminated?: { reason: string; exitCode: number; message?: string };
  running?: boolean;
  conditions?: { type: string; status: string; reason?: string; message?: string }[];
  reason?: string;
  nodeName?: string;
}): V1Pod {
  return {
    metadata: { name: 'ck8s-a-r-1-abcde', creationTimestamp: new Date(T0) },
    spec: {
      nodeName: options.nodeName,
      containers: [{ name: 'agent', image: 'localhost/nope:1', resources: { limits: { memory: '64Mi' } } }],
    },
    status: {
      phase: options.phase ?? 'Pending',
      ...(options.reason === undefined
        ? {}
        : { reason: options.reason, message: 'The node was low on resource: memory.' }),
      conditions: options.conditions ?? [],
      containerStatuses: [
        {
          name: 'agent',
          image: 'localhost/nope:1',
          imageID: '',
          ready: false,
          restartCount: 0,
          state: {
            ...(options.waiting === undefined ? {} : { waiting: options.waiting }),
            ...(options.terminated === undefined ? {} : { terminated: options.terminated }),
            ...(options.running === true ? { running: { startedAt: new Date(T0) } } : {}),
          },
        },
      ],
    },
  };
}

const failedCreate = {
  type: 'Warning',
  reason: 'FailedCreate',
  message:
    'Error creating: pods "job-1-abcde" is forbidden: exceeded quota: no-pods, requested: pods=1, used: pods=0, limited: pods=0',
  count: 4,
  involvedKind: 'Job',
};

function input(overrides: Partial<ClassifyInput>): ClassifyInput {
  return {
    job: job(),
    pod: null,
    events: [],
    containerName: 'agent',
    now: T0 + 1000,
    cancelRequested: false,
    jobDeleted: false,
    podDeleted: false,
    deletionSeenAt: null,
    imagePullGraceSeconds: 60,
    unschedulableGraceSeconds: 120,
    configErrorGraceSeconds: 10,
    podCreateGraceSeconds: 30,
    noPodSince: T0,
    deadlineSeconds: 60,
    ...overrides,
  };
}

describe('classifyJobOutcome', () => {
  const cases: [
    string,
    Partial<ClassifyInput>,
    ReturnType<typeof classifyJobOutcome> extends infer R
      ? (R extends null ? null : Partial<NonNullable<R>>) | null
      : never,
  ][] = [
    ['pending pod, nothing wrong', { pod: pod({}) }, null],
    ['running container', { pod: pod({ running: true, phase: 'Running' }) }, null],
    ['Job Complete', { job: job([{ type: 'Complete' }]) }, { code: 'succeeded', exitCode: 0 }],
    [
      'Job SuccessCriteriaMet (early)',
      { job: job([{ type: 'SuccessCriteriaMet', reason: 'CompletionsReached' }]) },
      { code: 'succeeded' },
    ],
    [
      'ErrImageNeverPull at once',
      {
        pod: pod({
          waiting: {
            reason: 'ErrImageNeverPull',
            message: 'Container image "localhost/nope:1" is not present with pull policy of Never',
          },
        }),
      },
      {
        code: 'image-pull',
        reason: 'ErrImageNeverPull',
        message:
          'image localhost/nope:1 cannot be used: ErrImageNeverPull: Container image "localhost/nope:1" is not present with pull policy of Never',
      },
    ],
    [
      'InvalidImageName at once',
      { pod: pod({ waiting: { reason: 'InvalidImageName' } }) },
      { code: 'image-pull', reason: 'InvalidImageName' },
    ],
    ['ImagePullBackOff within grace', { pod: pod({ waiting: { reason: 'ImagePullBackOff' } }) }, null],
    [
      'ImagePullBackOff after grace',
      { pod: pod({ waiting: { reason: 'ImagePullBackOff', message: 'Back-off pulling image' } }), now: T0 + 61_000 },
      { code: 'image-pull', reason: 'ImagePullBackOff' },
    ],
    [
      'ErrImagePull after grace',
      { pod: pod({ waiting: { reason: 'ErrImagePull' } }), now: T0 + 61_000 },
      { code: 'image-pull', reason: 'ErrImagePull' },
    ],
    [
      'CreateContainerConfigError within grace',
      { pod: pod({ waiting: { reason: 'CreateContainerConfigError' } }) },
      null,
    ],
    [
      'CreateContainerConfigError after grace',
      {
        pod: pod({
          waiting: {
            reason: 'CreateContainerConfigError',
            message: "couldn't find key nope in Secret agents/anthropic",
          },
        }),
        now: T0 + 11_000,
      },
      {
        code: 'config-error',
        reason: 'CreateContainerConfigError',
        message:
          "container agent cannot be created: CreateContainerConfigError: couldn't find key nope in Secret agents/anthropic",
      },
    ],
    [
      'FailedMount event after grace',
      {
        pod: pod({ waiting: { reason: 'ContainerCreating' } }),
        now: T0 + 11_000,
        events: [
          { type: 'Warning', reason: 'FailedMount', message: 'secret "x" not found', count: 3, involvedKind: 'Pod' },
        ],
      },
      { code: 'config-error', reason: 'FailedMount' },
    ],
    [
      'FailedCreate on the Job within the pod-create grace: still waiting',
      { now: T0 + 29_000, events: [failedCreate] },
      null,
    ],
    ['no pod after the grace but no FailedCreate: still waiting', { now: T0 + 31_000 }, null],
    [
      'FailedCreate on the Job after the pod-create grace, no pod',
      { now: T0 + 31_000, events: [failedCreate] },
      {
        code: 'never-started',
        reason: 'FailedCreate',
        message: `the Job controller could not create the pod for 30s: ${failedCreate.message}`,
        exitCode: null,
      },
    ],
    [
      'Unschedulable within grace',
      {
        pod: pod({ conditions: [{ type: 'PodScheduled', status: 'False', reason: 'Unschedulable' }] }),
        now: T0 + 100_000,
      },
      null,
    ],
    [
      'Unschedulable after grace',
      {
        pod: pod({
          conditions: [
            {
              type: 'PodScheduled',
              status: 'False',
              reason: 'Unschedulable',
              message: "0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
            },
          ],
        }),
        now: T0 + 121_000,
      },
      {
        code: 'unschedulable',
        reason: 'Unschedulable',
        message:
          "the pod cannot be scheduled: 0/1 nodes are available: 1 node(s) didn't match Pod's node affinity/selector.",
      },
    ],
    [
      'OOMKilled',
      { pod: pod({ phase: 'Failed', terminated: { reason: 'OOMKilled', exitCode: 137 } }) },
      {
        code: 'oom-killed',
        reason: 'OOMKilled',
        exitCode: 137,
        message: 'container agent was killed: out of memory (limit 64Mi)',
      },
    ],
    [
      'DisruptionTarget (preemption)',
      {
        pod: pod({
          phase: 'Failed',
          conditions: [
            { type: 'DisruptionTarget', status: 'True', reason: 'PreemptionByScheduler', message: 'preempted' },
          ],
        }),
        job: job([{ type: 'Failed', reason: 'PodFailurePolicy' }]),
      },
      { code: 'evicted', reason: 'PreemptionByScheduler' },
    ],
    [
      'DisruptionTarget (node lost)',
      { pod: pod({ conditions: [{ type: 'DisruptionTarget', status: 'True', reason: 'DeletionByTaintManager' }] }) },
      { code: 'evicted', reason: 'DeletionByTaintManager' },
    ],
    ['kubelet eviction', { pod: pod({ phase: 'Failed', reason: 'Evicted' }) }, { code: 'evicted', reason: 'Evicted' }],
    [
      'deadline exceeded',
      {
        job: job([
          { type: 'Failed', reason: 'DeadlineExceeded', message: 'Job was active longer than specified deadline' },
        ]),
        pod: pod({ running: true }),
      },
      { code: 'deadline-exceeded', reason: 'DeadlineExceeded', message: 'the run exceeded its deadline of 60s' },
    ],
    [
      'FailureTarget DeadlineExceeded (early)',
      { job: job([{ type: 'FailureTarget', reason: 'DeadlineExceeded' }]) },
      { code: 'deadline-exceeded' },
    ],
    [
      'non-zero exit',
      { pod: pod({ phase: 'Failed', terminated: { reason: 'Error', exitCode: 3, message: 'line1\nboom' } }) },
      { code: 'exit-code', exitCode: 3, message: 'container agent exited with code 3: boom' },
    ],
    [
      'exit 0 pod succeeded',
      { pod: pod({ phase: 'Succeeded', terminated: { reason: 'Completed', exitCode: 0 } }) },
      { code: 'succeeded', exitCode: 0 },
    ],
    [
      'Job failed without a container ever running',
      {
        job: job([
          { type: 'Failed', reason: 'BackoffLimitExceeded', message: 'Job has reached the specified backoff limit' },
        ]),
      },
      { code: 'never-started', reason: 'BackoffLimitExceeded' },
    ],
    [
      'deleted by us, container still in its grace period: not over yet',
      { jobDeleted: true, cancelRequested: true, pod: pod({ running: true }), deletionSeenAt: T0 },
      null,
    ],
    [
      'deleted by us, pod gone',
      { jobDeleted: true, cancelRequested: true, pod: pod({ running: true }), podDeleted: true },
      { code: 'cancelled' },
    ],
    [
      'deleted by us, pod still there past its grace period plus 60 s (orphaned)',
      { jobDeleted: true, cancelRequested: true, pod: pod({ running: true }), deletionSeenAt: T0 - 90_000 },
      { code: 'cancelled' },
    ],
    [
      'Job marked for foreground deletion, no pod seen: waits for the Job to go',
      { job: job([], { deletionTimestamp: new Date(T0) }), cancelRequested: true },
      null,
    ],
    [
      'cancel annotation read by a reattached watcher, container ended',
      {
        job: job([], { deletionTimestamp: new Date(T0) }),
        cancelRequested: true,
        pod: pod({ terminated: { exitCode: 143, reason: 'Error' } }),
      },
      { code: 'cancelled', exitCode: 143 },
    ],
    [
      'deleted by someone else',
      { jobDeleted: true },
      { code: 'deleted-externally', message: 'job ck8s-a-r-1 was deleted before it finished' },
    ],
    ['deletion in flight after our cancel', { job: job(), cancelRequested: true }, null],
    ['completed, then deleted', { job: job([{ type: 'Complete' }]), jobDeleted: true }, { code: 'succeeded' }],
  ];

  it.each(cases)('%s', (_name, overrides, expected) => {
    const result = classifyJobOutcome(input(overrides));
    if (expected === null) expect(result).toBeNull();
    else {
      expect(result).toMatchObject(expected);
      expect(result?.message).not.toBe('');
    }
  });

  it('gives a hint for every failure and none for success or cancel', () => {
    expect(classifyJobOutcome(input({ job: job([{ type: 'Complete' }]) }))?.hint).toBeNull();
    expect(
      classifyJobOutcome(input({ pod: pod({ terminated: { reason: 'OOMKilled', exitCode: 137 } }) }))?.hint,
    ).toContain('resources.limits.memory');
  });
});
