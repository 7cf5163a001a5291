import { defineConfig } from 'vitest/config';
import { tierTestConfig } from '../../vitest.shared.ts';

// The cluster tier runs as root (the local cluster needs it), so the tests that need root to create and switch to
// the Paperclip service user live here: `*.cluster.test.ts`. The unit tier runs as the ordinary user.
export default defineConfig(tierTestConfig({ include: ['src/**/*.cluster.test.ts'] }));
