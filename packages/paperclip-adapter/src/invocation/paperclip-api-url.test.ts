import { describe, expect, it } from 'vitest';
import { resolvePaperclipApiUrl, rewritePaperclipUrl } from './paperclip-api-url.ts';

describe('resolvePaperclipApiUrl', () => {
  it('takes the config first, without trailing slashes', () => {
    expect(resolvePaperclipApiUrl({ paperclipApiUrl: 'https://pc.example/' }, { PAPERCLIP_API_URL: 'http://x' })).toBe(
      'https://pc.example',
    );
  });

  it("falls back to the server's non-loopback PAPERCLIP_API_URL, then PAPERCLIP_RUNTIME_API_URL", () => {
    const none = { paperclipApiUrl: undefined };
    expect(resolvePaperclipApiUrl(none, { PAPERCLIP_API_URL: ' http://paperclip.svc:3100/ ' })).toBe(
      'http://paperclip.svc:3100',
    );
    expect(
      resolvePaperclipApiUrl(none, {
        PAPERCLIP_API_URL: 'http://127.0.0.1:3100',
        PAPERCLIP_RUNTIME_API_URL: 'http://pc.svc',
      }),
    ).toBe('http://pc.svc');
    expect(resolvePaperclipApiUrl(none, { PAPERCLIP_API_URL: 'http://localhost:3100' })).toBeNull();
    expect(resolvePaperclipApiUrl(none, {})).toBeNull();
  });
});

describe('rewritePaperclipUrl', () => {
  it('rewrites loopback URLs onto the pod-reachable base, keeping path and query', () => {
    expect(rewritePaperclipUrl('http://localhost:3100/mcp/runtime-tools?t=1', 'https://pc.example/base')).toBe(
      'https://pc.example/base/mcp/runtime-tools?t=1',
    );
    expect(rewritePaperclipUrl('https://other.example/x', 'https://pc.example')).toBe('https://other.example/x');
  });
});
