import { defaultServerConditions } from 'vite';
import { configDefaults, type ViteUserConfig } from 'vitest/config';

const conditions = ['@claude-k8s/source', ...defaultServerConditions];

/** Shared Vitest settings: the source condition (tests never wait for a build), restored mocks. */
export const sharedTestConfig: ViteUserConfig = {
  resolve: { conditions },
  ssr: { resolve: { conditions } },
  test: {
    restoreMocks: true,
    passWithNoTests: false,
    exclude: [
      ...configDefaults.exclude,
      '**/*.cluster.test.ts',
      '**/*.e2e.test.ts',
      '**/dist/**',
      '**/__fixtures__/**',
    ],
    testTimeout: 20_000,
  },
};

/** What a slow tier (cluster, e2e) sets on top of the shared settings. */
export interface TierTestOptions {
  /** The tier's files, e.g. `src/**\/*.cluster.test.ts` (the shared settings exclude them from the unit tier). */
  include: string[];
  /** Milliseconds per test; the shared 20 s when not given. */
  testTimeout?: number;
  /** Milliseconds per hook (`beforeAll` starting a cluster or a stack); Vitest's default (10 s) when not given. */
  hookTimeout?: number;
}

/**
 * Settings of a tier that runs against real infrastructure (`vitest.cluster.config.ts`, `vitest.e2e.config.ts`):
 * the shared settings, only the tier's files, one file at a time (the files share one cluster and its ports).
 */
export function tierTestConfig(options: TierTestOptions): ViteUserConfig {
  return {
    ...sharedTestConfig,
    test: {
      ...sharedTestConfig.test,
      include: options.include,
      exclude: ['**/node_modules/**'],
      ...(options.testTimeout === undefined ? {} : { testTimeout: options.testTimeout }),
      ...(options.hookTimeout === undefined ? {} : { hookTimeout: options.hookTimeout }),
      fileParallelism: false,
    },
  };
}
