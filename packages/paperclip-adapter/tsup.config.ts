import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };

const define = { __PACKAGE_VERSION__: JSON.stringify(packageJson.version) };

export default defineConfig([
  {
    entry: ['src/index.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    // No `clean`: the entries build in parallel; the build script empties dist first.
    target: 'node24',
    platform: 'node',
    define,
  },
  // The UI transcript parser Paperclip's UI worker evaluates (a plain script, no imports): stream-json's transcript
  // mapping is bundled in on purpose, since the file must be dependency-free.
  {
    entry: { 'ui-parser': 'src/ui-parser.ts' },
    format: ['iife'],
    outExtension: () => ({ js: '.cjs' }),
    target: 'es2022',
    platform: 'browser',
    noExternal: ['@claude-k8s/stream-json'],
    define,
  },
]);
