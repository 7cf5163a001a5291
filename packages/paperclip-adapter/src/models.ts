import { createHash } from 'node:crypto';
import type { AdapterModel } from '@paperclipai/adapter-utils';

/**
 * Models offered in Paperclip's model picker when none are discovered. Any other id is accepted too (the config field
 * is a combobox and the CLI passes unknown ids to the API). Same ids as Paperclip's built-in Claude adapter of release
 * 2026.916.1.
 */
export const MODELS: readonly AdapterModel[] = Object.freeze([
  { id: 'claude-opus-5', label: 'Claude Opus 5' },
  { id: 'claude-sonnet-5', label: 'Claude Sonnet 5' },
  { id: 'claude-opus-4-8', label: 'Claude Opus 4.8' },
  { id: 'claude-opus-4-7', label: 'Claude Opus 4.7' },
  { id: 'claude-opus-4-6', label: 'Claude Opus 4.6' },
  { id: 'claude-sonnet-4-6', label: 'Claude Sonnet 4.6' },
  { id: 'claude-sonnet-4-5', label: 'Claude Sonnet 4.5' },
  { id: 'claude-haiku-4-5', label: 'Claude Haiku 4.5' },
]);

/** How long a discovered list is reused for the same key and base URL (milliseconds). */
export const MODEL_DISCOVERY_CACHE_MS = 60_000;
/** How long the discovery request may take (milliseconds). */
const MODEL_DISCOVERY_TIMEOUT_MS = 5_000;

/** What {@link createModelLister} needs. */
export interface ModelListerOptions {
  /** The Paperclip server's environment: `ANTHROPIC_API_KEY` enables discovery, `ANTHROPIC_BASE_URL` redirects it. */
  env: Readonly<Record<string, string | undefined>>;
  /** Defaults to the global `fetch`. */
  fetch?: typeof fetch;
  /** Milliseconds since the epoch; defaults to `Date.now`. */
  now?: () => number;
}

/** The adapter module's `listModels` and `refreshModels`. */
export interface ModelLister {
  listModels: () => Promise<AdapterModel[]>;
  refreshModels: () => Promise<AdapterModel[]>;
}

function dedupe(models: readonly AdapterModel[]): AdapterModel[] {
  const seen = new Set<string>();
  const out: AdapterModel[] = [];
  for (const model of models) {
    const id = model.id.trim();
    if (id === '' || seen.has(id)) continue;
    seen.add(id);
    out.push({ id, label: model.label.trim() || id });
  }
  return out;
}

async function discover(apiKey: string, baseUrl: string, fetchImpl: typeof fetch): Promise<AdapterModel[]> {
  try {
    const response = await fetchImpl(`${baseUrl}/v1/models`, {
      headers: { 'anthropic-version': '2023-06-01', 'x-api-key': apiKey },
      signal: AbortSignal.timeout(MODEL_DISCOVERY_TIMEOUT_MS),
    });
    if (!response.ok) return [];
    const payload = (await response.json()) as { data?: unknown };
    if (!Array.isArray(payload.data)) return [];
    const models: AdapterModel[] = [];
    for (const item of payload.data as unknown[]) {
      if (typeof item !== 'object' || item === null) continue;
      const { id, display_name: name } = item as { id?: unknown; display_name?: unknown };
      if (typeof id !== 'string' || id.trim() === '') continue;
      models.push({ id, label: typeof name === 'string' && name.trim() !== '' ? name : id });
    }
    return dedupe(models);
  } catch {
    return [];
  }
}

/**
 * Lists models as claude_local does: without `ANTHROPIC_API_KEY` in the server's environment, {@link MODELS}; with it,
 * the models `GET <ANTHROPIC_BASE_URL or https://api.anthropic.com>/v1/models` returns, followed by {@link MODELS} not
 * among them, cached {@link MODEL_DISCOVERY_CACHE_MS} per key and base URL. A failed discovery falls back to the last
 * list for that key, else {@link MODELS}. The key itself is never stored, only a hash of it.
 */
export function createModelLister(options: ModelListerOptions): ModelLister {
  const fetchImpl = options.fetch ?? fetch;
  const now = options.now ?? Date.now;
  let cached: { fingerprint: string; baseUrl: string; expiresAt: number; models: AdapterModel[] } | null = null;
  const load = async (force: boolean): Promise<AdapterModel[]> => {
    const fallback = dedupe(MODELS);
    const apiKey = options.env['ANTHROPIC_API_KEY']?.trim();
    if (apiKey === undefined || apiKey === '') return fallback;
    const baseUrl = (options.env['ANTHROPIC_BASE_URL']?.trim() || 'https://api.anthropic.com').replace(/\/+$/, '');
    const fingerprint = createHash('sha256').update(apiKey).digest('hex');
    const same = cached !== null && cached.fingerprint === fingerprint && cached.baseUrl === baseUrl;
    if (!force && same && cached !== null && cached.expiresAt > now()) return cached.models.map((m) => ({ ...m }));
    const discovered = await discover(apiKey, baseUrl, fetchImpl);
    if (discovered.length > 0) {
      const models = dedupe([...discovered, ...MODELS]);
      cached = { fingerprint, baseUrl, expiresAt: now() + MODEL_DISCOVERY_CACHE_MS, models };
      return models.map((m) => ({ ...m }));
    }
    if (same && cached !== null) return cached.models.map((m) => ({ ...m }));
    return fallback;
  };
  return { listModels: () => load(false), refreshModels: () => load(true) };
}

/** The fixed model list (a fresh copy each call), for callers without a server environment. */
export function listModels(): Promise<AdapterModel[]> {
  return Promise.resolve(MODELS.map((model) => ({ ...model })));
}
