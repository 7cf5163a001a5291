import { expect, it } from 'vitest';
import { chunksOf } from '@claude-k8s/test-utils';
import { VERSION } from '@claude-k8s/stream-json';

it('splits', () => {
  expect(chunksOf(new TextEncoder().encode(VERSION), 1).length).toBeGreaterThan(0);
});
