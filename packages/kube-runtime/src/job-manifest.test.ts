import { dumpYaml, type V1Job } from '@kubernetes/client-node';
import { describe, expect, it } from 'vitest';
import {
  buildJobManifest,
  buildRunSecret,
  InvalidRunInputError,
  SECRET_SIZE_LIMIT,
  type JobManifestInput,
} from './internal.ts';

const minimal: JobManifestInput = {
  namespace: 'agents',
  runId: 'run-42',
  agentId: 'agent-7',
  runtimeId: 'paperclip',
  image: 'localhost/claude-k8s-agent:dev',
  command: ['claude', '--print', '--output-format', 'stream-json'],
  timeoutSeconds: 600,
  files: { 'prompt.md': 'Fix the bug.\n' },
};

const full: JobManifestInput = {
  ...minimal,
  runId: 'Run 42 / ünïcode',
  agentId: 'Agent.With_Odd/Chars',
  imagePullPolicy: 'Never',
  imagePullSecrets: ['registry'],
  args: ['--verbose'],
  workingDir: '/workspace',
  env: [
    { name: 'MODEL', value: 'claude-sonnet' },
    { name: 'ANTHROPIC_API_KEY', secretKeyRef: { name: 'anthropic', key: 'api-key' } },
    { name: 'SETTINGS', configMapKeyRef: { name: 'claude-settings', key: 'settings.json', optional: true } },
    { name: 'PAPERCLIP_TOKEN', fileKey: 'token' },
    { name: 'POD_NAME', fieldPath: 'metadata.name' },
  ],
  envFrom: [{ secretRef: { name: 'inherited-env' } }],
  files: { 'prompt.md': 'Fix the bug.\n', token: 's3cr3t-token-value' },
  envOnlyFileKeys: ['token'],
  session: { claimName: 'sessions', mountPath: '/home/agent', subPath: 'agent-7' },
  resources: { requests: { cpu: '500m', memory: '512Mi' }, limits: { memory: '2Gi' } },
  nodeSelector: { pool: 'agents' },
  tolerations: [{ key: 'agents', operator: 'Exists', effect: 'NoSchedule' }],
  affinity: {
    nodeAffinity: {
      preferredDuringSchedulingIgnoredDuringExecution: [
        { weight: 1, preference: { matchExpressions: [{ key: 'zone', operator: 'In', values: ['a'] }] } },
      ],
    },
  },
  runtimeClassName: 'gvisor',
  priorityClassName: 'agent-runs',
  serviceAccountName: 'agent-runner',
  hostNetwork: true,
  runAsUser: 1001,
  volumes: [{ name: 'tools', configMap: { name: 'tools' } }],
  volumeMounts: [{ name: 'tools', mountPath: '/opt/tools', readOnly: true }],
  labels: { team: 'core' },
  annotations: { 'example.com/note': 'hello' },
  podSpecPatch: { hostAliases: [{ ip: '127.0.0.1', hostnames: ['model.local'] }] },
  ttlSecondsAfterFinished: 3600,
  terminationGracePeriodSeconds: 20,
};

function pod(job: V1Job) {
  const spec = job.spec?.template.spec;
  if (spec === undefined) throw new Error('no pod spec');
  return spec;
}

