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
