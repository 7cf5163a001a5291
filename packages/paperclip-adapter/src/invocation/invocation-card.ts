/**
 * The invocation card of an attempt (Paperclip's `onMeta`): command, env, prompt, notes and where the run went, with
 * every secret shown as a reference only.
 */
import type { AdapterInvocationMeta } from '@paperclipai/adapter-utils';
import type { RunInvocation } from '../build-invocation.ts';
import type { EnvVarSpec } from '../ports.ts';
import { RUN_FILE, runFilePath } from './pod-layout.ts';
import { byteLength } from './run-files.ts';

/** Renders an env entry for display: plain values as is, everything else as a reference, never a secret value. */
export function describeEnvVar(entry: EnvVarSpec): string {
  if ('value' in entry) return entry.value;
  if ('runFileKey' in entry) return `<per-run Secret key ${entry.runFileKey}>`;
  if ('secretKeyRef' in entry) return `<Secret ${entry.secretKeyRef.name} key ${entry.secretKeyRef.key}>`;
  return `<ConfigMap ${entry.configMapKeyRef.name} key ${entry.configMapKeyRef.key}>`;
}

/** The `onMeta` payload of an attempt: the invocation's notes, then one line on the Job it started. */
export function buildInvocationMeta(
  invocation: RunInvocation,
  started: { jobName: string; namespace: string; attempt: number },
): AdapterInvocationMeta {
  const env: Record<string, string> = {};
  for (const entry of invocation.request.container.env) env[entry.name] = describeEnvVar(entry);
  return {
    adapterType: 'claude_k8s',
    command: 'claude',
    cwd: invocation.sessionTarget.cwd,
    commandArgs: invocation.claudeArgs.slice(1),
    commandNotes: [
      ...invocation.notes,
      `Job ${started.namespace}/${started.jobName} (attempt ${started.attempt}), image ${invocation.request.container.image}; prompt read from ${runFilePath(RUN_FILE.prompt)} on stdin`,
    ],
    env,
    prompt: invocation.prompt.text,
    promptMetrics: invocation.prompt.metrics,
    context: {
      namespace: started.namespace,
      jobName: started.jobName,
      attempt: started.attempt,
      image: invocation.request.container.image,
      home: invocation.request.home,
      resumedSessionId: invocation.resume.resume ? invocation.resume.sessionId : null,
      files: invocation.request.files.entries.map((file) => ({
        key: file.key,
        path: file.path,
        bytes: byteLength(file.content),
        sensitive: file.sensitive,
      })),
      paperclipApiUrl: invocation.paperclipApiUrl,
    },
  };
}
