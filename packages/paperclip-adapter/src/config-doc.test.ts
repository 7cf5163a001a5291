import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { CONFIG_DOC_COMMAND, CONFIG_DOC_PATH, renderConfigurationDoc } from '../scripts/write-config-doc.ts';
import { getConfigSchema } from './config-schema.ts';

describe('docs/configuration.md', () => {
  const committed = readFileSync(CONFIG_DOC_PATH, 'utf8');

  it('is what the generator writes from CONFIG_SCHEMA today', () => {
    expect(
      committed === renderConfigurationDoc(),
      `docs/configuration.md is out of date: run ${CONFIG_DOC_COMMAND}`,
    ).toBe(true);
  });

  it('has a row for every field of the form schema', () => {
    for (const field of getConfigSchema().fields) expect(committed).toContain(`| \`${field.key}\` `);
  });
});
