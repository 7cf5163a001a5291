import { describe, expect, it } from 'vitest';
import {
  InvalidRunInputError,
  JobFailedError,
  KubeApiError,
  KubeRuntimeError,
  LockHeldError,
  MissingConfigurationError,
  RunCancelledError,
  RunNotFoundError,
} from './kube-runtime-error.ts';

const samples = {
  KubeRuntimeError: new KubeRuntimeError('base'),
  KubeApiError: new KubeApiError(
    { verb: 'get', resource: 'jobs.batch', namespace: 'a', name: 'j' },
    { status: 404, reason: 'NotFound', message: 'not found' },
  ),
  InvalidRunInputError: new InvalidRunInputError('runId', 'must not be empty'),
  MissingConfigurationError: new MissingConfigurationError(['image'], 'start run'),
  LockHeldError: new LockHeldError('agent-1', 'run-2', 'lock-conflict'),
  RunNotFoundError: new RunNotFoundError('a', 'run-1'),
  RunCancelledError: new RunCancelledError('run-1', 'lock-wait'),
  JobFailedError: new JobFailedError('job', 'exit-code', 'exited', null, null),
};
const classes = {
  KubeRuntimeError,
  KubeApiError,
  InvalidRunInputError,
  MissingConfigurationError,
  LockHeldError,
  RunNotFoundError,
  RunCancelledError,
  JobFailedError,
};

describe('error markers: one per class', () => {
  for (const [className, errorClass] of Object.entries(classes)) {
    it(`${className}.isInstance is true only for its own instances (and the base class's for all)`, () => {
      for (const [sampleName, sample] of Object.entries(samples)) {
        const expected = className === 'KubeRuntimeError' || className === sampleName;
        expect({ sample: sampleName, matched: errorClass.isInstance(sample) }).toEqual({
          sample: sampleName,
          matched: expected,
        });
      }
    });
  }

  it('recognises an error of another installed copy (same global symbols, different class objects)', () => {
    const foreign = Object.assign(new Error('acquire lock of agent a: held by run b'), {
      [Symbol.for('claude-k8s.kube-runtime.error')]: true,
      [Symbol.for('claude-k8s.kube-runtime.LockHeldError')]: true,
      code: 'lock-conflict',
    });
    expect(foreign instanceof LockHeldError).toBe(false);
    expect(LockHeldError.isInstance(foreign)).toBe(true);
    expect(KubeRuntimeError.isInstance(foreign)).toBe(true);
    expect(KubeApiError.isInstance(foreign)).toBe(false);
  });

  it('is false for plain values and for look-alikes without the marker', () => {
    for (const value of [
      null,
      undefined,
      'LockHeldError',
      42,
      { holderRunId: 'x', code: 'lock-conflict' },
      new Error('x'),
    ])
      expect(LockHeldError.isInstance(value) || KubeRuntimeError.isInstance(value)).toBe(false);
  });
});
