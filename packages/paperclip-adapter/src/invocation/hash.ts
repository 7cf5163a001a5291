/** The hash behind the session-matching keys (prompt bundle, MCP server identity). */
import { createHash } from 'node:crypto';

/** SHA-256 of the parts, each followed by a NUL byte; hex. */
export function sha256(...parts: (string | Uint8Array)[]): string {
  const hash = createHash('sha256');
  for (const part of parts) {
    hash.update(part);
    hash.update('\0');
  }
  return hash.digest('hex');
}
