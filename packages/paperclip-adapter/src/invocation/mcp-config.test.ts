import { describe, expect, it } from 'vitest';
import { buildMcpConfig } from './mcp-config.ts';

const apiUrl = 'http://paperclip.svc:3100';
const managed = { name: 'paperclip', url: 'http://127.0.0.1:3100/api/mcp?x=1', token: 'secret-token' };

describe('buildMcpConfig', () => {
  it('no servers: no file, no identity', () => {
    expect(buildMcpConfig({ configured: undefined, runtimeServers: [], apiUrl })).toEqual({
      config: null,
      identity: null,
      notes: [],
    });
  });

  it('adds Paperclip-managed servers at the pod-reachable URL with their token, replacing a namesake with a note', () => {
    const mcp = buildMcpConfig({
      configured: { paperclip: { type: 'http', url: 'https://old' }, docs: { type: 'http', url: 'https://docs' } },
      runtimeServers: [managed],
      apiUrl,
    });
    expect(mcp.config?.mcpServers).toEqual({
      docs: { type: 'http', url: 'https://docs' },
      paperclip: {
        type: 'http',
        url: 'http://paperclip.svc:3100/api/mcp?x=1',
        headers: { Authorization: 'Bearer secret-token' },
      },
    });
    expect(mcp.notes).toEqual([
      'MCP server "paperclip" from mcpServers is replaced by the Paperclip-managed server of the same name',
    ]);
  });

  it('the identity follows names, types, URLs and commands, not tokens', () => {
    const identity = (token: string, url = managed.url): string | null =>
      buildMcpConfig({ configured: undefined, runtimeServers: [{ ...managed, token, url }], apiUrl }).identity;
    expect(identity('one')).toMatch(/^[0-9a-f]{32}$/);
    expect(identity('two')).toBe(identity('one'));
    expect(identity('one', 'http://127.0.0.1:3100/api/other')).not.toBe(identity('one'));
  });
});
