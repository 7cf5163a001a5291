import { readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { ERROR_CODES, LEGACY_KEY_MAPPINGS, parseAdapterConfig } from './index.ts';

const readme = readFileSync(fileURLToPath(new URL('../README.md', import.meta.url)), 'utf8');

describe('README', () => {
  it('documents every error code with its hint', () => {
    for (const [code, info] of Object.entries(ERROR_CODES)) expect(readme).toContain(`| \`${code}\` | ${info.hint} |`);
  });

  it('lists every predecessor key in the migration table', () => {
    for (const mapping of LEGACY_KEY_MAPPINGS) expect(readme).toContain(`| \`${mapping.key}\` |`);
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
    expect(result.success && result.value.retention).toEqual({ onSuccess: 'keep', onFailure: 'keep', keepFailedSeconds: 86_400 });
  });
});
