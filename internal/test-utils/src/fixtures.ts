import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';

/** Absolute path of a fixture file inside a package's `src/__fixtures__` folder. */
export function fixturePath(fixturesDir: string, name: string): string {
  return join(fixturesDir, name);
}

/** The raw bytes of a fixture. */
export function readFixture(fixturesDir: string, name: string): Uint8Array {
  return readFileSync(join(fixturesDir, name));
}

/** Fixture names ending with `suffix`, sorted. */
export function listFixtures(fixturesDir: string, suffix: string): string[] {
  return readdirSync(fixturesDir)
    .filter((name) => name.endsWith(suffix))
    .sort();
}
