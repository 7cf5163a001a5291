import { describe, expect, it } from 'vitest';
import { buildContainerEnv, type ContainerEnvInput } from './container-env.ts';

const input: ContainerEnvInput = {
  config: { anthropicBaseUrl: undefined, anthropicApiKeySecret: { key: 'ANTHROPIC_API_KEY' }, env: {} },
  homePath: '/home/agent',
  paperclipEnv: [
    { name: 'PAPERCLIP_RUN_ID', value: 'r1' },
    { name: 'PAPERCLIP_API_KEY', fileKey: 'paperclip-api-key' },
  ],
};

describe('buildContainerEnv', () => {
  it("HOME and the CLI's switches first, then the Paperclip variables, then the API key reference", () => {
    const result = buildContainerEnv({
      ...input,
      config: {
        ...input.config,
        anthropicBaseUrl: 'https://proxy.example',
        anthropicApiKeySecret: { name: 'anthropic', key: 'api-key' },
      },
    });
    expect(result.env).toEqual([
      { name: 'HOME', value: '/home/agent' },
      { name: 'CLAUDE_CODE_DISABLE_NONESSENTIAL_TRAFFIC', value: '1' },
      { name: 'DISABLE_AUTOUPDATER', value: '1' },
      { name: 'ANTHROPIC_BASE_URL', value: 'https://proxy.example' },
      ...input.paperclipEnv,
      { name: 'ANTHROPIC_API_KEY', secretKeyRef: { name: 'anthropic', key: 'api-key' } },
    ]);
    expect(result.files).toEqual([]);
    expect(result.notes).toEqual([]);
  });

  it('config env: plain values go into the per-run Secret, references stay references', () => {
    const result = buildContainerEnv({
      ...input,
      config: {
        ...input.config,
        env: {
          FOO: { value: 'bar' },
          GH_TOKEN: { secretKeyRef: { name: 'gh', key: 'token' } },
          REGION: { configMapKeyRef: { name: 'settings', key: 'region' } },
        },
      },
    });
    expect(result.env.slice(-3)).toEqual([
      { name: 'FOO', fileKey: 'env-FOO' },
      { name: 'GH_TOKEN', secretKeyRef: { name: 'gh', key: 'token' } },
      { name: 'REGION', configMapKeyRef: { name: 'settings', key: 'region' } },
    ]);
    expect(result.files).toEqual([{ key: 'env-FOO', path: null, content: 'bar', sensitive: true }]);
  });

  it('drops host-only paths and names the adapter or Paperclip set, and lists them in one note', () => {
    const result = buildContainerEnv({
      ...input,
      config: {
        ...input.config,
        anthropicApiKeySecret: { name: 'anthropic', key: 'k' },
        env: {
          TMPDIR: { value: '/srv/tmp' },
          PAPERCLIP_RUNNER_NETWORK_MODE: { value: 'x' },
          HOME: { value: '/root' },
          PAPERCLIP_RUN_ID: { value: 'spoof' },
          PAPERCLIP_API_KEY: { value: 'spoof' },
          ANTHROPIC_API_KEY: { value: 'plain-key' },
          KEEP: { value: 'yes' },
        },
      },
    });
    expect(result.env.filter((entry) => entry.name === 'PAPERCLIP_RUN_ID')).toEqual([
      { name: 'PAPERCLIP_RUN_ID', value: 'r1' },
    ]);
    expect(result.files.map((file) => file.key)).toEqual(['env-KEEP']);
    expect(result.notes).toEqual([
      'env not passed to the pod (set by the adapter, or paths of the Paperclip host): ANTHROPIC_API_KEY, HOME, PAPERCLIP_API_KEY, PAPERCLIP_RUNNER_NETWORK_MODE, PAPERCLIP_RUN_ID, TMPDIR',
    ]);
  });

  it('PAPERCLIP_API_KEY from the config is dropped even when Paperclip sent no token', () => {
    const result = buildContainerEnv({
      ...input,
      paperclipEnv: [],
      config: { ...input.config, env: { PAPERCLIP_API_KEY: { value: 'x' } } },
    });
    expect(result.env.map((entry) => entry.name)).not.toContain('PAPERCLIP_API_KEY');
  });
});
