/** A raw API answer (no throw on non-2xx). */
export interface ApiAnswer<T> {
  status: number;
  body: T;
}

/**
 * One call of an HTTP JSON API (Paperclip's) that does not throw on a non-2xx answer: the status, and the body parsed
 * as JSON, or its text when it is not JSON. `fetchImpl` adds what the caller needs (a session cookie); 30 s at most.
 */
export async function callApi<T = Record<string, unknown>>(
  url: string,
  method: string,
  body?: unknown,
  fetchImpl: typeof fetch = fetch,
): Promise<ApiAnswer<T>> {
  const response = await fetchImpl(url, {
    method,
    ...(body === undefined ? {} : { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } }),
    signal: AbortSignal.timeout(30_000),
  });
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = JSON.parse(text);
  } catch {
    // not JSON: the text
  }
  return { status: response.status, body: parsed as T };
}
