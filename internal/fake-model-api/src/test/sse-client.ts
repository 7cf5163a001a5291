/** One parsed server-sent event. */
export interface ParsedSseEvent {
  event: string;
  data: Record<string, unknown>;
}

/** Parse a whole SSE body (`event:`/`data:` lines, blank-line separated) into events with JSON data. */
export function parseSseBody(body: string): ParsedSseEvent[] {
  const events: ParsedSseEvent[] = [];
  for (const frame of body.split('\n\n')) {
    if (frame.trim() === '') continue;
    let event = 'message';
    const data: string[] = [];
    for (const line of frame.split('\n')) {
      if (line.startsWith('event: ')) event = line.slice('event: '.length);
      else if (line.startsWith('data: ')) data.push(line.slice('data: '.length));
    }
    events.push({ event, data: JSON.parse(data.join('\n')) as Record<string, unknown> });
  }
  return events;
}

/** POST /v1/messages?beta=true with a user prompt, as the CLI does. */
export function postMessages(
  url: string,
  prompt: string | unknown[],
  options: { stream?: boolean; extra?: Record<string, unknown> } = {},
): Promise<Response> {
  const messages = typeof prompt === 'string' ? [{ role: 'user', content: [{ type: 'text', text: prompt }] }] : prompt;
  return fetch(`${url}/v1/messages?beta=true`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'x-api-key': 'secret-key-value', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({
      model: 'claude-test-model',
      max_tokens: 1000,
      messages,
      stream: options.stream ?? true,
      ...options.extra,
    }),
  });
}
