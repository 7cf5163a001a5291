import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const packageDir = fileURLToPath(new URL('..', import.meta.url));

/** Path of a freshly built bundle, plus a disposer that deletes it. */
export interface BuiltBundles extends AsyncDisposable {
  /** The core as one ESM file (what `dist/index.js` holds). */
  esmPath: string;
  dir: string;
}

/**
 * Builds the browser-facing ESM bundle into a temporary folder with the options of `tsup.config.ts` (tsup drives
 * esbuild; the same `target`, `platform`, `format` and `define` are used here), so tests never depend on a stale
 * or concurrently rebuilt `dist/`.
 */
export async function buildBundles(): Promise<BuiltBundles> {
  const dir = mkdtempSync(join(tmpdir(), 'stream-json-bundles-'));
  const define = { __PACKAGE_VERSION__: JSON.stringify('0.0.0-bundle') };
  await build({
    entryPoints: [join(packageDir, 'src/index.ts')],
    outfile: join(dir, 'index.js'),
    bundle: true,
    format: 'esm',
    platform: 'neutral',
    target: 'es2022',
    define,
    logLevel: 'error',
  });
  return {
    dir,
    esmPath: join(dir, 'index.js'),
    [Symbol.asyncDispose]: () => {
      rmSync(dir, { recursive: true, force: true });
      return Promise.resolve();
    },
  };
}