describe('buildJobManifest', () => {
  it('matches the golden manifest of a minimal run', async () => {
    await expect(dumpYaml(buildJobManifest(minimal))).toMatchFileSnapshot('__snapshots__/job-minimal.yaml');
  });

  it('matches the golden manifest of a fully configured run', async () => {
    await expect(dumpYaml(buildJobManifest(full))).toMatchFileSnapshot('__snapshots__/job-full.yaml');
  });

  it('matches the golden per-run Secret', async () => {
    await expect(dumpYaml(buildRunSecret(full, { jobName: 'ck8s-x', jobUid: 'uid-1' }))).toMatchFileSnapshot(
      '__snapshots__/secret-full.yaml',
    );
  });

  it('sets every restricted Pod Security field', () => {
    const spec = pod(buildJobManifest(minimal));
    const container = spec.containers[0];
    expect(spec.securityContext?.runAsNonRoot).toBe(true);
    expect(spec.securityContext?.runAsUser).toBe(1000);
    expect(spec.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container?.securityContext?.runAsNonRoot).toBe(true);
    expect(container?.securityContext?.allowPrivilegeEscalation).toBe(false);
    expect(container?.securityContext?.privileged).toBe(false);
    expect(container?.securityContext?.capabilities).toEqual({ drop: ['ALL'] });
    expect(container?.securityContext?.readOnlyRootFilesystem).toBe(true);
    expect(container?.securityContext?.seccompProfile).toEqual({ type: 'RuntimeDefault' });
    expect(container?.volumeMounts).toContainEqual({ name: 'writable-0', mountPath: '/tmp' });
    expect(spec.automountServiceAccountToken).toBe(false);
    expect(spec.enableServiceLinks).toBe(false);
    expect(spec.hostNetwork).toBeUndefined();
  });

  it('sets the Job lifecycle fields', () => {
    const job = buildJobManifest(minimal);
    expect(pod(job).restartPolicy).toBe('Never');
    expect(job.spec?.backoffLimit).toBe(0);
    expect(job.spec?.activeDeadlineSeconds).toBe(600);
    expect(job.spec?.ttlSecondsAfterFinished).toBe(86_400);
    expect(job.spec?.suspend).toBe(true);
    expect(job.spec?.podFailurePolicy?.rules[0]).toEqual({
      action: 'FailJob',
      onPodConditions: [{ type: 'DisruptionTarget', status: 'True' }],
    });
    expect(buildJobManifest({ ...minimal, timeoutSeconds: 0 }).spec?.activeDeadlineSeconds).toBeUndefined();
  });

  it('never puts a secret as a plain value: file-backed and secret env are references', () => {
    const job = buildJobManifest(full);
    const text = JSON.stringify(job);
    expect(text).not.toContain('s3cr3t-token-value');
    const env = pod(job).containers[0]?.env ?? [];
    expect(env.find((variable) => variable.name === 'PAPERCLIP_TOKEN')).toEqual({
      name: 'PAPERCLIP_TOKEN',
      valueFrom: { secretKeyRef: { name: job.metadata?.name, key: 'token' } },
    });
    expect(env.find((variable) => variable.name === 'ANTHROPIC_API_KEY')?.value).toBeUndefined();
  });

  it('delivers files through the per-run Secret volume only (no env, args or init container)', () => {
    const job = buildJobManifest(full);
    const spec = pod(job);
    expect(spec.initContainers).toBeUndefined();
    expect(spec.volumes).toContainEqual({
      name: 'run-files',
      secret: { secretName: job.metadata?.name, defaultMode: 0o440, items: [{ key: 'prompt.md', path: 'prompt.md' }] },
    });
    expect(spec.containers[0]?.volumeMounts).toContainEqual({
      name: 'run-files',
      mountPath: '/run/claude-k8s/files',
      readOnly: true,
    });
    expect(JSON.stringify(spec.containers[0]?.args)).not.toContain('Fix the bug');
  });

  it('names the Job deterministically and DNS-safely, keeping the raw ids in annotations', () => {
    const a = buildJobManifest(full);
    const b = buildJobManifest(full);
    const name = a.metadata?.name ?? '';
    expect(name).toBe(b.metadata?.name);
    expect(name).toMatch(/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/);
    expect(name.length).toBeLessThanOrEqual(52);
    expect(a.metadata?.annotations?.['claude-k8s.io/run-id']).toBe('Run 42 / ünïcode');
    for (const value of Object.values(a.metadata?.labels ?? {}))
      expect(value).toMatch(/^([A-Za-z0-9][-A-Za-z0-9_.]{0,61}[A-Za-z0-9]|[A-Za-z0-9]?)$/);
    expect(buildJobManifest({ ...full, runId: 'run-43' }).metadata?.name).not.toBe(name);
  });

  it('mounts the session volume as HOME', () => {
    const spec = pod(buildJobManifest(full));
    expect(spec.containers[0]?.env).toContainEqual({ name: 'HOME', value: '/home/agent' });
    expect(spec.volumes).toContainEqual({ name: 'session', persistentVolumeClaim: { claimName: 'sessions' } });
    expect(spec.containers[0]?.volumeMounts).toContainEqual({
      name: 'session',
      mountPath: '/home/agent',
      subPath: 'agent-7',
    });
  });

  it('applies the pod spec patch last', () => {
    const spec = pod(
      buildJobManifest({
        ...minimal,
        podSpecPatch: { enableServiceLinks: true, hostAliases: [{ ip: '1.2.3.4', hostnames: ['x'] }] },
      }),
    );
    expect(spec.enableServiceLinks).toBe(true);
    expect(spec.hostAliases).toEqual([{ ip: '1.2.3.4', hostnames: ['x'] }]);
  });

  it('accepts files of any characters up to the Secret limit and rejects beyond it with a clear error', () => {
    const binary = new Uint8Array([0, 255, 10, 13, 0xf0, 0x9f]);
    const secret = buildRunSecret(
      { ...minimal, files: { 'prompt.md': 'ü\u0000\r\n😀', 'blob.bin': binary } },
      { jobName: 'j', jobUid: 'u' },
    );
    expect(Buffer.from(secret.data?.['prompt.md'] ?? '', 'base64').toString('utf8')).toBe('ü\u0000\r\n😀');
    expect([...Buffer.from(secret.data?.['blob.bin'] ?? '', 'base64')]).toEqual([...binary]);
    expect(secret.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Job', name: 'j', uid: 'u' });

    const atLimit = 'x'.repeat(SECRET_SIZE_LIMIT - 'prompt.md'.length);
    expect(() => buildJobManifest({ ...minimal, files: { 'prompt.md': atLimit } })).not.toThrow();
    const over = () => buildJobManifest({ ...minimal, files: { 'prompt.md': `${atLimit}x` } });
    expect(over).toThrow(InvalidRunInputError);
    expect(over).toThrow(/^files: 1048577 bytes in total exceed the per-run Secret limit of 1048576 bytes/);
  });

  it('rejects invalid input with the path of the field', () => {
    expect(() => buildJobManifest({ ...minimal, files: { '../etc': 'x' } })).toThrow(
      'files.../etc: a file name must match',
    );
    expect(() => buildJobManifest({ ...minimal, command: [] })).toThrow('command: must not be empty');
    expect(() => buildJobManifest({ ...minimal, env: [{ name: 'X', fileKey: 'nope' }] })).toThrow(
      'env[0].fileKey: no file nope in files',
    );
    expect(() => buildJobManifest({ ...minimal, labels: { 'claude-k8s.io/run-id': 'x' } })).toThrow('reserved');
    expect(() => buildJobManifest({ ...minimal, annotations: { 'claude-k8s.io/cancel-requested': 'x' } })).toThrow(
      "annotations.claude-k8s.io/cancel-requested: this annotation carries the runtime's own state",
    );
  });

  it('puts the configured annotations on the pod template too (issue 15)', () => {
    const job = buildJobManifest({
      ...minimal,
      annotations: { 'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false', 'sidecar.istio.io/inject': 'false' },
    });
    expect(job.spec?.template.metadata?.annotations).toMatchObject({
      'cluster-autoscaler.kubernetes.io/safe-to-evict': 'false',
      'sidecar.istio.io/inject': 'false',
      'claude-k8s.io/run-id': minimal.runId,
    });
  });

  it('bounds the writable /tmp by a sizeLimit, 1Gi unless given (null: unbounded)', () => {
    const tmp = (input: Partial<typeof minimal>) =>
      pod(buildJobManifest({ ...minimal, ...input })).volumes?.find((volume) => volume.name === 'writable-0');
    expect(tmp({})?.emptyDir).toEqual({ sizeLimit: '1Gi' });
    expect(tmp({ writableSizeLimit: '256Mi' })?.emptyDir).toEqual({ sizeLimit: '256Mi' });
    expect(tmp({ writableSizeLimit: null })?.emptyDir).toEqual({});
  });
});
