import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES } from './error-codes.ts';
import { LEGACY_KEY_MAPPINGS } from './legacy-config.ts';
import { parseAdapterConfig } from './config-schema.ts';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

/** The rows of every Markdown table in the README, as trimmed cells (formatting and padding do not matter). */
const tableRows: string[][] = readme
  .split('\n')
  .filter((line) => line.trim().startsWith('|'))
  .map((line) =>
    line
      .trim()
      .replace(/^\||\|$/g, '')
      .split(/(?<!\\)\|/)
      .map((cell) => cell.trim()),
  );

describe('README', () => {
  it('documents every error code with its hint', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) {
      expect(tableRows).toContainEqual(expect.arrayContaining([`\`${code}\``, info.hint]));
    }
  });

  it('lists every predecessor key in the migration table', () => {
    for (const mapping of LEGACY_KEY_MAPPINGS) expect(tableRows.map((row) => row[0])).toContain(`\`${mapping.key}\``);
  });

  it("has an example configuration that parses, with the predecessor key's warning", () => {
    const result = parseAdapterConfig({
      image: 'registry.example/claude-code:2.1.331',
      namespace: 'agents',
      paperclipApiUrl: 'http://paperclip.paperclip.svc:3100',
      anthropicApiKeySecret: { name: 'anthropic-api-key' },
      sessionVolume: { claimName: 'claude-sessions' },
      'resources.limits.memory': '4Gi',
      retainJobs: true,
    });
    expect(readme).toContain("'resources.limits.memory': '4Gi',");
    expect(result.success && result.value.retention).toEqual({
      onSuccess: 'keep',
      onFailure: 'keep',
      keepFailedSeconds: 86_400,
    });
  });
});
