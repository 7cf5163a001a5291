import type { AdapterModel } from '@paperclipai/adapter-utils';

/**
 * Models offered in Paperclip's model picker. Any other id is accepted too (the config field is a combobox and the
 * CLI passes unknown ids to the API). Same ids as Paperclip's built-in Claude adapter of release 2026.916.1.
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

/** The model list for `GET /api/companies/:companyId/adapters/claude_k8s/models` (a fresh copy each call). */
export function listModels(): Promise<AdapterModel[]> {
  return Promise.resolve(MODELS.map((model) => ({ ...model })));
}
