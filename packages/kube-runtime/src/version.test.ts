import { describe, expect, it } from 'vitest';
import { VERSION } from './version.ts';

describe('VERSION', () => {
  it('falls back to the test version when running from source', () => {
    expect(VERSION).toBe('0.0.0-test');
  });
});
