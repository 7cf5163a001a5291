/**
 * The MCP config of a run: the agent's `mcpServers` plus the servers Paperclip manages for the run (their loopback
 * URLs pointed at the pod-reachable Paperclip URL), and the identity a stored session is matched against.
 */
import type { AdapterRuntimeMcpServer } from '@paperclipai/adapter-utils';
import type { AdapterConfig } from '../config-schema.ts';
import { isRecord } from '../raw-values.ts';
import { rewritePaperclipUrl } from './paperclip-api-url.ts';
import { sha256 } from './hash.ts';

/** The MCP config of a run. */
export interface McpConfig {
  /** The `--mcp-config` file's content; `null` when the run has no MCP server. */
  config: { mcpServers: Record<string, unknown> } | null;
  /** Hash of each server's name, type, URL, command and args (32 hex digits; no header, no token); `null` without servers. */
  identity: string | null;
  notes: string[];
}

/** Input of {@link buildMcpConfig}. */
export interface McpConfigInput {
  configured: AdapterConfig['mcpServers'];
  /** Paperclip-managed servers of the run (`ctx.runtimeMcp.getServers()`). */
  runtimeServers: readonly Pick<AdapterRuntimeMcpServer, 'name' | 'url' | 'token'>[];
  /** The pod-reachable Paperclip URL. */
  apiUrl: string;
}

/** Builds the MCP config; a Paperclip-managed server replaces a configured one of the same name (with a note). */
export function buildMcpConfig(input: McpConfigInput): McpConfig {
  const notes: string[] = [];
  const servers: Record<string, unknown> = {};
  for (const [name, server] of Object.entries(input.configured ?? {})) servers[name] = server;
  for (const server of input.runtimeServers) {
    if (server.name in servers)
      notes.push(
        `MCP server "${server.name}" from mcpServers is replaced by the Paperclip-managed server of the same name`,
      );
    servers[server.name] = {
      type: 'http',
      url: rewritePaperclipUrl(server.url, input.apiUrl),
      headers: { Authorization: `Bearer ${server.token}` },
    };
  }
  const names = Object.keys(servers).sort();
  if (names.length === 0) return { config: null, identity: null, notes };
  const identityParts = names.map((name) => {
    const server = servers[name];
    const record = isRecord(server) ? server : {};
    return JSON.stringify([
      name,
      record['type'] ?? null,
      record['url'] ?? null,
      record['command'] ?? null,
      record['args'] ?? null,
    ]);
  });
  return { config: { mcpServers: servers }, identity: sha256(...identityParts).slice(0, 32), notes };
}
