// The transfer beside a run, with scripted faults of the exec and of the run's handle: what the report, the log and the
// run's result say.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PodExecError } from '@claude-k8s/kube-runtime';
import type { AdapterExecutionResult } from '@paperclipai/adapter-utils';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import type { TransferTarget } from '../invocation/workspace.ts';
import {
  applyTransferToResult,
  describeTransfer,
  startRunTransfer,
  type TransferExec,
  type TransferHandle,
} from './run-transfer.ts';

let root: string;
let target: TransferTarget;

beforeEach(() => {
  root = mkdtempSync(join(tmpdir(), 'run-transfer-test-'));
  const host = join(root, 'host');
  mkdirSync(host);
  execFileSync('git', ['init', '-q', '-b', 'main'], { cwd: host });
  writeFileSync(join(host, 'a.txt'), 'a\n');
  execFileSync('git', ['-c', 'user.name=t', '-c', 'user.email=t@e', 'commit', '-qm', 'a', '--allow-empty'], {
    cwd: host,
  });
  target = { kind: 'git', hostDir: host, podDir: join(root, 'pod'), controlDir: join(root, 'control') };
});
afterEach(() => rmSync(root, { recursive: true, force: true }));

function handleOf(podName: string | null, outcome: Promise<unknown> = new Promise(() => {})): TransferHandle {
  return { containerName: 'agent', containerStarted: Promise.resolve(podName), outcome };
}

const limits = { maxInMiB: 64, maxOutMiB: 16 };
const noLog = async (): Promise<void> => {};

function failedResult(): AdapterExecutionResult {
  return { exitCode: 0, signal: null, timedOut: false, resultJson: { workspace: { mode: 'transfer' } } };
}

describe('startRunTransfer', () => {
  it('does nothing when the container never started', async () => {
    const calls: string[][] = [];
    const exec: TransferExec = (input) => {
      calls.push([...input.command]);
      return Promise.reject(new Error('unexpected'));
    };
    const report = await startRunTransfer({ target, runId: 'r', handle: handleOf(null), exec, limits, log: noLog });
    expect(report).toMatchObject({ skipped: 'the container never started', error: null, copiedIn: null });
    expect(calls).toEqual([]);
  });

  it('an exec refused by RBAC fails the copy-in, tells the entry to give up, and names k8s_workspace_transfer', async () => {
    const commands: string[] = [];
    const exec: TransferExec = (input) => {
      commands.push(input.command.join(' '));
      return Promise.reject(
        new PodExecError('forbidden', 'exec in ns/pod/agent: this identity needs RBAC "create" on "pods/exec"', 403),
      );
    };
    const report = await startRunTransfer({ target, runId: 'r', handle: handleOf('pod-1'), exec, limits, log: noLog });
    expect(report.error?.trip).toBe('in');
    expect(report.error?.message).toContain('pods/exec');
    // The abort marker was attempted, so the entry ends instead of waiting 15 minutes.
    expect(commands.at(-1)).toContain(`${target.controlDir}/abort`);
    const result = failedResult();
    applyTransferToResult(result, report);
    expect(result.errorCode).toBe('k8s_workspace_transfer');
    expect(result.resultJson?.['workspace']).toMatchObject({
      mode: 'transfer',
      transfer: { error: { trip: 'in' }, bytesIn: null },
    });
    expect(describeTransfer(report, target)[0]).toContain('workspace transfer in failed');
  });

  it('a container that ends before reporting claude’s end loses the changes, and says so (the run keeps its own error)', async () => {
    const ended = Promise.withResolvers<unknown>();
    // The copy-in succeeds (every exec runs fine and prints nothing); then the wait for claude's end never answers.
    const exec: TransferExec = (input) => {
      if (input.command.some((part) => part.includes('exited'))) return new Promise(() => {});
      if (input.command.includes('snapshot') || input.command.some((part) => part.includes('ready')))
        return Promise.resolve({ exitCode: 0, stdout: new Uint8Array(), stdoutBytes: 0, stderr: '' });
      return Promise.resolve({ exitCode: 0, stdout: new Uint8Array(), stdoutBytes: 0, stderr: '' });
    };
    const pending = startRunTransfer({
      target,
      runId: 'r',
      handle: handleOf('pod-1', ended.promise),
      exec,
      limits,
      log: noLog,
    });
    setTimeout(() => ended.resolve({ code: 'oom-killed' }), 300);
    const report = await pending;
    expect(report.copiedIn).not.toBeNull();
    expect(report.error).toMatchObject({ trip: 'back' });
    expect(report.error?.message).toContain('the container ended before the changes could be collected');
    const result: AdapterExecutionResult = { ...failedResult(), exitCode: 137, errorCode: 'k8s_oom_killed' };
    applyTransferToResult(result, report);
    expect(result.errorCode).toBe('k8s_oom_killed');
    expect(result.resultJson?.['workspace']).toMatchObject({ transfer: { error: { trip: 'back' } } });
  });
});
