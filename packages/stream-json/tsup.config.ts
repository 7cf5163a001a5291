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
    clean: true,
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
  // The classic-script UI parser for Paperclip's UI worker (spec §4.2): one IIFE, no imports, assigns onto
  // `exports` / `module.exports`. Everything is bundled in on purpose (it must be dependency-free).
  {
    entry: { 'ui-parser': 'src/ui-parser.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'es2022',
    platform: 'browser',
    minify: false,
    define,
  },
]);
