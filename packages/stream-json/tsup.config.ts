import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };

const define = { __PACKAGE_VERSION__: JSON.stringify(packageJson.version) };

export default defineConfig([
  // The core: pure, runs in browsers and Node.js.
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // No `clean`: the entries build in parallel and a clean in one could delete another's output; the build script empties dist first.
    target: 'es2022',
    platform: 'neutral',
    define,
  },
  // The `claude-stream-json` bin. The core is bundled in on purpose, so the bin is one file.
  {
    entry: ['src/cli.ts'],
    format: ['esm'],
    sourcemap: true,
    target: 'node24',
    platform: 'node',
    banner: { js: '#!/usr/bin/env node' },
    define,
  },
]);
