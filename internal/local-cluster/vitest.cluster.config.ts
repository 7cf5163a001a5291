import { defineConfig } from 'vitest/config';
import { tierTestConfig } from '../../vitest.shared.ts';

export default defineConfig(
  tierTestConfig({ include: ['src/**/*.cluster.test.ts'], testTimeout: 240_000, hookTimeout: 120_000 }),
);
