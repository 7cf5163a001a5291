/** Checks of http(s) URLs in the configuration: well-formed, and whether a pod could reach the host at all. */

/**
 * Checks an absolute http(s) URL. A URL with userinfo (`https://user:pass@host`) is refused: it would land as a plain
 * env value in the Job spec. The message never repeats the URL, so a password in it is not printed.
 */
export function checkHttpUrl(value: string): string | null {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    return 'expected an absolute http:// or https:// URL';
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') return 'expected an http:// or https:// URL';
  if (url.username !== '' || url.password !== '')
    return 'credentials in the URL (user:password@) are refused: they would be stored in plain text in the Job spec; give the credential through a Secret (envRefs with secretKeyRef) instead';
  return null;
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
