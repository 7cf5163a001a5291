/** Checks of http(s) URLs in the configuration: well-formed, and whether a pod could reach the host at all. */

/** Checks an absolute http(s) URL. */
export function checkHttpUrl(value: string): string | null {
  try {
    const url = new URL(value);
    return url.protocol === 'http:' || url.protocol === 'https:' ? null : 'expected an http:// or https:// URL';
  } catch {
    return 'expected an absolute http:// or https:// URL';
  }
}

/** True when a URL's host is a loopback or unspecified address (not reachable from a pod). */
export function isLoopbackUrl(value: string): boolean {
  try {
    const host = new URL(value).hostname.replace(/^\[|\]$/g, '');
    return host === 'localhost' || host === '0.0.0.0' || host === '::' || host === '::1' || host.startsWith('127.');
  } catch {
    return false;
  }
}
