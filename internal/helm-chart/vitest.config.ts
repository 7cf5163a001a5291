import { defineConfig } from 'vitest/config';
import { sharedTestConfig } from '../../vitest.shared.ts';

// The first run builds Helm from the Go module proxy (scripts/ensure-helm.sh, minutes on 2 cores): long hook timeout.
export default defineConfig({
  ...sharedTestConfig,
  test: {
    ...sharedTestConfig.test,
    testTimeout: 60_000,
    hookTimeout: 900_000,
  },
});
