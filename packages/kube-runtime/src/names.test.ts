import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { jobNameFor, labelValue, leaseNameFor } from './internal.ts';

const DNS_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const LABEL_VALUE = /^(?:[A-Za-z0-9](?:[-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?)?$/;

describe('names', () => {
  it('Job and Lease names are DNS-safe, short and deterministic for any ids', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), fc.string({ unit: 'grapheme' }), (agentId, runId) => {
        const name = jobNameFor(agentId, runId);
        expect(name).toMatch(DNS_LABEL);
        expect(name.length).toBeLessThanOrEqual(52);
        expect(jobNameFor(agentId, runId)).toBe(name);
        expect(leaseNameFor(agentId)).toMatch(DNS_LABEL);
        expect(leaseNameFor(agentId).length).toBeLessThanOrEqual(63);
      }),
    );
  });

  it('distinct runs get distinct names even when their slugs collide', () => {
    expect(jobNameFor('a', 'Run/1')).not.toBe(jobNameFor('a', 'run-1'));
  });

  it('label values are valid for any id, raw when already valid', () => {
    fc.assert(
      fc.property(fc.string({ unit: 'grapheme' }), (id) => {
        expect(labelValue(id)).toMatch(LABEL_VALUE);
      }),
    );
    expect(labelValue('run-42')).toBe('run-42');
  });
});
