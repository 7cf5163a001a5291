/** The URL pods call Paperclip back at, and the rewrite of Paperclip URLs built from the server's loopback address. */
import type { AdapterConfig } from '../config-schema.ts';
import { isLoopbackUrl } from '../http-url.ts';

/** Resolves the URL pods use to reach Paperclip: config, else the server's non-loopback `PAPERCLIP_API_URL`. */
export function resolvePaperclipApiUrl(
  config: Pick<AdapterConfig, 'paperclipApiUrl'>,
  serverEnv: Readonly<Record<string, string | undefined>>,
): string | null {
  if (config.paperclipApiUrl !== undefined) return config.paperclipApiUrl.replace(/\/+$/, '');
  for (const name of ['PAPERCLIP_API_URL', 'PAPERCLIP_RUNTIME_API_URL']) {
    const value = serverEnv[name];
    if (value !== undefined && value.trim() !== '' && !isLoopbackUrl(value)) return value.trim().replace(/\/+$/, '');
  }
  return null;
}

/** Points a Paperclip URL built from the server's loopback address at `apiUrl` (keeping path and query). */
export function rewritePaperclipUrl(url: string, apiUrl: string): string {
  if (!isLoopbackUrl(url)) return url;
  const source = new URL(url);
  const target = new URL(apiUrl);
  const prefix = target.pathname.replace(/\/+$/, '');
  return `${target.origin}${prefix}${source.pathname}${source.search}`;
}
