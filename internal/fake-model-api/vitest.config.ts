import { defineConfig, mergeConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.ts';

export default mergeConfig(
  sharedTestConfig,
  defineConfig({
    // Installs the real Claude Code CLI for the *.cli.test.ts files (scripts/ensure-claude-cli.sh).
    test: { globalSetup: ['./src/test/ensure-claude-cli.global-setup.ts'] },
  }),
);
