import { defineConfig } from 'vitest/config';
import { tierTestConfig } from '../../vitest.shared.ts';

export default defineConfig(
  tierTestConfig({ include: ['src/**/*.e2e.test.ts'], testTimeout: 300_000, hookTimeout: 600_000 }),
);
