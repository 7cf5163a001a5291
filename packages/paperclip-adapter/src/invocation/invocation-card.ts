/**
 * The invocation card of an attempt (Paperclip's `onMeta`): command, env, prompt, notes and where the run went, with
 * every secret shown as a reference only.
 */
import type { RunEnvVar } from '@claude-k8s/kube-runtime';
import type { AdapterInvocationMeta } from '@paperclipai/adapter-utils';
import type { RunInvocation } from '../build-invocation.ts';
import { listRunFiles } from './launch-request.ts';
import { RUN_FILE, runFilePath } from './pod-layout.ts';
import { byteLength } from './run-files.ts';

/** Renders an env entry for display: plain values as is, everything else as a reference, never a secret value. */
export function describeEnvVar(entry: RunEnvVar): string {
  if ('value' in entry) return entry.value;
  if ('fileKey' in entry) return `<per-run Secret key ${entry.fileKey}>`;
  if ('secretKeyRef' in entry) return `<Secret ${entry.secretKeyRef.name} key ${entry.secretKeyRef.key}>`;
  if ('configMapKeyRef' in entry) return `<ConfigMap ${entry.configMapKeyRef.name} key ${entry.configMapKeyRef.key}>`;
  return `<pod field ${entry.fieldPath}>`;
}

/** The `onMeta` payload of an attempt: the invocation's notes, then one line on the Job it started. */
export function buildInvocationMeta(
  invocation: RunInvocation,
  started: { jobName: string; namespace: string; attempt: number },
): AdapterInvocationMeta {
  const { spec } = invocation.launch;
  const image = spec.image ?? '';
  const env: Record<string, string> = {};
  for (const entry of spec.env ?? []) env[entry.name] = describeEnvVar(entry);
  return {
    adapterType: 'claude_k8s',
    command: 'claude',
    cwd: invocation.sessionTarget.cwd,
    commandArgs: invocation.claudeArgs.slice(1),
    commandNotes: [
      ...invocation.notes,
      `Job ${started.namespace}/${started.jobName} (attempt ${started.attempt}), image ${image}; prompt read from ${runFilePath(RUN_FILE.prompt)} on stdin`,
    ],
    env,
    prompt: invocation.prompt.text,
    promptMetrics: invocation.prompt.metrics,
    context: {
      namespace: started.namespace,
      jobName: started.jobName,
      attempt: started.attempt,
      image,
      home: { mountPath: spec.session?.mountPath, claimName: spec.session?.claimName },
      resumedSessionId: invocation.resume.resume ? invocation.resume.sessionId : null,
      files: listRunFiles(invocation.launch).map(({ key, path, content, sensitive }) => ({
        key,
        path,
        bytes: byteLength(content),
        sensitive,
      })),
      paperclipApiUrl: invocation.paperclipApiUrl,
    },
  };
}
