import { defineConfig } from 'tsup';
import packageJson from './package.json' with { type: 'json' };

export default defineConfig([
  {
    entry: ['src/index.ts', 'src/internal.ts'],
    format: ['esm'],
    dts: true,
    sourcemap: true,
    clean: true,
    target: 'node24',
    platform: 'node',
    define: { __PACKAGE_VERSION__: JSON.stringify(packageJson.version) },
  },
]);
